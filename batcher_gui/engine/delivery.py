"""Delivering finished results to a run's target: a results folder or a webhook.

Folder: ``<run>.jsonl`` and ``<run>.csv`` grow as results arrive. Each pass appends the new
results, makes the bytes durable (fsync), and only then marks those results delivered, in the
same transaction that records how long each file now is. A pass cut short by a crash is undone
by cutting the files back to the recorded length before the next append, so every result is
in each file exactly once, and a file never has a half line a reader could trip on for long.
Webhook: one POST per result with an ``Idempotency-Key`` that stays the same across retries of
the same result, so a receiver can drop duplicates (delivery is at-least-once). 2xx = delivered;
other answers (redirects too: never followed), timeouts and refused connections are retried
with backoff, then the result's delivery is marked failed (the result is kept; ``redeliver``
sends it again). See :mod:`batcher_gui.engine.webhooks`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Collection
from pathlib import Path

from batcher_gui.config.prices import price_table
from batcher_gui.domain.events import Listener, Notice, NoticeLevel
from batcher_gui.domain.file_names import results_file_stem
from batcher_gui.domain.wording import shortened
from batcher_gui.engine.destination import fit_name, name_max
from batcher_gui.engine.export import CSV_HEADER, csv_row, jsonl_line
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.webhooks import Webhooks
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage.db import Database
from batcher_gui.storage.delivery import DeliveryStore, DeliveryTarget
from batcher_gui.storage.store import Store

log = logging.getLogger(__name__)
#: Results appended per pass step (and per transaction marking them delivered).
_PAGE = 2000
_KINDS = ("jsonl", "csv")


def folder_files(target: DeliveryTarget, taken: Collection[str] = ()) -> dict[str, str]:
    """The two files a folder target holds for a run (kind -> path).

    Named after the run; a name too long for the file system (older Batchers took names of
    any length) is cut and the run's number added, as when another run has the plain
    names: unique, and the same on every pass."""
    stem = results_file_stem(target.run_name, target.run_id)
    folder = Path(target.target).expanduser()
    limit = name_max(folder)
    paths = {k: str(folder / f"{stem}.{k}") for k in _KINDS}
    if (len(f"{stem}.jsonl".encode()) > limit  # the longer of the two names
            or set(taken).intersection(paths.values())):  # never write into another run's
        paths = {k: str(folder / fit_name(stem, f" (run {target.run_id}).{k}", limit))
                 for k in _KINDS}
    return paths


class Deliverer:
    """Moves processed results to their run's target. One pass per engine tick."""

    def __init__(self, db: Database, settings: EngineSettings, listener: Listener | None,
                 workers: DbWorkers) -> None:
        self.ds = DeliveryStore(db)
        self.store = Store(db)
        self.settings = settings
        self.listener = listener
        self.workers = workers
        self.webhooks = Webhooks(self.ds, settings, workers, self._notice)
        #: run id -> why its folder could not be written, as last said (said once per cause)
        self._folder_problems: dict[int, str] = {}

    async def close(self) -> None:
        await self.webhooks.close(self.settings.stop_grace)

    async def run_pass(self) -> bool:
        """Deliver what is due. Returns True while some result still waits for delivery."""
        waiting = False
        hooks = []
        for target in await self.workers.read(self.ds.targets):
            await self.workers.write(self.ds.start, target.run_id)
            if target.kind != "folder":
                hooks.append(target)
            else:
                try:
                    await self.workers.read(self._to_folder, target)
                except OSError as exc:
                    self._folder_failed(target, exc)
                    waiting = True
                else:
                    self._folder_problems.pop(target.run_id, None)
        hooks = [t for t in hooks if await self.workers.read(self.ds.count_delivering, t.run_id)]
        await self.webhooks.start(hooks)  # each endpoint on its own, beyond this pass
        return waiting or bool(hooks) or self.webhooks.busy()

    # -- folder (runs in a worker thread) ------------------------------------------------------
    def _to_folder(self, target: DeliveryTarget) -> None:
        wanted = folder_files(target)
        taken = self.ds.paths_in_use(list(wanted.values()), target.run_id)
        limit = name_max(Path(target.target).expanduser())
        files = self.ds.folder_files(target.run_id, folder_files(target, taken),
                                     lambda path: len(os.fsencode(Path(path).name)) <= limit)
        if any(_shorter(path, size) for path, size in files.values()):
            # The user removed or edited a file: write all of it again.
            self.workers.write_sync(self.ds.restart_files, target.run_id)
            files = {k: (p, 0) for k, (p, _) in files.items()}
        prices = price_table(self.store.get_setting("prices", {}))
        sizes = {kind: size for kind, (_, size) in files.items()}
        after = 0
        while page := self.ds.delivering_page(target.run_id, after, _PAGE):
            # Written means delivered: the files say so (the marking follows at once).
            rows = [(*r[:3], "delivered", *r[4:]) for r in page]
            jsonl = b"".join(jsonl_line(r, prices) for r in rows)
            text = io.StringIO()
            writer = csv.writer(text)
            if sizes["csv"] == 0:
                writer.writerow(CSV_HEADER)
            writer.writerows(csv_row(r, prices) for r in rows)
            for kind, data in (("jsonl", jsonl), ("csv", text.getvalue().encode("utf-8"))):
                sizes[kind] = _append(Path(files[kind][0]), sizes[kind], data)
            self.workers.write_sync(self.ds.appended, target.run_id, [r[0] for r in rows],
                                    dict(sizes), f"written to {Path(files['jsonl'][0]).parent}")
            after = rows[-1][0]

    def _folder_failed(self, target: DeliveryTarget, exc: OSError) -> None:
        """Say why a run's folder cannot be written: once per cause, not on every pass (the
        next passes try again), in a line of readable length whatever the names."""
        reason = exc.strerror or type(exc).__name__
        where = f" ({shortened(os.path.basename(exc.filename))})" if isinstance(
            exc.filename, str) and os.path.basename(exc.filename) else ""
        if self._folder_problems.get(target.run_id) == reason:
            log.debug("run #%s: folder still not writable: %s", target.run_id, reason)
            return
        self._folder_problems[target.run_id] = reason
        self._notice(f"cannot write the results of run #{target.run_id} "
                     f"{shortened(target.run_name)!r} to {shortened(target.target)}: "
                     f"{reason}{where}; Batcher keeps trying (said again only if the problem "
                     "changes)")

    def _notice(self, message: str) -> None:
        log.info(message)
        if self.listener is not None:
            self.listener(Notice(NoticeLevel.ERROR, message))


def _shorter(path: str, committed: int) -> bool:
    """The file holds less than was recorded as delivered into it (removed or edited)."""
    try:
        return os.path.getsize(path) < committed
    except FileNotFoundError:
        return committed > 0


def _append(path: Path, committed: int, data: bytes) -> int:
    """Cut the file back to ``committed`` bytes (a crashed pass's tail), append ``data``, and
    make it durable. Returns the new length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask decides, as for any file
    try:
        os.ftruncate(fd, committed)
        os.lseek(fd, committed, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    return committed + len(data)
