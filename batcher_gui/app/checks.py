"""Checks on answers, for the window and the command line: a run's rules and its counts.

Setting rules validates them first (a bad schema or regex is refused and changes nothing),
stores them under a new revision and wakes the engine, whose background checker checks the
run's answers again (see :mod:`batcher_gui.engine.checking`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from batcher_gui.app.parts import ServiceParts
from batcher_gui.domain.checks import CheckCounts, CheckRules
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.events import RunsChanged
from batcher_gui.domain.models import Run
from batcher_gui.storage.checks import NO_RULES, CheckBook

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RunChecks:
    """A run's checks: its rules (empty: none), their revision, and its counts."""

    run: Run
    rules: CheckRules
    revision: int
    counts: CheckCounts

    def as_dict(self) -> dict[str, Any]:
        """Plain values (rules in words), for a machine-readable listing."""
        return {"run": self.run.id, "rules": self.rules.describe(), "revision": self.revision,
                "passed": self.counts.passed, "failed": self.counts.failed,
                "not_checked": self.counts.not_checked}


class CheckActions(ServiceParts):
    """Mixed into :class:`batcher_gui.app.service.Service`."""

    async def find_run(self, ref: int | str) -> Run:
        raise NotImplementedError

    async def _acted(self) -> None:
        raise NotImplementedError

    @property
    def _checks(self) -> CheckBook:
        return CheckBook(self.store.db)

    async def run_checks(self, run_ref: int | str) -> RunChecks:
        """The run's rules (empty: none) and its prompts passed, failed and not checked."""
        run = await self.find_run(run_ref)
        stored = await self.read(self._checks.rules, run.id)
        rules = CheckRules()
        if stored is not None and not stored.empty:
            rules = CheckRules.from_json(stored.rules)
        counts = await self.read(self._checks.counts, run.id)
        return RunChecks(run, rules, stored.revision if stored else 0, counts)

    async def set_checks(self, run_ref: int | str, rules: CheckRules) -> RunChecks:
        """Replace the run's rules (empty rules clear them); its answers are checked again in
        the background. Rules are validated when made (:class:`CheckRules`)."""
        if not isinstance(rules, CheckRules):
            raise InvalidInput("checks must be CheckRules")
        run = await self.find_run(run_ref)
        await self.write(self._checks.set_rules, run.id,
                         NO_RULES if rules.empty else rules.to_json())
        await self._acted()
        self._emit(RunsChanged("checks changed"))
        return await self.run_checks(run.id)

    async def check_answers(self) -> int:
        """Check every answer waiting now, here (the command line does not wait for the
        engine's pace; a driving engine elsewhere writes the same results, harmlessly).
        Returns how many got a result."""
        done = 0
        while n := await self.engine.checking.run_pass():
            done += n
        return done

    async def clear_checks(self, run_ref: int | str) -> RunChecks:
        return await self.set_checks(run_ref, CheckRules())
