"""Issue 16, item 10: `batcher export --out` writes into what the name is (a FIFO, a device, a
symbolic link's target), keeps an existing file's mode, takes any legal name, explains what the
system refused, and cleans up after a killed export."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from batcher_gui.engine.destination import remove_stale_temp_files, temp_name
from tests.cli.conftest import Cli, text_file

QUESTIONS = ["What is 2+2?", "Name a colour.", "Say hi."]


@pytest.fixture
def cli_with_run(cli: Cli, tmp_path: Path) -> Cli:
    cli.ok("import", str(text_file(tmp_path / "q.txt", QUESTIONS)), "--model", "gpt-4o-mini")
    return cli


def _custom_ids(data: bytes) -> list[str]:
    return [r["custom_id"] for r in csv.DictReader(io.StringIO(data.decode("utf-8")))]


def test_a_fifo_is_written_into_not_replaced(cli_with_run: Cli, tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    said = cli_with_run.ok("export", "1", "--out", str(pipe))
    reader.join(timeout=60)
    assert not reader.is_alive(), "the export never opened the FIFO: " + said.stdout
    assert _custom_ids(got[0]) == ["1", "2", "3"]
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert os.listdir(tmp_path).count("pipe.csv") == 1 and not [
        n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_a_character_device_is_written_into_not_replaced(cli_with_run: Cli,
                                                         tmp_path: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except OSError as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    cli_with_run.ok("export", "1", "--out", str(null), "--format", "csv")
    assert stat.S_ISCHR(null.lstat().st_mode) and null.lstat().st_rdev == os.makedev(1, 3)


def test_a_symbolic_link_is_followed_and_kept(cli_with_run: Cli, tmp_path: Path) -> None:
    real = tmp_path / "real" / "results.csv"
    real.parent.mkdir()
    real.write_text("old content\n")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(Path("real") / "results.csv")
    cli_with_run.ok("export", "1", "--out", str(link))
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "results.csv")
    assert _custom_ids(real.read_bytes()) == ["1", "2", "3"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o640

    dangling = tmp_path / "new.jsonl"
    dangling.symlink_to(tmp_path / "real" / "made.jsonl")
    cli_with_run.ok("export", "1", "--out", str(dangling))
    assert dangling.is_symlink() and len((tmp_path / "real" / "made.jsonl").read_text()
                                         .splitlines()) == 3


def test_an_existing_file_keeps_its_mode(cli_with_run: Cli, tmp_path: Path) -> None:
    out = tmp_path / "private.csv"
    out.write_text("")
    out.chmod(0o600)
    cli_with_run.ok("export", "1", "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _custom_ids(out.read_bytes()) == ["1", "2", "3"]


def test_a_255_byte_name_works(cli_with_run: Cli, tmp_path: Path) -> None:
    name = "é" * 125 + "a.csv"  # 255 bytes in UTF-8: the most a file name may have
    assert len(os.fsencode(name)) == 255
    cli_with_run.ok("export", "1", "--out", str(tmp_path / name))
    assert _custom_ids((tmp_path / name).read_bytes()) == ["1", "2", "3"]
    assert sorted(os.listdir(tmp_path)) == sorted(["q.txt", "ws", name])

    too_long = cli_with_run("export", "1", "--out", str(tmp_path / ("b" + name)))
    assert too_long.returncode == 2
    assert "File name too long" in too_long.stderr and "choose a shorter" in too_long.stderr


def test_what_the_system_refuses_is_explained(cli_with_run: Cli) -> None:
    result = cli_with_run("export", "1", "--out", "/proc/x.csv")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: cannot write /proc/x.csv: No such file or directory;")
    assert "folder you can write to" in result.stderr
    for wrong in ("unexpected problem", "Please report", "Traceback"):
        assert wrong not in result.stderr


def test_temporary_files_of_killed_exports_are_removed_by_the_next_one(
        cli_with_run: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)  # a process that has ended
    left = temp_name(pid, "0123abcd")
    (out / left).write_text("half an export")
    alive = temp_name(os.getpid(), "0123abcd")  # an export still running: kept
    (out / alive).write_text("being written")
    (out / ".batcher-export-notes.tmp").write_text("not ours")

    cli_with_run.ok("export", "1", "--out", str(out / "a.csv"))
    assert sorted(os.listdir(out)) == sorted(["a.csv", alive, ".batcher-export-notes.tmp"])
    assert remove_stale_temp_files(out) == 0

