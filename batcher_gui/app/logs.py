"""Where Batcher writes its log: ``logs/batcher.log`` in the workspace (rotated at 5 MB).

Everything the engine does is logged there at INFO (state changes, retries, problems with
their tracebacks), so a question about last night's run can be answered from the file. API
keys are never logged (the key-leak test reads this file too).
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_NAME = "batcher.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
_attached: dict[Path, logging.Handler] = {}


def log_to_workspace(log_dir: Path) -> Path:
    """Add the workspace's rotating log file to the root logger (once per folder)."""
    path = log_dir / LOG_NAME
    if path in _attached:
        return path
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3,
                                                   encoding="utf-8", delay=True)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(_FORMAT))
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
