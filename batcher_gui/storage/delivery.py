"""Delivery bookkeeping: which results go where, and what happened to each attempt.

A run may have a delivery target (a results folder or a webhook). Its processed prompts move to
``delivering``, then to ``delivered`` once the target has them. A delivery that keeps failing
ends the prompt ``failed`` with ``delivery_error`` set: the result itself is kept (and shown),
``redeliver`` sends it again, and ``retry`` leaves it alone (sending the prompt again would pay
for it twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.secrecy import mask
from batcher_gui.domain.states import PromptState
from batcher_gui.storage.db import Database
from batcher_gui.storage.moves import move_prompt_rows, move_prompts, move_prompts_in_chunks
from batcher_gui.storage.store import EXPORT_COLUMNS
from batcher_gui.storage.tables import delivery_files, runs

P = PromptState
DELIVERY_KINDS = ("folder", "webhook")


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """Where a run's results go."""

    run_id: int
    run_name: str
    kind: str
    target: str


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """One result to deliver."""

    prompt_id: int
    user_custom_id: str
    state: str
    endpoint: str
    model: str
    response: bytes | None
    error: str | None
    input_tokens: int | None
    output_tokens: int | None
    attempts: int
    delivery_attempts: int


class DeliveryStore:
    """Delivery reads and writes on one workspace."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def set_target(self, run_id: int, kind: str | None, target: str | None) -> None:
        """Point a run at a target (or none). A new target gets every result of the run;
        without one, results waiting for delivery are simply ``processed`` again."""
        if kind is not None and kind not in DELIVERY_KINDS:
            raise BatcherError(f"delivery kind must be one of {', '.join(DELIVERY_KINDS)}")
        with self.db.write() as conn:
            old = conn.execute(select(runs.c.delivery_kind, runs.c.delivery_target)
                               .where(runs.c.id == run_id)).one()
            if (old.delivery_kind, old.delivery_target) == (kind, target):
                return
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                delivery_kind=kind, delivery_target=target))
            conn.execute(delete(delivery_files).where(delivery_files.c.run_id == run_id))
            params = {"r": run_id}
            if kind is None:
                move_prompts(conn, "run_id = :r", params, P.PROCESSED, "delivery target removed",
                             from_states=[P.DELIVERING], set_sql="deliver_after = NULL")
                return
            reset = ("delivery_attempts = 0, deliver_after = NULL, delivery_error = NULL, "
                     "error_kind = NULL")
            move_prompts(conn, "run_id = :r", params, P.DELIVERING, f"new target: {target}",
                         from_states=[P.DELIVERED], set_sql=reset)
            move_prompts(conn, "run_id = :r AND delivery_error IS NOT NULL", params,
                         P.DELIVERING, f"new target: {target}", from_states=[P.FAILED],
                         set_sql=reset)

    def targets(self) -> list[DeliveryTarget]:
        with self.db.read() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.name, runs.c.delivery_kind,
                                       runs.c.delivery_target)
                                .where(runs.c.delivery_kind.is_not(None),
                                       runs.c.status == "ready")).all()
        return [DeliveryTarget(r.id, r.name, r.delivery_kind, r.delivery_target) for r in rows]

    def start(self, run_id: int) -> int:
        """Processed prompts of the run enter ``delivering`` (audited, in short chunks)."""
        return move_prompts_in_chunks(self.db, "run_id = :r", {"r": run_id}, P.DELIVERING,
                                      "delivery started", from_states=[P.PROCESSED],
                                      set_sql="deliver_after = NULL")

    def due(self, run_id: int, limit: int = 200) -> list[PendingDelivery]:
        with self.db.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, user_custom_id, state, endpoint, model, response, error, "
                "input_tokens, output_tokens, attempts, delivery_attempts FROM prompts "
                "WHERE run_id = ? AND state = 'delivering' AND (deliver_after IS NULL OR "
                "deliver_after <= ?) ORDER BY id LIMIT ?", (run_id, time.time(), limit)).all()
        return [PendingDelivery(*r) for r in rows]

    def count_delivering(self, run_id: int) -> int:
        with self.db.read() as conn:
            return int(conn.exec_driver_sql(
                "SELECT count(*) FROM prompts WHERE run_id = ? AND state = 'delivering'",
                (run_id,)).scalar() or 0)

    def delivered(self, prompt_ids: list[int], how: str) -> None:
        if prompt_ids:
            with self.db.write() as conn:
                move_prompt_rows(conn, [(pid,) for pid in prompt_ids], P.DELIVERING,
                                 P.DELIVERED, how, "deliver_after = NULL, delivery_error = NULL")

    def attempt_failed(self, prompt_id: int, error: str, retry_in: float | None) -> None:
        """A delivery attempt failed: try again after ``retry_in`` s, or give up (None)."""
        error = mask(error)  # a receiver's reply may quote anything
        with self.db.write() as conn:
            if retry_in is None:
                move_prompt_rows(conn, [(error, prompt_id)], P.DELIVERING, P.FAILED,
                                 f"delivery failed: {error}",
                                 "delivery_error = ?, error_kind = 'delivery_failed', "
                                 "delivery_attempts = delivery_attempts + 1")
            else:
                conn.exec_driver_sql(
                    "UPDATE prompts SET delivery_attempts = delivery_attempts + 1, "
                    "deliver_after = ?, delivery_error = ? WHERE id = ? AND state = 'delivering'",
                    (time.time() + retry_in, error, prompt_id))

    def redeliver(self, run_id: int, *, failed_only: bool) -> int:
        """Send results again: failed deliveries (and, unless failed_only, delivered ones)."""
        reset = ("delivery_error = NULL, delivery_attempts = 0, deliver_after = NULL, "
                 "error_kind = NULL")
        with self.db.write() as conn:
            moved = move_prompts(conn, "run_id = :r AND delivery_error IS NOT NULL",
                                 {"r": run_id}, P.DELIVERING, "redeliver requested",
                                 from_states=[P.FAILED], set_sql=reset)
            if not failed_only:
                moved += move_prompts(conn, "run_id = :r", {"r": run_id}, P.DELIVERING,
                                      "redeliver requested", from_states=[P.DELIVERED],
                                      set_sql=reset)
                conn.execute(delete(delivery_files).where(delivery_files.c.run_id == run_id))
            return moved

    # -- folder targets: append-only files with a committed length -------------------------
    def folder_files(self, run_id: int, wanted: dict[str, str],
                     usable: Callable[[str], bool] = lambda _path: True,
                     ) -> dict[str, tuple[str, int]]:
        """kind -> (path, committed bytes) of a run's folder files, recording ``wanted`` paths
        for kinds not seen before, and instead of recorded paths that are not ``usable`` (a
        name too long to be made, as older Batchers recorded: nothing was ever written)."""
        with self.db.write() as conn:
            known = {r.kind: (r.path, r.committed_bytes) for r in conn.execute(
                select(delivery_files).where(delivery_files.c.run_id == run_id))}
            for kind, (path, _size) in list(known.items()):
                if not usable(path):
                    conn.execute(delete(delivery_files).where(
                        delivery_files.c.run_id == run_id, delivery_files.c.kind == kind))
                    del known[kind]
            for kind, path in wanted.items():
                if kind not in known:
                    conn.execute(insert(delivery_files).values(run_id=run_id, kind=kind,
                                                               path=path, committed_bytes=0))
                    known[kind] = (path, 0)
        return known

    def paths_in_use(self, folder_paths: Sequence[str], run_id: int) -> set[str]:
        """Which of these file paths another run already delivers to."""
        with self.db.read() as conn:
            return set(conn.scalars(select(delivery_files.c.path).where(
                delivery_files.c.path.in_(list(folder_paths)),
                delivery_files.c.run_id != run_id)))

    def delivering_page(self, run_id: int, after: int, limit: int) -> list[Any]:
        """Export rows (see EXPORT_COLUMNS) of results waiting for a folder, by id."""
        with self.db.read() as conn:
            return list(conn.exec_driver_sql(
                f"SELECT {', '.join(EXPORT_COLUMNS)} FROM prompts WHERE run_id = ? AND "
                "state = 'delivering' AND id > ? ORDER BY id LIMIT ?", (run_id, after, limit)))

    def appended(self, run_id: int, prompt_ids: list[int], sizes: dict[str, int],
                 how: str) -> None:
        """The results are on disk up to ``sizes``: mark them delivered in one transaction."""
        with self.db.write() as conn:
            move_prompt_rows(conn, [(pid,) for pid in prompt_ids], P.DELIVERING, P.DELIVERED,
                             how, "deliver_after = NULL, delivery_error = NULL")
            for kind, size in sizes.items():
                conn.execute(update(delivery_files).where(
                    delivery_files.c.run_id == run_id, delivery_files.c.kind == kind)
                    .values(committed_bytes=size))

    def restart_files(self, run_id: int) -> None:
        """The delivered files are gone or were changed: write them again from the start."""
        with self.db.write() as conn:
            conn.execute(update(delivery_files).where(delivery_files.c.run_id == run_id)
                         .values(committed_bytes=0))
            move_prompts(conn, "run_id = :r", {"r": run_id}, P.DELIVERING,
                         "results file missing: writing it again", from_states=[P.DELIVERED])


def prompt_payload(item: PendingDelivery, run_name: str) -> dict[str, Any]:
    """What a webhook receives for one result (without the response body, added by caller)."""
    return {
        "run": run_name,
        "custom_id": item.user_custom_id,
        "endpoint": item.endpoint,
        "model": item.model,
        "usage": {"input_tokens": item.input_tokens, "output_tokens": item.output_tokens},
        "attempts": item.attempts,
    }
