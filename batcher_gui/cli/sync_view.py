"""``batcher sync``: drive the engine in the foreground and say what is happening.

On a terminal a live line shows the batches in flight (state, requests done/total, next poll);
state changes and problems print as lines above it. In a pipe or log, every state change and
problem is one line. The end says plainly whether everything finished, what failed, or what
waits for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import TYPE_CHECKING

from batcher_gui.cli import said
from batcher_gui.cli.common import EXIT_FAILURES, EXIT_OK, EXIT_PROBLEM, on_terminal, say, shown
from batcher_gui.domain.events import (
    BatchChanged,
    EngineActivity,
    EngineState,
    EngineStateChanged,
    Event,
    Notice,
    NoticeLevel,
)
from batcher_gui.domain.models import Batch
from batcher_gui.domain.progress import drafts_due
from batcher_gui.domain.states import BATCH_IN_FLIGHT, BatchState
from batcher_gui.domain.wording import duration_words, plural

if TYPE_CHECKING:
    from batcher_gui.app import Service


class SyncView:
    """Prints engine events for a person watching a terminal (or reading a log)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.live = on_terminal()
        self.next_poll: float | None = None
        self.notices: list[Notice] = []
        self._line = ""
        self._unsubscribe = service.subscribe(self.on_event)
        self._task: asyncio.Task[None] | None = None
        if self.live:
            self._task = asyncio.get_running_loop().create_task(self._refresh())

    def on_event(self, event: Event) -> None:
        if isinstance(event, BatchChanged) and event.detail != "progress":
            run = f" (run #{event.run_id})" if event.run_id else ""
            self.print(f"batch #{event.batch_id}{run}: {event.state.value}"
                       + (f" — {event.detail}" if event.detail else ""))
        elif isinstance(event, Notice):
            self.notices.append(event)
            if event.level is not NoticeLevel.INFO or event.batch_id is not None:
                self.print(f"{'!' if event.level is NoticeLevel.ERROR else '·'} "
                           f"{event.message}")
        elif isinstance(event, EngineStateChanged) and event.state in (
                EngineState.WAITING_FOR_DRIVER, EngineState.PAUSED):
            self.print(f"{event.reason} (Ctrl-C stops waiting)"
                       if event.state is EngineState.WAITING_FOR_DRIVER else event.reason)
        elif isinstance(event, EngineActivity):
            self.next_poll = event.next_poll_at

    def print(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[K" + shown(text) + "\n" + self._line)
            sys.stderr.flush()
        else:
            say(text)

    async def _refresh(self) -> None:
        while True:
            batches = [b for b in await self.service.batches() if b.state in BATCH_IN_FLIGHT]
            self._line = summary_line(batches, self.next_poll)
            sys.stderr.write("\r\x1b[K" + self._line)
            sys.stderr.flush()
            await asyncio.sleep(1)

    async def close(self) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def summary_line(batches: list[Batch], next_poll: float | None) -> str:
    if not batches:
        return "nothing in flight"
    shown = []
    for b in batches[:4]:
        done = (f" {(b.counts_completed or 0) + (b.counts_failed or 0)}/{b.counts_total}"
                if b.counts_total else "")
        why = f" (waits: {b.wait_reason})" if b.wait_reason else ""  # e.g. the token limit
        shown.append(f"#{b.id} {b.state.value}{done}{why}")
    more = f" and {len(batches) - 4} more" if len(batches) > 4 else ""
    poll = ""
    if next_poll is not None:
        poll = f" · next poll in {max(0, next_poll - time.time()):.0f}s"
    return f"{len(batches)} in flight: {', '.join(shown)}{more}{poll}"


def drafts_words(batches: list[Batch], quiet_seconds: float, now: float) -> str | None:
    """Draft batches not sent yet, and when they go (None: no draft waits)."""
    drafts = [b for b in batches if b.state is BatchState.DRAFT and b.request_count]
    if not drafts:
        return None
    due = min(drafts_due(b.updated_at, quiet_seconds) or now for b in drafts)
    first = "now" if due <= now else f"in {duration_words(due - now)}"
    one = len(drafts) == 1
    return (f"{plural(len(drafts), 'draft batch', 'draft batches')} not sent yet "
            f"({', '.join(f'#{b.id}' for b in drafts)}; "
            f"{plural(sum(b.request_count for b in drafts), 'prompt')}): "
            f"{'it goes' if one else 'a draft goes'} once no prompt has joined it for "
            f"{duration_words(quiet_seconds)} ({'' if one else 'the first '}{first}), or at "
            "once with `batcher submit`")


def waiting_words(batches: list[Batch], quiet_seconds: float, now: float) -> str:
    """What is left to do: batches in flight (and what any of them waits for), then draft
    batches not sent yet (and when they go)."""
    in_flight = [b for b in batches if b.state in BATCH_IN_FLIGHT]
    parts = [summary_line(in_flight, None)] if in_flight else []
    drafts = drafts_words(batches, quiet_seconds, now)
    if drafts:
        parts.append(drafts)
    # Neither: provider files left to clean up, or deliveries to retry.
    return "; ".join(parts) or "nothing in flight, but work is left (cleanup or deliveries)"


async def run_sync(service: Service, *, wait: bool, timeout: float | None) -> int:
    mark = await service.failure_mark()
    if not wait:
        view = SyncView(service)
        try:
            busy = await service.sync_once()
        finally:
            await view.close()
        if busy is None:
            driver = await service.current_driver()
            say(f"{driver}; it will do the work.")
            return EXIT_OK
        return await _report(service, mark, view, finished=not busy, timeout=None)
    view = SyncView(service)
    try:
        idle = await service.sync(timeout=timeout)
    finally:
        await view.close()
    return await _report(service, mark, view, finished=idle, timeout=timeout)


async def _report(service: Service, mark: int, view: SyncView, *, finished: bool,
                  timeout: float | None) -> int:
    blocked = service.engine.blocked_profiles
    if blocked:
        for reason in blocked.values():
            say(f"waiting for you: {reason.detail}", err=True)
        say("The other profiles' batches went on. Fix the above, then run `batcher sync "
            "--wait` again.", err=True)
        return EXIT_PROBLEM
    failures = await service.failures_since(mark)
    if failures:
        for found in failures:
            say(f"failed: {said.failures(found)}", err=True)
        say("`batcher status` shows every run; `batcher export RUN --out FILE` shows each "
            "error; `batcher retry --failed` sends failed prompts again.", err=True)
        return EXIT_FAILURES
    batches = await service.batches()
    quiet = service.engine.settings.quiet_seconds
    if not finished:
        waiting = waiting_words(batches, quiet, time.time())
        if timeout is not None:
            say(f"Not finished after {timeout:g}s: {waiting}. Run `batcher sync --wait` again "
                "to go on.", err=True)
            problems = [n.message for n in view.notices if n.level is not NoticeLevel.INFO]
            if problems:
                say(f"Last problem: {problems[-1]}", err=True)
            return EXIT_PROBLEM
        say(f"{waiting}; `batcher sync` again goes on.")
        return EXIT_OK
    drafts = drafts_words(batches, quiet, time.time())
    say(f"Nothing in flight; {drafts}." if drafts else "Nothing in flight.")
    return EXIT_OK
