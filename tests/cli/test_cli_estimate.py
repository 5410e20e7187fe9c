"""``batcher estimate FILE``: tokens and price range of a file, nothing imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


def test_estimate_counts_prices_and_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    requests = [
        # 3 per message + "user" (1) + "hello" (1) + 3 to prime the reply = 8 tokens
        {"model": "gpt-4o-mini", "max_tokens": 100,
         "messages": [{"role": "user", "content": "hello"}]},
        # 3 + "system" (1) + "Be", " brief", "." (3) + 3 + "user" (1) + "hello", " world" (2)
        # + 3 = 16 tokens
        {"model": "gpt-4o-mini", "max_tokens": 50,
         "messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "hello world"}]},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps({"custom_id": f"c{i}", "method": "POST",
                                        "url": "/v1/chat/completions", "body": body}) + "\n"
                            for i, body in enumerate(requests)) + "not json\n")
    # Prices of our own: $1 per 1M input and $2 per 1M output tokens at the batch rate (the
    # batch discount is half, so $2 and $4 live).
    cli.ok("config", "set", "prices", '{"gpt-4o-mini": [1, 2]}')

    out = json.loads(cli.ok("estimate", str(path), "--json").stdout)
    assert out["requests"] == 2 and out["invalid"] == 1 and out["exact"] is True
    assert out["input_tokens"] == 24 and out["output_tokens_max"] == 150
    assert out["models"] == {"gpt-4o-mini": {"requests": 2, "input_tokens": 24,
                                             "output_tokens_max": 150, "sampled_requests": 0,
                                             "approximate": False}}
    assert out["input_tokens_method"] == "counted" and out["sampled_requests"] == 0
    assert out["cost_batch_min"] == pytest.approx(0.000024)  # 24 x $1 / 1M
    assert out["cost_batch_max"] == pytest.approx(0.000324)  # + 150 x $2 / 1M
    assert out["cost_live_max"] == pytest.approx(0.000648)  # 24 x $2 + 150 x $4, / 1M
    assert out["all_models_priced"] is True
    assert json.loads(cli.ok("status", "--json").stdout)["runs"] == []  # nothing imported

    text = cli.ok("estimate", str(path)).stdout.splitlines()
    assert text[0] == f"{path}: 2 requests; 1 invalid line left out"
    assert text[1].split() == ["gpt-4o-mini", "2", "req", "24", "input", "tokens", "up", "to",
                               "150", "output"]
    assert text[2] == "Input tokens: 24 (counted); output at most 150"
    assert text[3].startswith("Cost at batch prices: $0.000024 to $0.000324 (live calls: up "
                              "to $0.000648;")

    reviews = cli.ok("estimate", str(SAMPLE / "sample-reviews.csv"), "--model", "gpt-4.1-mini",
                     "--template", "Sentiment of {review}").stdout
    assert reviews.startswith(f"{SAMPLE / 'sample-reviews.csv'}: 24 requests\n")


def test_estimate_of_a_bad_file_says_why(cli: Cli, tmp_path: Path) -> None:
    bad = cli("estimate", str(tmp_path / "missing.jsonl"))
    assert bad.returncode == 2 and "file not found" in bad.stderr
    assert "the file cannot be read" in bad.stderr  # not "nothing was imported"
    assert "Traceback" not in bad.stderr


def test_estimate_of_claude_requests_says_the_count_is_approximate(cli: Cli,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "claude.jsonl"
    path.write_text("".join(json.dumps({
        "custom_id": f"c{i}", "method": "POST", "url": "/v1/messages",
        "body": {"model": "claude-haiku-4-5", "max_tokens": 40,
                 "messages": [{"role": "user", "content": f"Classify item {i}"}]}}) + "\n"
        for i in range(3)))
    # an OpenAI profile (the default) takes no Claude request, and says why
    refused = cli.ok("estimate", str(path))
    assert refused.stdout.startswith(f"{path}: 0 requests; 3 invalid lines left out")
    assert "line 1, field 'url': /v1/messages is Anthropic's" in refused.stderr
    # offline, a Claude profile's count is OpenAI's tokenizer's, said so
    text = cli.ok("estimate", str(path), "--profile", "sandbox-claude",
                  "--offline").stdout.splitlines()
    assert text[2].startswith("Input tokens: about ")
    assert text[2].endswith(", approximate (OpenAI tokenizer); output at most 120")
    out = json.loads(cli.ok("estimate", str(path), "--json", "--offline",
                            "--profile", "sandbox-claude").stdout)
    assert (out["input_tokens_method"], out["sampled_requests"], out["exact"]) == (
        "approximate", 0, False)
    assert out["models"]["claude-haiku-4-5"]["approximate"] is True
    assert out["all_models_priced"] is True and out["cost_batch_max"] > 0
    # with the built-in Claude sandbox, Anthropic's count_tokens counts them (all three)
    counted = cli.ok("estimate", str(path), "--profile", "sandbox-claude").stdout.splitlines()
    assert "(counted, Claude's by the provider); output at most 120" in counted[2], counted
