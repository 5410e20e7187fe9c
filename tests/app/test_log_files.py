"""The workspace log: owner-only files (rotated ones too) whatever the umask, keys masked."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from batcher_gui.app.logs import PrivateRotatingFileHandler, guard


def test_rotated_logs_are_owner_only_and_masked(tmp_path: Path) -> None:
    old = os.umask(0o022)
    handler = guard(PrivateRotatingFileHandler(tmp_path / "batcher.log", maxBytes=2_000,
                                               backupCount=2, encoding="utf-8"))
    logger = logging.getLogger("test.rotation")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(100):
            logger.warning("line %d refused: Incorrect API key provided: Bearer %s", i,
                           "sk-proj-ROTATEDSECRET0123456789abcd")
    finally:
        logger.removeHandler(handler)
        handler.close()
        os.umask(old)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["batcher.log", "batcher.log.1", "batcher.log.2"]
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        text = path.read_text()
        assert "ROTATEDSECRET" not in text and "Bearer sk-proj-…abcd" in text
