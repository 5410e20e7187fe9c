"""``batcher estimate FILE``: tokens and price range of a file, nothing imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.config.prices import price_table
from batcher_gui.tokens.counting import TokenCounter
from tests.cli.conftest import Cli

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


def test_estimate_counts_prices_and_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    lines = [json.dumps({"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": "gpt-4o-mini", "max_tokens": 100, "messages": [
                             {"role": "user", "content": f"Question number {i}, in full."}]}})
             for i in range(50)]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = json.loads(cli.ok("estimate", str(path), "--json").stdout)
    counted = TokenCounter().count_many(
        ("/v1/chat/completions", "gpt-4o-mini", json.loads(line)["body"]) for line in lines)
    tokens_in = sum(c.input for c in counted)
    assert out["requests"] == 50 and out["invalid"] == 0 and out["exact"] is True
    assert out["input_tokens"] == tokens_in and out["output_tokens_max"] == 5000
    prices = price_table()
    assert out["cost_batch_min"] == pytest.approx(prices.cost("gpt-4o-mini", tokens_in, 0))
    assert out["cost_batch_max"] == pytest.approx(prices.cost("gpt-4o-mini", tokens_in, 5000))
    assert out["cost_live_max"] == pytest.approx(2 * out["cost_batch_max"])
    assert json.loads(cli.ok("status", "--json").stdout)["runs"] == []  # nothing imported

    text = cli.ok("estimate", str(SAMPLE / "sample-reviews.csv"), "--model", "gpt-4.1-mini",
                  "--template", "Sentiment of {review}").stdout
    assert "24 request(s)" in text and "Cost at batch prices: $" in text


def test_estimate_of_a_bad_file_says_why(cli: Cli, tmp_path: Path) -> None:
    bad = cli("estimate", str(tmp_path / "missing.jsonl"))
    assert bad.returncode == 2 and "file not found" in bad.stderr
    assert "the file cannot be read" in bad.stderr  # not "nothing was imported"
    assert "Traceback" not in bad.stderr
