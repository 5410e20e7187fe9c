"""Hostile files: is each refused quickly and in little memory, through the real CLI?

Usage: python bench/hostile.py [DIR]

Generates the files of ``tests/data/hostile/make.py`` (in DIR, default a temporary folder;
the big ones are about 2 GB in all) and runs ``batcher import`` and ``batcher estimate`` on
each as a child process. Prints a table: seconds, peak memory of the child (its maximum
resident set, from ``wait4``, which counts the import's reader process too) and the verdict.
Goal: every row under 5 s and 300 MB; every import refused; every estimate refused, or
ending with the bad line left out (an estimate counts invalid lines, as a dry run does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.data.hostile.make import make_all  # noqa: E402

BATCHER = str(Path(sys.executable).with_name("batcher"))
GOAL_SECONDS = 5.0
GOAL_MB = 300


def run(args: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit code, what it said last) of one CLI run."""
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([BATCHER, *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak memory
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        said = (out if code == 0 else err).read().decode(errors="replace")
    lines = [line for line in said.splitlines() if line.strip()]
    # An error's last line names the problem; an estimate's first line the requests.
    return seconds, usage.ru_maxrss / 1024, code, (
        "" if not lines else lines[0] if code == 0 else lines[-1])


def main() -> int:
    given = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    folder = given or Path(tempfile.mkdtemp(prefix="batcher-hostile-"))
    try:
        print(f"generating into {folder} ...", flush=True)
        files = make_all(folder)
        print(f"{'file':<24} {'command':<9} {'seconds':>8} {'peak MB':>8}  verdict")
        bad = 0
        for name, path in files.items():
            for command in ("import", "estimate"):
                ws = folder / "ws"
                seconds, peak, code, last = run(["--data-dir", str(ws), command, str(path),
                                                 "--model", "gpt-4o-mini"])
                if code == 2:
                    verdict = "refused"
                elif code == 0 and command == "estimate" and "left out" in last:
                    verdict = "left out"
                else:
                    verdict = f"NOT REFUSED (exit {code})"
                within = seconds < GOAL_SECONDS and peak < GOAL_MB
                bad += verdict.startswith("NOT") or not within
                verdict += "" if within else ", OVER GOAL"
                print(f"{name:<24} {command:<9} {seconds:>8.2f} {peak:>8.0f}  {verdict}: "
                      f"{last[:150]}", flush=True)
        print(f"goal: every file refused in under {GOAL_SECONDS:.0f} s and {GOAL_MB} MB: "
              + ("met" if not bad else f"{bad} rows miss it"))
        return 1 if bad else 0
    finally:
        if given is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
