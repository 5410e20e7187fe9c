"""The composition root and service API (see :mod:`batcher_gui.app.service`)."""

from __future__ import annotations

import os
from typing import Any

from batcher_gui.app.service import Service
from batcher_gui.paths import resolve_workspace


async def open_service(data_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> Service:
    """Open the workspace named by ``data_dir`` (or the environment, or the default)."""
    return await Service.open(resolve_workspace(data_dir), **kwargs)


__all__ = ["Service", "open_service"]
