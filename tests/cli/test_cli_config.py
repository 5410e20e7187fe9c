"""`batcher config`: every key checked against the typed settings model; refusals exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli_import import run


@pytest.mark.parametrize(("key", "value", "says"), [
    ("poll_interval_seconds", "abc", "poll_interval_seconds must be a number"),
    ("poll_interval_seconds", "-1", "from 0.1 to 86400"),
    ("poll_interval_secs", "5", "Did you mean poll_interval_seconds"),
    ("prices", '{"gpt-4o-mini":"cheap"}', "must map to [input, output]"),
    ("prices", "not json", "prices must be a JSON object"),
    ("max_prompt_attempts", "0", "from 1 to 20"),
    ("cleanup_provider_files", "maybe", "true or false"),
    ("token_limit_backoff_seconds", "5,x", "a list of numbers"),
    ("default_profile", "nope", "no provider profile named 'nope'"),
])
def test_bad_values_are_refused_and_change_nothing(tmp_path: Path, key: str, value: str,
                                                   says: str) -> None:
    ws = str(tmp_path / "ws")
    before = run("--data-dir", ws, "config", "list").stdout
    result = run("--data-dir", ws, "config", "set", key, value)
    assert result.returncode == 2 if key != "default_profile" else result.returncode == 1
    assert says in result.stderr and "Traceback" not in result.stderr
    assert run("--data-dir", ws, "config", "list").stdout == before


def test_set_list_and_unset(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert run("--data-dir", ws, "config", "set", "poll_interval_seconds", "60").returncode == 0
    assert run("--data-dir", ws, "config", "set", "prices",
               '{"my-model": [0.1, 0.4]}').returncode == 0
    assert run("--data-dir", ws, "config", "set", "token_limit_backoff_seconds",
               "60, 120").returncode == 0
    listing = run("--data-dir", ws, "config", "list").stdout
    assert "poll_interval_seconds = 60   (default 30)" in listing
    assert 'prices = {"my-model":[0.1,0.4]}' in listing
    assert "token_limit_backoff_seconds = 60, 120" in listing
    assert "seconds between two status checks" in listing  # help lines
    assert run("--data-dir", ws, "config", "unset", "poll_interval_seconds").returncode == 0
    assert "poll_interval_seconds = 30\n" in run("--data-dir", ws, "config", "list").stdout
