"""Fixtures for the importing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importing.helpers import Writer


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write ``content`` (str is UTF-8 encoded as is, no newline translation) to ``name``."""

    def _write(name: str, content: bytes | str) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return _write
