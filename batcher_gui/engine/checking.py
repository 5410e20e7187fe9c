"""Answers checked against their run's rules in the background, as results arrive and when
rules change.

Like the token counter (``engine.token_counting``): each engine pass starts one pass of the
checker; chunks of answers are read in a database read thread, checked in a worker thread
(parsing JSON and matching schemas and regexes is CPU work) and written in the write thread —
the loop only awaits. The queue is in the database (``storage.checks``), so a restart goes on
where it stopped. A bad answer (or a rule that trips on one) fails its check, never the checker.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson

from batcher_gui.domain.answers import answer_text
from batcher_gui.domain.checks import CheckResult, CheckRules
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.events import AnswersChecked, Listener
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage.checks import (
    RESET_SPAN,
    CheckBook,
    Checked,
    StoredRules,
    Unchecked,
)

log = logging.getLogger(__name__)

#: Answers read, checked and written together.
CHUNK = 512
#: Chunks per pass (the next engine pass goes on): ~16k answers, about a second.
CHUNKS_PER_PASS = 32
#: Answers checked between two moments the checking thread lets go of the interpreter: pure
#: Python (JSON, schemas, regexes) would otherwise keep the window's loop waiting for it.
YIELD_EVERY = 32
#: Answers of a run without rules taken out of the queue per write.
MARK_CHUNK = 20_000


def check_rows(rules: CheckRules, rows: list[Unchecked]) -> list[Checked]:
    """Each answer's result (runs in a worker thread)."""
    out: list[Checked] = []
    for n, (prompt_id, answered, endpoint, response) in enumerate(rows):
        if not n % YIELD_EVERY:
            time.sleep(0)  # see YIELD_EVERY
        if not answered:  # failed at the provider: nothing to check
            out.append((prompt_id, answered, None, None))
            continue
        try:
            result = rules.evaluate(answer_text(endpoint, orjson.loads(response)))
        except orjson.JSONDecodeError:
            result = CheckResult(False, "the stored response is not JSON")
        except Exception as exc:  # a rule that trips on one answer fails that answer only
            result = CheckResult(False, f"could not be checked: {type(exc).__name__}: {exc}")
        out.append((prompt_id, answered, 1 if result.passed else 0, result.detail or None))
    return out


class BackgroundChecker:
    def __init__(self, book: CheckBook, workers: DbWorkers, listener: Listener | None) -> None:
        self.book, self.workers, self.listener = book, workers, listener
        #: run id -> the revision whose stale results are known to be reset (none yet after a
        #: start: each run with rules is looked over once).
        self._swept: dict[int, int] = {}
        #: Parsed rules by (run, revision): parsed once, not per chunk.
        self._parsed: dict[tuple[int, int], CheckRules | None] = {}
        #: The last pass did something: more may wait (the engine passes again soon).
        self.more = False

    async def run_pass(self) -> int:
        """Reset stale results of changed rules, then check up to CHUNKS_PER_PASS chunks;
        returns how many answers got a result (or were taken out of the queue)."""
        stored = await self.workers.read(self.book.all_rules)
        changed: set[int] = set()
        for stale in stored.values():
            if self._swept.get(stale.run_id) != stale.revision and await self._sweep(stale):
                changed.add(stale.run_id)
        done = 0
        budget = CHUNKS_PER_PASS
        run_id: int | None = await self.workers.read(self.book.next_run_with_work, 0)
        while run_id is not None and budget > 0:
            rules: StoredRules | None = stored.get(run_id)  # each of ``stored`` is swept
            if rules is None and await self.workers.read(self.book.rules, run_id) is not None:
                break  # rules set meanwhile: the next pass sweeps and checks
            parsed = self._rules_of(rules) if rules is not None else None
            revision = rules.revision if rules is not None else 0
            if parsed is None:  # no rules: nothing a view shows changes (no event)
                n = await self.workers.write(self.book.mark_not_checked, run_id, revision,
                                             MARK_CHUNK)
                budget -= 1
            else:
                n = await self._check_run(run_id, revision, parsed, budget)
                budget -= max(1, -(-n // CHUNK))
                if n:
                    changed.add(run_id)
            done += n
            run_id = await self.workers.read(self.book.next_run_with_work, run_id)
        if changed and self.listener is not None:
            remaining = await self.workers.read(self.book.unchecked_total)
            for changed_id in sorted(changed):
                counts = await self.workers.read(self.book.counts, changed_id)
                self.listener(AnswersChecked(changed_id, counts.passed, counts.failed,
                                             counts.not_checked, remaining))
        self.more = bool(done or changed)
        return done

    def _rules_of(self, stored: StoredRules) -> CheckRules | None:
        key = (stored.run_id, stored.revision)
        if key not in self._parsed:
            try:
                rules = None if stored.empty else CheckRules.from_json(stored.rules)
            except InvalidInput as exc:  # written by a newer Batcher, or by hand
                log.error("run %s: its checks cannot be read (%s); its answers are left "
                          "unchecked", stored.run_id, exc)
                rules = None
            self._parsed[key] = None if rules is None or rules.empty else rules
        return self._parsed[key]

    async def _sweep(self, rules: StoredRules) -> int:
        """Put the run's answers checked under another revision back in the queue, chunk by
        chunk (each its own short write)."""
        span = await self.workers.read(self.book.run_span, rules.run_id)
        reset = 0
        if span is not None:
            after = span[0] - 1
            while after < span[1]:
                first = await self.workers.read(self.book.first_stale, rules.run_id,
                                                rules.revision, after, span[1])
                if first is None:
                    break
                after = first - 1
                reset += await self.workers.write(self.book.reset_stale, rules.run_id,
                                                  rules.revision, after)
                after += RESET_SPAN
        self._swept[rules.run_id] = rules.revision
        return reset

    async def _check_run(self, run_id: int, revision: int, rules: CheckRules,
                         budget: int) -> int:
        loop = asyncio.get_running_loop()
        after, done = 0, 0
        for _ in range(budget):
            rows = await self.workers.read(self.book.unchecked, run_id, CHUNK, after)
            if not rows:
                break
            results = await loop.run_in_executor(None, check_rows, rules, rows)
            written = await self.workers.write(self.book.store_results, run_id, revision,
                                               results)
            if not written:  # the rules changed meanwhile (or every answer did): next pass
                break
            done += written
            after = rows[-1][0]
        return done
