"""``batcher serve``'s log on stdout: one JSON object per line (or plain text for people).

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus the fields
of the event it tells (``event``, ``batch_id``, ``run_id``, ``state``...). What the engine does
reaches the log as typed events (:class:`EventLog`), so a log shipper can filter on
``event == "batch"`` and ``state == "failed"`` instead of parsing sentences. Secrets are masked
as in every other Batcher log: the handler carries the workspace's masking filter, and string
fields are masked too.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from batcher_gui.app.logs import guard
from batcher_gui.domain.events import (
    BatchChanged,
    EngineState,
    EngineStateChanged,
    Event,
    Notice,
    NoticeLevel,
)
from batcher_gui.domain.secrecy import mask

#: The logger event lines come from: shown at INFO even when other loggers are quieter.
EVENTS_LOGGER = "batcher_gui.serve"
#: Attributes every LogRecord has: what is not among them came in ``extra=`` (event fields).
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message", "asctime", "taskName"}

log = logging.getLogger(EVENTS_LOGGER)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"
                                                                          ).replace("+00:00",
                                                                                    "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if (key not in _STANDARD and not key.startswith("_") and key not in line
                    and value is not None):  # an event's empty fields: left out
                line[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            line["exc"] = mask(record.exc_text)
        return orjson.dumps(line, default=str).decode()


class _Quiet(logging.Filter):
    """INFO from the event logger, WARNING and above from every other (unless verbose)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        return (self.verbose or record.levelno >= logging.WARNING
                or record.name.startswith(EVENTS_LOGGER))


def log_to_stdout(fmt: str = "json", *, verbose: bool = False,
                  stream: TextIO | None = None) -> logging.Handler:
    """Send the process's log to stdout in ``fmt`` (``json`` or ``text``); returns the
    handler (already added to the root logger, masking secrets)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setLevel(logging.INFO)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                               "%(message)s"))
    handler.addFilter(_Quiet(verbose))
    root = logging.getLogger()
    root.addHandler(guard(handler))
    root.setLevel(logging.INFO)
    return handler


class EventLog:
    """Writes the service's events as log records with their fields (see module doc)."""

    def __init__(self, subscribe: Callable[[Callable[[Event], None]], Callable[[], None]]
                 ) -> None:
        self._unsubscribe = subscribe(self.on_event)

    def on_event(self, event: Event) -> None:
        if isinstance(event, BatchChanged):
            if event.detail == "progress":  # counts moved: /metrics tells those
                return
            text = f"batch #{event.batch_id}: {event.state.value}"
            log.info(text + (f" ({event.detail})" if event.detail else ""),
                     extra={"event": "batch", "batch_id": event.batch_id,
                            "run_id": event.run_id, "state": event.state.value,
                            "detail": event.detail or None})
        elif isinstance(event, Notice):
            level = {NoticeLevel.INFO: logging.INFO, NoticeLevel.WARNING: logging.WARNING,
                     NoticeLevel.ERROR: logging.ERROR}[event.level]
            log.log(level, event.message,
                    extra={"event": "notice", "batch_id": event.batch_id,
                           "run_id": event.run_id, "needs_user": event.needs_user})
        elif isinstance(event, EngineStateChanged):
            words = {EngineState.DRIVING: "driving the workspace",
                     EngineState.WAITING_FOR_DRIVER: "not driving",
                     EngineState.PAUSED: "paused: every batch in flight waits for the user",
                     EngineState.STOPPED: "engine stopped",
                     EngineState.IDLE: "engine idle"}[event.state]
            waiting = {name: wait.detail for name, wait in event.waiting_profiles.items()}
            log.info(f"{words}: {event.reason}" if event.reason else words,
                     extra={"event": "engine", "state": event.state.value,
                            "holder": event.holder, "reason": event.reason or None,
                            "waiting_profiles": waiting or None})

    def close(self) -> None:
        self._unsubscribe()
