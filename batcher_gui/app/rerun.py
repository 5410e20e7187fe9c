"""Re-run with a change: plan it (what it will do, its estimate), make it, and find the re-runs
that have ended so the window can open Compare of origin and re-run (once each).

Mixed into :class:`batcher_gui.app.service.Service`; the work runs in a job thread.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

from batcher_gui.app.parts import ServiceParts
from batcher_gui.config.prices import price_table
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.events import ImportProgress, RunsChanged
from batcher_gui.domain.models import ImportSummary, Profile
from batcher_gui.domain.rerun import RerunChange, RerunPlan, RerunScope, lineage_text
from batcher_gui.domain.secrecy import mask
from batcher_gui.engine.estimate import RequestSample, TokenCount, count_sample
from batcher_gui.engine.rerun import plan_rerun, rerun_run
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage import rerun_rows

T = TypeVar("T")


class RerunActions(ServiceParts):
    """Re-run commands and queries (mixed into the service)."""

    workers: DbWorkers

    async def _job(self, fn: Callable[[], T], cancel: threading.Event) -> T:
        raise NotImplementedError

    def new_job_id(self) -> int:
        raise NotImplementedError

    async def _token_counter(self, profile: Profile) -> TokenCount | None:
        raise NotImplementedError

    def _throttled(self, emit: Callable[[int, int, int], None]) -> Callable[[int, int, int], None]:
        raise NotImplementedError

    async def plan_rerun(self, run_ref: int | str, change: RerunChange, scope: RerunScope, *,
                         estimate: bool = True, examples: int = 3,
                         cancel: threading.Event | None = None) -> RerunPlan:
        """What the re-run would do (count, first requests before/after, estimate); writes
        nothing. Raises RerunRefused (an InvalidInput) when it cannot be made."""
        cancel = cancel or threading.Event()
        prices = price_table(self.settings.prices) if estimate else None
        sample = RequestSample() if estimate else None
        plan = await self._job(functools.partial(
            plan_rerun, self.store, run_ref, change, scope, prices=prices, examples=examples,
            should_stop=cancel.is_set, sample=sample), cancel)
        if sample is not None and sample.requests and plan.estimate is not None \
                and prices is not None:
            # Claude's tokens: the provider counts a sample, as for an import's estimate.
            try:
                count_tokens = await self._token_counter(plan.profile)
            except BatcherError as exc:  # no key, a bad URL: the offline count stands
                plan.estimate.sample_problem = mask(str(exc))
            else:
                await count_sample(plan.estimate, sample, count_tokens, prices)
        return plan

    async def rerun(self, run_ref: int | str, change: RerunChange, scope: RerunScope, *,
                    name: str | None = None, cancel: threading.Event | None = None,
                    job_id: int | None = None) -> ImportSummary:
        """Make the re-run (a new run, all or nothing); progress arrives as ImportProgress
        events (phase "re-running") with ``job_id``."""
        job = self.new_job_id() if job_id is None else job_id
        cancel = cancel or threading.Event()
        shown = f"re-run of {run_ref if isinstance(run_ref, str) else f'#{run_ref}'}"

        throttled = self._throttled(lambda done, total, _n: self._emit(
            ImportProgress(job, shown, done, total, done, phase="re-running")))

        def progress(done: int, total: int) -> None:
            throttled(done, total, done)

        summary = await self._job(functools.partial(
            rerun_run, self.store, run_ref, change, scope, name=name, progress=progress,
            should_stop=cancel.is_set, write=self.workers.write_sync), cancel)
        self._emit(RunsChanged(f"re-ran as run #{summary.run.id}"))
        self.engine.wake()
        return summary

    async def count_rerun(self, run_ref: int | str, scope: RerunScope) -> int:
        """How many of the run's prompts the scope takes."""
        run = await self.read(self.store.find_run, run_ref)
        return await self.read(rerun_rows.count_scope, self.store.db, run.id, scope.query,
                               scope.ids)

    async def lineages(self) -> dict[int, str]:
        """run id -> ``re-run of #3 (model → gpt-4o; 18 failed checks)`` of every re-run."""
        found = await self.read(rerun_rows.lineages, self.store.db)
        return {run_id: lineage_text(origin, record)
                for run_id, (origin, record) in found.items()}

    async def reruns_to_compare(self) -> list[tuple[int, int]]:
        """(origin, re-run) of re-runs that have ended and were not offered Compare yet;
        each is marked offered here, so it is returned once (across processes and restarts).
        Re-runs whose origin is gone are marked and left out."""
        out = []
        for run_id, origin in await self.read(rerun_rows.ended_reruns_to_offer, self.store.db):
            if not await self.write(rerun_rows.mark_compare_offered, self.store.db, run_id):
                continue
            if await self.read(rerun_rows.run_exists, self.store.db, origin):
                out.append((origin, run_id))
        return out
