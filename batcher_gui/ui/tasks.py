"""Starting coroutines from Qt code (slots, models) without losing them or their errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from batcher_gui.ui.view_reader import Superseded

log = logging.getLogger(__name__)
_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], name: str | None = None,
          owner: QObject | None = None) -> asyncio.Task[Any]:
    """Run ``coro`` on the event loop; keep it alive until done; log what it raises.

    A superseded query is not an error (the user asked for something newer); anything else
    that escapes is a bug and is logged with its traceback (the crash dialog shows the log).
    With an ``owner`` (the model or widget the coroutine updates), the task is cancelled when
    the owner is deleted, and does not start if it is gone by then: a window closed while its
    work was queued must not make that work touch deleted Qt objects.
    """
    inner = coro
    if owner is not None:
        coro = _while_alive(inner, owner)
    task = asyncio.get_event_loop().create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_finished)
    if owner is not None:
        owner.destroyed.connect(lambda *_: task.cancel())
        # Cancelled before its first step, the wrapper never ran: close what it would have run.
        task.add_done_callback(lambda _t: inner.close())
    return task


async def _while_alive(coro: Coroutine[Any, Any, Any], owner: QObject) -> Any:
    if not shiboken6.isValid(owner):
        coro.close()
        return None
    return await coro


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, Superseded):
        log.error("background task %s failed", task.get_name(), exc_info=exc)


async def cancel_all() -> None:
    """Cancel what is still running (the window is closing) and wait for it."""
    me = asyncio.current_task()
    tasks = [t for t in _running if not t.done() and t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2)
