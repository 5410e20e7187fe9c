"""Stop acts within a second while the window's service reads a big file (preview, dry run,
estimate, import): the read is stopped in its thread, not waited for."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import pytest

from batcher_gui.domain.errors import Cancelled
from batcher_gui.domain.models import ImportOptions
from batcher_gui.importing import preview
from tests.app.conftest import OpenService, run
from tests.data.hostile import make

#: The workbook takes openpyxl many seconds to open (it parses the sheet whole to size it).
STOP_AFTER = 1.0
#: The goal is a second, with room for a busy machine; the readers used to finish opening
#: the workbook first (8 s or more here).
STOPPED_WITHIN = 1.5


@pytest.fixture
def big_workbook(tmp_path: Path) -> Path:
    return make.legal_sheet(tmp_path / "big.xlsx", rows=1_200_000)


def _threads_peeking() -> list[int]:
    """The threads now inside ``preview.peek``."""
    busy = []
    for ident, frame in sys._current_frames().items():
        at: FrameType | None = frame
        while at is not None:
            if at.f_code is preview.peek.__code__:
                busy.append(ident)
                break
            at = at.f_back
    return busy


def test_closing_the_preview_stops_its_read(open_service: OpenService,
                                            big_workbook: Path) -> None:
    async def scenario() -> None:
        service = await open_service()
        try:
            task = asyncio.ensure_future(service.preview_file(big_workbook, ImportOptions()))
            await asyncio.sleep(STOP_AFTER)
            assert not task.done() and _threads_peeking()
            stopped = time.monotonic()
            task.cancel()  # what the dialog does when it closes or the file changes
            with pytest.raises(asyncio.CancelledError):
                await task
            while _threads_peeking() and time.monotonic() - stopped < 10:
                await asyncio.sleep(0.05)
            assert time.monotonic() - stopped < STOPPED_WITHIN  # no thread left reading
        finally:
            await service.close()

    run(scenario())


@pytest.mark.parametrize("what", ["import", "estimate", "check"])
def test_stop_acts_at_once_while_a_workbook_is_opened(
    open_service: OpenService, big_workbook: Path, what: str
) -> None:
    async def scenario() -> float:
        service = await open_service()
        cancel = threading.Event()
        options = ImportOptions(model="gpt-4o-mini")
        try:
            if what == "import":
                job = service.import_file(big_workbook, options, cancel=cancel,
                                          parallel_from_bytes=0)  # the reader in a child
            elif what == "estimate":
                job = service.estimate_file(big_workbook, options, cancel=cancel)
            else:
                job = service.check_file(big_workbook, options, cancel=cancel)
            task = asyncio.ensure_future(job)
            await asyncio.sleep(STOP_AFTER)
            assert not task.done()
            stopped = time.monotonic()
            cancel.set()  # the Stop button
            with pytest.raises(Cancelled):
                await task
            took = time.monotonic() - stopped
            assert (await service.status_report())["runs"] == []
            return took
        finally:
            await service.close()

    assert run(scenario()) < STOPPED_WITHIN
