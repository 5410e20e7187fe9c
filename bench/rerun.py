"""Re-run benchmark: a run of N chat prompts re-run with another model and system prompt.

Usage: python bench/rerun.py N [--keep DIR]

Prints the time of the import (for scale), of the re-run's plan (every request rewritten and
counted offline for the estimate), of the re-run itself (all N prompts, and the 1% that
"failed checks"), the rates, and this process's peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from batcher_gui.config.prices import price_table  # noqa: E402
from batcher_gui.domain.models import ImportOptions  # noqa: E402
from batcher_gui.domain.rerun import RerunChange, RerunScope  # noqa: E402
from batcher_gui.engine.rerun import plan_rerun, rerun_run  # noqa: E402
from batcher_gui.engine.run_import import import_file  # noqa: E402
from batcher_gui.storage import open_store  # noqa: E402

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi",
         "chi", "psi", "omega"]


def generate(path: Path, n: int) -> None:
    rng = random.Random(42)
    with path.open("wb") as f:
        for i in range(n):
            text = " ".join(rng.choices(WORDS, k=rng.randint(8, 30)))
            f.write(orjson.dumps({"custom_id": f"r{i}", "method": "POST",
                                  "url": "/v1/chat/completions",
                                  "body": {"model": "gpt-4o-mini", "messages": [
                                      {"role": "user", "content": text}]}}) + b"\n")


def timed(label: str, n: int, fn: object) -> object:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    took = time.perf_counter() - start
    print(f"{label:<34} {took:8.2f} s  {n / took:>10,.0f} prompts/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="batcher-rerun-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        data = folder / "prompts.jsonl"
        generate(data, args.n)
        store = open_store(folder / "batcher.sqlite3")
        origin = timed("import (for scale)", args.n, lambda: import_file(
            store, data, ImportOptions(), profile_name="sandbox")).run  # type: ignore[attr-defined]
        failed = max(1, args.n // 100)
        with store.db.write() as conn:
            conn.exec_driver_sql("UPDATE prompts SET check_state = 0 WHERE run_id = ? AND "
                                 "id % 100 = 0", (origin.id,))
        change = RerunChange(model="gpt-4o", system="Answer in one word.")
        plan = timed("plan + estimate (all)", args.n, lambda: plan_rerun(
            store, origin.id, change, RerunScope.everything(), prices=price_table(None)))
        print(f"  estimate: {plan.estimate.input_tokens:,} input tokens")  # type: ignore
        timed("re-run (all)", args.n, lambda: rerun_run(
            store, origin.id, change, RerunScope.everything()))
        timed("re-run (1% failed checks)", failed, lambda: rerun_run(
            store, origin.id, change, RerunScope.failed_checks()))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (this process)         {peak:8.0f} MB")
        store.db.close()
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
