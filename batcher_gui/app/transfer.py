"""Moving a laptop workspace into a team workspace: ``batcher copy-to postgresql://…``.

The copy is made while this process holds the right to drive the laptop workspace (so no
engine sends from it meanwhile), and afterwards the laptop workspace remembers where it went
and never sends from here again: its batches are driven by the team workspace's engine from
then on, so nothing is sent or paid for twice. Its data stays readable here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from batcher_gui.app.service import Service
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.secrecy import mask
from batcher_gui.paths import is_postgres_url, resolve_workspace
from batcher_gui.storage import open_store
from batcher_gui.storage.transfer import MOVED_TO, CopyReport, copy_workspace

Progress = Callable[[str, int, int], None]


def moved_to(service: Service) -> str | None:
    """Where this workspace was copied to (masked URL), if it was."""
    value = service.store.get_setting(MOVED_TO)
    return str(value) if value else None


async def copy_to_team(service: Service, url: str, progress: Progress | None = None,
                       ) -> CopyReport:
    """Copy the open (SQLite) workspace into the new PostgreSQL workspace at ``url``.

    Raises:
        BatcherError: not a PostgreSQL URL, the workspace is itself a team one or was moved
            already, another process drives it, or the target is not new.
    """
    if not is_postgres_url(url):
        raise BatcherError(f"copy-to takes a PostgreSQL URL (postgresql://user@host/db), got "
                           f"{mask(url)!r}")
    if service.paths.database_url:
        raise BatcherError("this workspace is a team workspace already; copy-to moves a "
                           "laptop (SQLite) workspace into one")
    already = moved_to(service)
    if already:
        raise BatcherError(f"this workspace was copied to {already} already")
    await service.stop_engine()
    claim = service.engine.claim
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, claim.acquire):
        driver = await loop.run_in_executor(None, claim.current_driver)
        who = f" ({driver.holder})" if driver else ""
        raise BatcherError(f"another Batcher drives this workspace{who}: close it (or stop "
                           "its sync) first, so that nothing is sent while it is copied")
    try:
        def copy() -> CopyReport:
            target_paths = resolve_workspace(database=url).create()
            target = open_store(target_paths.database, url)
            try:
                report = copy_workspace(service.store.db, target.db, progress)
            finally:
                target.db.close()
            service.store.set_setting(MOVED_TO, mask(url))
            return report

        return await loop.run_in_executor(None, copy)
    finally:
        await loop.run_in_executor(None, claim.release)
