"""Start-up time of the packaged app on bench/ui.py's million-prompt workspace.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/bench_startup.py [N] [--keep DIR]

Builds the workspace as bench/ui.py does (the venv's ``batcher import``), then times process
start -> main window showing rows (``BATCHER_REPORT_READY``), best of 3, for
dist/batcher-gui/batcher-gui and, for comparison, the venv's batcher-gui (target < 2 s).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import ui  # noqa: E402  (bench/ui.py)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--keep", help="keep (and reuse) the workspace in this folder")
    args = parser.parse_args()
    frozen = ROOT / "dist" / "batcher-gui" / "batcher-gui"
    if not frozen.exists():
        sys.exit("build the app first: make package")
    work = Path(args.keep or tempfile.mkdtemp(prefix="batcher-bench-frozen-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        ws = ui.build(work, args.n)
        for label, exe in (("packaged", str(frozen)), ("venv", ui.GUI)):
            ui.GUI = exe
            times = [ui.startup(ws, work / "home") for _ in range(3)]
            print(f"{label:<8}: start -> window with rows: "
                  f"{', '.join(f'{t:.2f}' for t in times)} s (best {min(times):.2f} s; "
                  "target < 2)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
