"""Where Batcher writes its log: ``logs/batcher.log`` in the workspace (rotated at 5 MB).

Everything the engine does is logged there at INFO (state changes, retries, problems with
their tracebacks), so a question about last night's run can be answered from the file. API
keys are never logged: every handler Batcher adds carries :class:`MaskSecrets`, which masks
the message, its arguments and the traceback of each record (a provider's error may quote the
key it was sent); the key-leak tests read this file too.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
from pathlib import Path

from batcher_gui.domain.secrecy import mask
from batcher_gui.paths import private_opener

LOG_NAME = "batcher.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
_attached: dict[Path, logging.Handler] = {}


class MaskSecrets(logging.Filter):
    """Masks API keys in whatever a record would print (see batcher_gui.domain.secrecy).

    A handler's filter sees every record the handler emits, whichever logger made it. The
    record itself is masked (its message formatted, its traceback rendered to text), so any
    other handler that sees it after this one prints the masked text too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad %-arguments: keep what there is, masked
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set, instead of formatting exc_info again.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are owner-only (0600) whatever the umask: logs tell what
    was sent where and why, which is nobody else's business on a shared computer."""

    def _open(self) -> io.TextIOWrapper:
        # Rotating: always "a". An old log may be 0644: the opener tightens it too.
        return open(self.baseFilename, "a", encoding=self.encoding, errors=self.errors,
                    opener=private_opener)


def guard(handler: logging.Handler) -> logging.Handler:
    """``handler`` with API keys masked in every record it emits."""
    if not any(isinstance(f, MaskSecrets) for f in handler.filters):
        handler.addFilter(MaskSecrets())
    return handler


def log_to_workspace(log_dir: Path) -> Path:
    """Add the workspace's rotating log file to the root logger (once per folder)."""
    path = log_dir / LOG_NAME
    if path in _attached:
        return path
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = PrivateRotatingFileHandler(path, maxBytes=5_000_000, backupCount=3,
                                         encoding="utf-8", delay=True)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(_FORMAT))
    guard(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _attached[path] = handler
    for chatty in ("alembic", "httpx", "httpx2", "aiohttp.access"):  # a line per request/step
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return path


def stop_logging_to(log_dir: Path) -> None:
    handler = _attached.pop(log_dir / LOG_NAME, None)
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()
