"""Names Batcher gives the files it writes for a run."""

from __future__ import annotations

import re

#: Characters a results file's name cannot hold (on some system or other): replaced by "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()-]+")


def results_file_stem(run_name: str, run_id: int) -> str:
    """The name a run's files in a results folder start with (before ``.jsonl``/``.csv``; the
    engine cuts a long one to fit the file system and adds the run's number)."""
    return _UNSAFE.sub("_", run_name).strip() or f"run-{run_id}"
