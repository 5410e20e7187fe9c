"""Checks through the service, end to end: rules set and refused, answers checked by the real
engine as they arrive, and "Re-run failed checks" picking exactly the answers that failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from batcher_gui.domain.checks import CheckRules
from batcher_gui.domain.errors import InvalidInput, NotFound
from batcher_gui.domain.events import AnswersChecked, Event, RunsChanged
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.rerun import RerunChange, RerunScope
from tests.app.conftest import OpenService, run, write_chat


def test_checked_answers_and_rerun_of_the_failed_ones(open_service: OpenService,
                                                      tmp_path: Path) -> None:
    # The sandbox answers "Sandbox reply <hex>. You asked: q <i>": a regex on the question's
    # last digit makes c0..c4 pass and c5..c9 fail.
    data = write_chat(tmp_path / "p.jsonl", 10)

    async def scenario() -> None:
        service = await open_service()
        events: list[Event] = []
        service.subscribe(events.append)
        try:
            origin = (await service.import_file(data, ImportOptions(), profile="sandbox")).run
            with pytest.raises(InvalidInput, match="does not compile"):
                await service.set_checks(origin.id, CheckRules(regex="[0-4"))
            with pytest.raises(NotFound):
                await service.set_checks("#99", CheckRules(json=True))
            assert (await service.run_checks(origin.id)).rules.empty  # nothing changed
            checks = await service.set_checks(origin.id, CheckRules(regex=r"q [0-4]$"))
            assert checks.revision == 1 and checks.counts.not_checked == 10
            assert any(isinstance(e, RunsChanged) for e in events)
            await service.submit(origin.id)
            assert await service.sync(timeout=60)
            checks = await service.run_checks(origin.id)
            assert (checks.counts.passed, checks.counts.failed) == (5, 5)
            assert checks.as_dict() == {"run": origin.id, "revision": 1, "passed": 5,
                                        "failed": 5, "not_checked": 0,
                                        "rules": ["answer matches the regex q [0-4]$"]}
            said = [e for e in events if isinstance(e, AnswersChecked)]
            assert said and said[-1].failed == 5
            failed = await service.rerun(origin.id, RerunChange(model="gpt-4o"),
                                         RerunScope.failed_checks())
            assert failed.prompts == 5
            assert (await service.lineages())[failed.run.id].endswith("; 5 failed checks)")
        finally:
            await service.close()

    run(scenario())
