"""Applying a batch's output and error files to its prompts, in one transaction.

Idempotent: only prompts still ``processing`` in this batch are touched, so applying the same
files twice (after a crash) changes nothing the second time. Lines that do not parse, name an
unknown custom_id or repeat one are counted and skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from batcher_gui.domain.models import prompt_id_from_custom_id
from batcher_gui.domain.results import Outcome, classify_line
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.storage.prompt_moves import move_prompt_rows, move_prompts
from batcher_gui.storage.store import Store

P = PromptState
_SUCCESS, _RETRY, _NOT_RUN = Outcome.SUCCESS, Outcome.RETRY, Outcome.NOT_RUN
_CHUNK = 5000
_SUCCESS_SET = "response = ?, error = NULL, input_tokens = ?, output_tokens = ?"
_FAILED_SET = "response = ?, error = ?"
_RETRY_SET = "error = ?, batch_id = NULL"


@dataclass(slots=True)
class ApplySummary:
    """What applying one batch's files did."""

    processed: int = 0
    failed: int = 0
    retried: int = 0
    not_run: int = 0
    skipped_lines: int = 0
    leftover: dict[str, int] = field(default_factory=dict)


class _Applier:
    def __init__(self, conn: Connection, batch_id: int, max_attempts: int) -> None:
        self.conn = conn
        self.max_attempts = max_attempts
        self.attempts: dict[int, int] = {pid: n for pid, n in conn.exec_driver_sql(
            "SELECT id, attempts FROM prompts WHERE batch_id = ? AND state = 'processing'",
            (batch_id,))}
        self.open = set(self.attempts)
        self.success: list[tuple[Any, ...]] = []
        self.failed: list[tuple[Any, ...]] = []
        self.retry: list[tuple[Any, ...]] = []
        self.summary = ApplySummary()

    def feed(self, raw: bytes) -> None:
        raw = raw.strip()
        if not raw:
            return
        try:
            result = classify_line(orjson.loads(raw))
        except orjson.JSONDecodeError:
            result = None
        pid = prompt_id_from_custom_id(result.custom_id) if result else None
        if result is None or pid is None or pid not in self.open:
            self.summary.skipped_lines += 1
            return
        outcome = result.outcome
        if outcome is _NOT_RUN:
            self.summary.not_run += 1  # stays open: handled with the missing ones
            return
        self.open.discard(pid)
        body = orjson.dumps(result.body) if result.body is not None else None
        if outcome is _SUCCESS:
            self.success.append((body, result.input_tokens, result.output_tokens, pid))
        elif outcome is _RETRY and self.attempts[pid] < self.max_attempts:
            self.retry.append((result.error, pid))
        elif outcome is _RETRY:
            self.failed.append((body, f"{result.error} (gave up after {self.attempts[pid]} "
                                      "attempts)", pid))
        else:
            self.failed.append((body, result.error, pid))
        if len(self.success) + len(self.failed) + len(self.retry) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.success:
            move_prompt_rows(self.conn, self.success, P.PROCESSING, P.PROCESSED,
                             "result received", _SUCCESS_SET)
            self.summary.processed += len(self.success)
            self.success.clear()
        if self.failed:
            move_prompt_rows(self.conn, self.failed, P.PROCESSING, P.FAILED,
                             "provider returned an error", _FAILED_SET)
            self.summary.failed += len(self.failed)
            self.failed.clear()
        if self.retry:
            move_prompt_rows(self.conn, self.retry, P.PROCESSING, P.PENDING,
                             "transient provider error: will retry in a new batch", _RETRY_SET)
            self.summary.retried += len(self.retry)
            self.retry.clear()


def _settle_leftovers(conn: Connection, batch_id: int, final: BatchState,
                      max_attempts: int) -> dict[str, int]:
    """Prompts the files said nothing about (or that were not run)."""
    where = "batch_id = :b"
    params: dict[str, Any] = {"b": batch_id, "max": max_attempts}
    if final is BatchState.CANCELLED:
        n = move_prompts(conn, where, params, P.CANCELLED, "batch cancelled before it ran",
                         from_states=[P.PROCESSING])
        return {"cancelled": n} if n else {}
    label = "batch expired" if final is BatchState.EXPIRED else "no result returned"
    requeued = move_prompts(conn, f"{where} AND attempts < :max", params, P.PENDING,
                            f"{label}: will retry in a new batch",
                            from_states=[P.PROCESSING], set_sql="batch_id = NULL")
    give_up = P.EXPIRED if final is BatchState.EXPIRED else P.FAILED
    params["e"] = f"{label} (gave up after {max_attempts} attempts)"
    ended = move_prompts(conn, where, params, give_up, params["e"],
                         from_states=[P.PROCESSING], set_sql="error = :e")
    out = {}
    if requeued:
        out["requeued"] = requeued
    if ended:
        out[give_up.value] = ended
    return out


def apply_and_finish(
    store: Store,
    batch_id: int,
    files: Iterable[Path],
    final: BatchState,
    max_attempts: int,
    **batch_fields: Any,
) -> ApplySummary:
    """Apply ``files`` to the batch's prompts and move the batch from downloading to ``final``.

    All in one write transaction: a crash leaves either nothing or everything applied.
    """
    with store.db.write() as conn:
        applier = _Applier(conn, batch_id, max_attempts)
        for path in files:
            with path.open("rb") as fh:
                for raw in fh:
                    applier.feed(raw)
        applier.flush()
        applier.summary.leftover = _settle_leftovers(conn, batch_id, final, max_attempts)
        store.set_batch_state(conn, batch_id, BatchState.DOWNLOADING, final,
                              f"results applied: {applier.summary.processed} ok, "
                              f"{applier.summary.failed} failed, "
                              f"{applier.summary.retried} to retry", **batch_fields)
        return applier.summary


def finish_without_files(store: Store, batch_id: int, src: BatchState, final: BatchState,
                         max_attempts: int, reason: str, **batch_fields: Any) -> dict[str, int]:
    """An expired/cancelled batch with no output at all: settle its prompts and end it."""
    with store.db.write() as conn:
        leftover = _settle_leftovers(conn, batch_id, final, max_attempts)
        store.set_batch_state(conn, batch_id, src, final, reason, **batch_fields)
        return leftover
