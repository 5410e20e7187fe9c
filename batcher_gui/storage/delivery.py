"""Delivery bookkeeping: which results go where, and what happened to each attempt.

A run may have a delivery target (a results folder or a webhook). Its processed prompts move to
``delivering``, then to ``delivered`` once the target has them; a webhook failure keeps them in
``delivering`` with a later ``deliver_after`` until attempts run out (then ``failed``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.states import PromptState
from batcher_gui.storage.prompt_moves import move_prompt_rows, move_prompts
from batcher_gui.storage.store import Store
from batcher_gui.storage.tables import runs

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

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def set_target(self, run_id: int, kind: str | None, target: str | None) -> None:
        if kind is not None and kind not in DELIVERY_KINDS:
            raise BatcherError(f"delivery kind must be one of {', '.join(DELIVERY_KINDS)}")
        with self.db.write() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                delivery_kind=kind, delivery_target=target))

    def targets(self) -> list[DeliveryTarget]:
        with self.db.read() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.name, runs.c.delivery_kind,
                                       runs.c.delivery_target)
                                .where(runs.c.delivery_kind.is_not(None))).all()
        return [DeliveryTarget(r.id, r.name, r.delivery_kind, r.delivery_target) for r in rows]

    def start(self, run_id: int) -> int:
        """Processed prompts of the run enter ``delivering`` (one bulk, audited move)."""
        with self.db.write() as conn:
            return move_prompts(conn, "run_id = :r", {"r": run_id}, P.DELIVERING,
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
                                 P.DELIVERED, how, "deliver_after = NULL")

    def all_delivering_delivered(self, run_id: int, how: str) -> int:
        with self.db.write() as conn:
            return move_prompts(conn, "run_id = :r", {"r": run_id}, P.DELIVERED, how,
                                from_states=[P.DELIVERING])

    def attempt_failed(self, prompt_id: int, error: str, retry_in: float | None) -> None:
        """A delivery attempt failed: try again after ``retry_in`` s, or give up (None)."""
        with self.db.write() as conn:
            if retry_in is None:
                move_prompt_rows(conn, [(f"delivery failed: {error}", prompt_id)], P.DELIVERING,
                                 P.FAILED, f"delivery failed: {error}",
                                 "error = ?, delivery_attempts = delivery_attempts + 1")
            else:
                conn.exec_driver_sql(
                    "UPDATE prompts SET delivery_attempts = delivery_attempts + 1, "
                    "deliver_after = ? WHERE id = ? AND state = 'delivering'",
                    (time.time() + retry_in, prompt_id))

    def redeliver(self, run_id: int, *, failed_only: bool) -> int:
        """Send results again: failed deliveries (and, unless failed_only, delivered ones)."""
        with self.db.write() as conn:
            moved = move_prompts(
                conn, "run_id = :r AND response IS NOT NULL AND error LIKE 'delivery failed%'",
                {"r": run_id}, P.DELIVERING, "redeliver requested", from_states=[P.FAILED],
                set_sql="error = NULL, delivery_attempts = 0, deliver_after = NULL")
            if not failed_only:
                moved += move_prompts(conn, "run_id = :r", {"r": run_id}, P.DELIVERING,
                                      "redeliver requested", from_states=[P.DELIVERED],
                                      set_sql="delivery_attempts = 0, deliver_after = NULL")
            return moved


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
