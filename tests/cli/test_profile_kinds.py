"""Claude profiles and the OpenAI-compatible presets on the command line (as a subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import BATCHER, Cli


def _listing(cli: Cli) -> dict[str, list[str]]:
    """``profile list`` by profile: its line, then the lines said under it."""
    rows: dict[str, list[str]] = {}
    name = ""
    for line in cli.ok("profile", "list").stdout.splitlines():
        if line[:2] in ("* ", "  ") and not line.startswith("    "):
            name = line[2:].split()[0]
            rows[name] = [line]
        elif line.startswith("    "):
            rows[name].append(line.strip())
    return rows


def test_a_claude_profile_with_a_tier_is_added_edited_and_listed(cli: Cli) -> None:
    added = cli.ok("profile", "add", "claude", "--kind", "anthropic", "--base-url",
                   "https://api.anthropic.com/v1/", "--tier", "Build").stdout
    assert added.splitlines() == [
        "Added profile 'claude' (anthropic).",
        "Its tier build: 300,000 requests may wait in Anthropic's queue.",
        "Give it a key: `batcher keys set claude`, or set ANTHROPIC_API_KEY."]
    cli.ok("profile", "add", "plain", "--kind", "anthropic")
    rows = _listing(cli)
    assert rows["claude"][0].split()[:3] == ["claude", "anthropic", "https://api.anthropic.com"]
    assert rows["claude"][1] == "tier build: 300,000 requests may wait in Anthropic's queue"
    assert rows["plain"][1] == ("tier start: 200,000 requests may wait in Anthropic's queue "
                                "(the default; --tier sets it)")
    assert len(rows["openai"]) == 1  # no tier for other kinds

    cli.ok("profile", "edit", "claude", "--tier", "450,000", "--max-requests", "20000")
    assert _listing(cli)["claude"][1] == (
        "tier custom: 450,000 requests may wait in Anthropic's queue")

    # The environment variable every Claude profile reads: the key is there, nothing stored.
    has_key = cli.ok("profile", "list", env={"ANTHROPIC_API_KEY": "sk-ant-test"}).stdout
    assert "claude           anthropic" in has_key and "key available" in has_key
    assert "sk-ant-test" not in has_key


@pytest.mark.parametrize(("args", "says"), [
    (["c", "--kind", "anthropic", "--tier", "gold"],
     "the tier must be start, build or scale, or a whole number of requests from 1 to "
     "10,000,000 (how many may wait in Anthropic's processing queue), not 'gold'"),
    (["c", "--kind", "anthropic", "--tier", "0"], "not '0'"),
    (["c", "--kind", "openai", "--tier", "build"], "a tier belongs to Anthropic (Claude) "
                                                   "profiles only"),
    (["c", "--kind", "anthropic", "--base-url", "anthropic.com"], "is not a full web address"),
    (["c", "--preset", "groq", "--kind", "anthropic"],
     "the preset groq is of kind openai-compatible, not anthropic: drop --kind or --preset"),
    (["c", "--preset", "groq", "--tier", "start"], "a tier belongs to Anthropic"),
])
def test_bad_claude_profiles_and_presets_are_refused(cli: Cli, args: list[str],
                                                     says: str) -> None:
    result = cli("profile", "add", *args)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert list(_listing(cli)) == ["openai", "sandbox", "sandbox-claude"]


def test_presets_fill_in_an_openai_compatible_profile(cli: Cli) -> None:
    said = cli.ok("profile", "add", "gem", "--preset", "gemini").stdout.splitlines()
    assert said[0] == "Added profile 'gem' (openai-compatible)."
    assert said[1].startswith("Checked only against Batcher's sandbox, not against Gemini "
                              "itself.") and "48 hours" in said[1]
    assert said[2] == "Give it a key: `batcher keys set gem`, or set GEMINI_API_KEY."
    # Options given beside a preset win over it.
    cli.ok("profile", "add", "groq", "--preset", "groq", "--max-requests", "1000",
           "--key-env", "MY_GROQ")
    rows = _listing(cli)
    assert rows["gem"][0].split()[1:3] == [
        "openai-compatible", "https://generativelanguage.googleapis.com/v1beta/openai"]
    assert rows["groq"][0].split()[1:3] == ["openai-compatible",
                                            "https://api.groq.com/openai/v1"]
    assert "key available" in cli.ok("profile", "list", env={"MY_GROQ": "gsk-x"}).stdout

    unknown = cli("profile", "add", "x", "--preset", "mistral")
    assert unknown.returncode == 2 and "invalid choice: 'mistral'" in unknown.stderr
    assert "gemini: Gemini (OpenAI-compatible); groq: Groq" in cli.ok(
        "profile", "add", "--help").stdout.replace("\n", " ").replace("  ", " ")


KEYS_CHILD = """
import json, os, subprocess
args = json.loads(os.environ["STEPS"])
env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
outputs = []
for step in args["steps"]:
    result = subprocess.run([args["batcher"], "--data-dir", args["ws"], *step["argv"]],
                            input=step.get("stdin"), capture_output=True, text=True,
                            timeout=120, env=env)
    outputs.append({"rc": result.returncode, "out": result.stdout, "err": result.stderr})
print("RESULT " + json.dumps(outputs))
"""


@pytest.mark.keyring
def test_keys_set_stores_a_claude_key_in_the_os_keyring(tmp_path: Path) -> None:
    from tests.real_keyring import run_with_keyring

    key = "sk-ant-api03-KEYSETclaude0123456789"
    steps = [{"argv": ["profile", "add", "claude", "--kind", "anthropic"]},
             {"argv": ["keys", "set", "claude"], "stdin": key + "\n"},
             {"argv": ["profile", "list"]},
             {"argv": ["keys", "delete", "claude"]},
             {"argv": ["profile", "list"]}]
    env = {"STEPS": json.dumps({"batcher": BATCHER, "ws": str(tmp_path / "ws"),
                                "steps": steps})}
    outputs, _home = run_with_keyring(tmp_path, KEYS_CHILD, env=env, timeout=180)
    assert [o["rc"] for o in outputs] == [0] * 5, outputs
    assert outputs[1]["out"] == "Stored the API key for 'claude' in the OS keyring.\n"
    claude = [line for line in outputs[2]["out"].splitlines()
              if line.split()[:2] in (["claude", "anthropic"], ["*", "claude"])]
    assert claude and claude[0].endswith("key available")
    assert outputs[3]["out"] == "Removed the API key for 'claude'.\n"
    assert "no key (batcher keys set claude)" in outputs[4]["out"]
    assert all("KEYSET" not in o["out"] + o["err"] for o in outputs)
