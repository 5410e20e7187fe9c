"""The composition root, service API and read façade (see :mod:`batcher_gui.app.service` and
:mod:`batcher_gui.app.reader`).

:class:`Service` is imported on first use: it brings SQLAlchemy, the engine and the provider
SDKs (about a second), which the window's first rows (read by :mod:`batcher_gui.app.reader`)
must not wait for.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batcher_gui.app.service import Service


async def open_service(data_dir: str | os.PathLike[str] | None = None, *,
                       database: str | None = None, **kwargs: Any) -> Service:
    """Open the workspace named by ``database`` (a PostgreSQL URL) or ``data_dir`` (or the
    environment, or the default)."""
    from batcher_gui.app.service import Service
    from batcher_gui.paths import resolve_workspace

    return await Service.open(resolve_workspace(data_dir, database=database), **kwargs)


def __getattr__(name: str) -> Any:
    if name == "Service":
        from batcher_gui.app.service import Service

        return Service
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Service", "open_service"]
