"""Starting coroutines from Qt code (slots, models, dialogs) without losing them or their errors.

Every task may have an *owner*: the QObject whose widgets or data it updates (a dialog, a
model, a workspace session). The task is cancelled when its owner is deleted, and does not
start if the owner is gone by then, so a dialog closed while its work was queued never makes
that work touch deleted Qt objects. :func:`cancel_owned` ends an owner's tasks on purpose (a
workspace closing). Each owner is watched through one connection to its ``destroyed`` signal,
made with its first task, whatever number of tasks it starts over its life (a timer's task a
second for a day must not add 86,400 connections).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from batcher_gui.app.reader import Superseded

log = logging.getLogger(__name__)
_running: set[asyncio.Task[Any]] = set()


class _Owned:
    """The running tasks of one owner (see the module docstring)."""

    def __init__(self, owner: QObject) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        key = _key(owner)
        # Not a lambda holding ``owner`` (that would keep its wrapper alive): its key only.
        owner.destroyed.connect(lambda *_: _owner_gone(key))


def _key(owner: QObject) -> int:
    """The owner's C++ address: the same for every Python wrapper of it, while it lives."""
    return int(shiboken6.getCppPointer(owner)[0])


_owners: dict[int, _Owned] = {}


def _owner_gone(key: int) -> None:
    owned = _owners.pop(key, None)
    if owned is not None:
        for task in list(owned.tasks):
            task.cancel()


def spawn(coro: Coroutine[Any, Any, Any], name: str | None = None,
          owner: QObject | None = None) -> asyncio.Task[Any]:
    """Run ``coro`` on the event loop; keep it alive until done; log what it raises.

    A superseded query is not an error (the user asked for something newer, or the workspace
    closed); anything else that escapes is a bug and is logged with its traceback (the crash
    dialog shows the log).
    """
    if owner is not None and not shiboken6.isValid(owner):
        coro.close()  # its owner is gone already: nothing to update
        owner = None
        coro = _nothing()
    inner = coro
    if owner is not None:
        coro = _while_alive(inner, owner)
    task = asyncio.get_event_loop().create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_finished)
    if owner is not None:
        key = _key(owner)
        owned = _owners.get(key)
        if owned is None:
            owned = _owners[key] = _Owned(owner)
        owned.tasks.add(task)
        task.add_done_callback(owned.tasks.discard)
        # Cancelled before its first step, the wrapper never ran: close what it would have run.
        task.add_done_callback(lambda _t: inner.close())
    return task


async def _nothing() -> None:
    return None


async def _while_alive(coro: Coroutine[Any, Any, Any], owner: QObject) -> Any:
    if not shiboken6.isValid(owner):
        coro.close()
        return None
    try:
        return await coro
    except RuntimeError as exc:
        # Its owner was deleted while it ran (a dialog closed mid-task): cancelled then, its
        # clean-up (a ``finally`` resetting a button) found the widgets gone. The work was
        # abandoned with its owner: nothing to report.
        if not shiboken6.isValid(owner) and "already deleted" in str(exc):
            raise asyncio.CancelledError from exc
        raise


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, Superseded):
        log.error("background task %s failed", task.get_name(), exc_info=exc)


def owned_tasks(owner: QObject) -> list[asyncio.Task[Any]]:
    """The tasks of ``owner`` still running."""
    owned = _owners.get(_key(owner)) if shiboken6.isValid(owner) else None
    return [t for t in owned.tasks if not t.done()] if owned is not None else []


def stop_owned(owner: QObject) -> None:
    """Cancel ``owner``'s running tasks now (not the caller's own), without waiting: what it
    starts after this call is not touched."""
    me = asyncio.current_task()
    for task in owned_tasks(owner):
        if task is not me:
            task.cancel()


async def cancel_owned(owner: QObject, timeout: float = 2.0) -> None:
    """Cancel ``owner``'s running tasks (not the caller's own) and wait for them to end."""
    me = asyncio.current_task()
    tasks = [t for t in owned_tasks(owner) if t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


def running_tasks() -> list[asyncio.Task[Any]]:
    """Every task started here that is still running (the soak benchmark counts them)."""
    return [t for t in _running if not t.done()]


def watched_owners() -> int:
    """How many owners have a ``destroyed`` connection here (the soak benchmark checks it
    stays flat)."""
    return len(_owners)


async def cancel_all() -> None:
    """Cancel what is still running (the application is closing) and wait for it."""
    me = asyncio.current_task()
    tasks = [t for t in _running if not t.done() and t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2)
