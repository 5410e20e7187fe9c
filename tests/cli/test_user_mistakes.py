"""Issue 7, the usual mistakes (the CLI as a subprocess): each gets a message saying what to do,
never a traceback, and changes nothing."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from batcher_gui.cli.main import build_parser
from batcher_gui.config.settings import WorkspaceSettings
from batcher_gui.domain.models import BUILTIN_SANDBOX_URL, Batch, Profile, ProfileKind
from batcher_gui.domain.models import ProfileLimits as Limits
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.engine import Engine
from batcher_gui.engine.settings import EngineSettings
from tests.cli.conftest import Cli, text_file

REPO = Path(__file__).resolve().parents[2]


def test_the_built_in_sandbox_is_polled_fast(tmp_path: Path) -> None:
    """8: its own poll interval (1 s), a real provider keeps 30 s."""
    settings = EngineSettings.from_workspace(WorkspaceSettings())
    engine = Engine.__new__(Engine)
    engine.settings = settings
    sandbox = Profile(2, "sandbox", ProfileKind.OPENAI_COMPATIBLE, BUILTIN_SANDBOX_URL, None,
                      Limits())
    real = Profile(1, "openai", ProfileKind.OPENAI, None, None, Limits())
    engine._profiles = {1: real, 2: sandbox}
    batch = Batch(1, "u", 2, "/v1/chat/completions", "m", BatchState.IN_PROGRESS, 1, 1, 0, 0)
    assert engine._poll_interval(batch) == 1.0
    assert engine._poll_interval(Batch(2, "v", 1, "e", "m", BatchState.IN_PROGRESS, 1, 1, 0,
                                       0)) == 30.0


def test_paths_that_are_folders_or_files_get_messages(cli: Cli, tmp_path: Path) -> None:
    """9: export to a folder, deliver into a file."""
    cli.ok("import", str(text_file(tmp_path / "q.txt", ["hi"])), "--model", "gpt-4o-mini")
    folder = tmp_path / "somedir"
    folder.mkdir()
    exported = cli("export", "1", "--out", str(folder))
    assert exported.returncode == 2 and "is a folder: give a file name" in exported.stderr
    afile = tmp_path / "afile"
    afile.write_text("x")
    delivered = cli("deliver", "1", "--folder", str(afile))
    assert delivered.returncode == 2 and "is a file; results go into a folder" in (
        delivered.stderr)
    for result in (exported, delivered):
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["bad name!", "--kind", "openai"], "profile name 'bad name!' is not allowed"),
    (["x", "--base-url", "not a url"], "is not a full web address"),
    (["x", "--base-url", "api.example.com/v1"], "is not a full web address"),
    (["x", "--kind", "openai-compatible"], "needs a base URL"),
    (["x", "--kind", "azure"], "needs a base URL"),
    (["x", "--key-env", "MY KEY"], "is not an environment variable name"),
    (["x", "--max-requests", "0"], "the requests per batch must be from 1 to 1,000,000"),
])
def test_profiles_are_checked(cli: Cli, args: list[str], says: str) -> None:
    """10: bad profiles are refused (exit 2), nothing is added."""
    result = cli("profile", "add", *args)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert _profile_names(cli) == ["openai", "sandbox", "sandbox-claude"]


def _profile_names(cli: Cli) -> list[str]:
    listing = cli.ok("profile", "list").stdout.splitlines()
    return [line[2:].split()[0] for line in listing if line[:2] in ("* ", "  ")]


def test_profiles_can_be_fixed_and_hints_run_as_printed(cli: Cli, tmp_path: Path) -> None:
    """10: edit, remove, and the missing-key hint works when typed as shown."""
    cli.ok("profile", "add", "groq", "--base-url", "https://api.groq.com/openai/v1")
    cli.ok("profile", "edit", "groq", "--base-url", "https://other.example/v1",
           "--max-requests", "1000", "--rename", "groq2")
    assert "https://other.example/v1" in cli.ok("profile", "list").stdout
    assert _profile_names(cli) == ["openai", "sandbox", "sandbox-claude", "groq2"]
    cli.ok("profile", "remove", "groq2")
    assert _profile_names(cli) == ["openai", "sandbox", "sandbox-claude"]

    cli.ok("import", str(text_file(tmp_path / "q.txt", ["hi"])), "--profile", "openai",
           "--model", "gpt-4o-mini")
    cli.ok("submit")
    hint = cli("sync")
    assert hint.returncode == 1
    line = next(x for x in hint.stderr.splitlines() if "--key-env" in x)
    command = line[line.index("`") + 1:line.rindex("`")].replace("VAR", "MY_OPENAI_KEY")
    assert command == "batcher profile edit openai --key-env MY_OPENAI_KEY"
    cli.ok(*command.split()[1:])
    busy = cli("profile", "remove", "openai")
    assert busy.returncode == 1 and "default profile" in busy.stderr
    cli.ok("config", "set", "default_profile", "sandbox")
    still = cli("profile", "remove", "openai")
    assert still.returncode == 1 and "in flight" in still.stderr  # its batch waits


def test_unknown_models_are_warned_about_and_shown_without_a_price(
        cli: Cli, tmp_path: Path) -> None:
    """12: a warning naming close model names; status says no price is known."""
    q = text_file(tmp_path / "q.txt", ["hi"])
    typo = cli.ok("import", str(q), "--profile", "sandbox", "--model", "gpt4o-mini")
    assert "model 'gpt4o-mini' is not in the price table" in typo.stderr
    assert "did you mean gpt-4o-mini" in typo.stderr
    made_up = cli.ok("import", str(q), "--profile", "sandbox", "--model", "gpt-9-ultra")
    assert "model 'gpt-9-ultra' is not in the price table" in made_up.stderr
    cli.ok("submit")
    cli.ok("sync", "--wait", "--timeout", "120")
    assert "no price known for gpt4o-mini" in cli.ok("status").stdout


def test_exports_refuse_unknown_extensions_and_respect_the_umask(cli: Cli,
                                                                  tmp_path: Path) -> None:
    """13: .xlsx refused without --format; files get the user's umask; costs read well."""
    cli.ok("import", str(text_file(tmp_path / "q.txt", ["hi", "there"])), "--profile",
           "sandbox", "--model", "gpt-4o-mini", "--deliver-to", str(tmp_path / "res"))
    cli.ok("submit")
    cli.ok("sync", "--wait", "--timeout", "120")
    xlsx = cli("export", "1", "--out", str(tmp_path / "x.xlsx"))
    assert xlsx.returncode == 2 and "cannot tell the export format" in xlsx.stderr
    assert not (tmp_path / "x.xlsx").exists()
    cli.ok("export", "1", "--out", str(tmp_path / "x.xlsx"), "--format", "jsonl")
    out = tmp_path / "out.jsonl"
    cli.ok("export", "1", "--out", str(out))
    mask = os.umask(0)
    os.umask(mask)
    for path in (out, tmp_path / "res" / "q.jsonl", tmp_path / "res" / "q.csv"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path
    assert "e-0" not in out.read_text()
    cost = json.loads(out.read_text().splitlines()[0])["usage"]["cost_usd"]
    assert cost == round(cost, 9) and cost > 0


def test_a_missing_run_lists_what_exists_and_says_what_it_left_out(cli: Cli,
                                                                   tmp_path: Path) -> None:
    """13: "no run named" lists the last ten and says how many are not shown."""
    q = text_file(tmp_path / "q.txt", ["hi"])
    for i in range(12):
        cli.ok("import", str(q), "--name", f"run{i}", "--model", "gpt-4o-mini")
    missing = cli("export", "nope", "--out", str(tmp_path / "o.jsonl"))
    assert missing.returncode == 1
    assert "#12 'run11'" in missing.stderr and "2 older ones not shown" in missing.stderr


def test_every_option_and_subcommand_has_help() -> None:
    """14: `--help` explains everything."""
    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for name, sub in action.choices.items():
                    if not helps.get(name):
                        missing.append(f"{path} {name}")
                    walk(sub, f"{path} {name}")
            elif not action.help and action.dest != "help":
                missing.append(f"{path} {action.option_strings or action.dest}")

    walk(build_parser(), "batcher")
    assert missing == []
    timeout_help = next(a.help for a in build_parser()._subparsers._group_actions[0]  # type: ignore
                        .choices["sync"]._actions if "--timeout" in a.option_strings)
    assert "default: wait until nothing is in flight" in (timeout_help or "")


def test_the_log_file_is_written(cli: Cli, tmp_path: Path) -> None:
    """14: logs/ holds the workspace's log."""
    cli.ok("import", str(text_file(tmp_path / "q.txt", ["hi"])), "--model", "gpt-4o-mini")
    log = cli.ws / "logs" / "batcher.log"
    assert log.exists() and "batcher_gui" in log.read_text()


def test_system_packages_step_goes_on_without_apt(tmp_path: Path) -> None:
    """15: where there is no dpkg/apt, `make run`'s first step installs nothing and goes on."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "uname", "grep", "id", "env"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(["bash", str(REPO / ".ci" / "sysdeps.sh")], capture_output=True,
                            text=True, env={"PATH": str(bin_dir)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "no apt here; installing nothing" in result.stderr
