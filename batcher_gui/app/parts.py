"""What the service's mixins (actions, checks, re-runs, review) share: the parts of the
service they call, declared once (:class:`batcher_gui.app.service.Service` provides them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from batcher_gui.config.settings import WorkspaceSettings
from batcher_gui.domain.events import Event
from batcher_gui.engine.engine import Engine
from batcher_gui.storage import Store

T = TypeVar("T")


class ServiceParts:
    """The service's workspace, engine and database calls, as its mixins see them."""

    store: Store
    engine: Engine
    settings: WorkspaceSettings

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        raise NotImplementedError

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        raise NotImplementedError

    def _emit(self, event: Event) -> None:
        raise NotImplementedError
