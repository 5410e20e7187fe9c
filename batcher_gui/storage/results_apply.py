"""Applying a batch's output and error files to its prompts, a chunk per transaction.

Idempotent: only prompts still ``processing`` in this batch are touched, so applying the same
files again after a crash skips what the first attempt committed and finishes the rest; the
batch itself moves on only in the last transaction. Lines that do not parse, name an unknown
custom_id or repeat one are counted and skipped, never fatal.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from batcher_gui.domain.models import prompt_id_from_custom_id
from batcher_gui.domain.results import Outcome, classify_line, finish_reason
from batcher_gui.domain.secrecy import mask_optional
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.domain.usage import cache_tokens
from batcher_gui.storage.db import Database
from batcher_gui.storage.moves import (
    WriteRunner,
    move_batch,
    move_prompt_rows,
    move_prompts_in_chunks,
    require_batch_state,
    run_here,
)

P = PromptState
_SUCCESS, _RETRY, _NOT_RUN = Outcome.SUCCESS, Outcome.RETRY, Outcome.NOT_RUN
#: Results per write transaction (a few tens of ms each), and the span of prompt ids a
#: transaction covers: results are written grouped by id, not in file order.
_CHUNK = 2000
#: Results held before they are written, at most (rows and response bytes). Providers that
#: write results in no order (Anthropic) would otherwise make every transaction touch
#: pages all over the table, each page written again by the next one; held and written by
#: id range, each page is written about once. Results in order fill one id range at a time
#: and are written as soon as it is full, as before.
_HOLD_ROWS = 100_000
_HOLD_BYTES = 64 * 1024 * 1024
#: Lines parsed between two moments the parsing thread lets go of the interpreter. Its own
#: switching (1 ms turns, app.process.settle) is not enough: between two writes the parser
#: runs pure Python for seconds and, on a busy machine, takes the interpreter back before the
#: window's loop gets it (stalls of 200-500 ms measured by bench/results.py --anthropic; 10 ms
#: with this).
_YIELD_EVERY = 256
# finish_reason and error_kind are what the facets count: written with the result, from the
# body parsed once here (no second pass over the answers). A new answer (or error) is checked
# again, under whatever rules its run has then.
_UNCHECK = ", check_state = NULL, check_detail = NULL, check_revision = NULL"
_SUCCESS_SET = ("response = ?, error = NULL, error_kind = NULL, input_tokens = ?, "
                "output_tokens = ?, finish_reason = ?" + _UNCHECK)
_FAILED_SET = "response = ?, error = ?, error_kind = ?, finish_reason = ?" + _UNCHECK
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
    #: Input tokens its successful results read from / wrote to the prompt cache (every line
    #: of the files, also those applied by an earlier, interrupted pass).
    cached_input: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0  # of cache_write, kept for an hour
    #: Input and output tokens of its successful results (only those are billed): the
    #: batch's usage when the provider reports none of its own (Anthropic's batches).
    input_tokens: int = 0
    output_tokens: int = 0


class _Applier:
    def __init__(self, db: Database, batch_id: int, max_attempts: int,
                 write: WriteRunner) -> None:
        self.db = db
        self.write = write
        self.max_attempts = max_attempts
        with db.read() as conn:
            #: Sends since the user last retried (the attempt limit counts these), of the
            #: prompts still waiting for their result (each leaves once it has one).
            self.attempts: dict[int, int] = {pid: n for pid, n in conn.exec_driver_sql(
                "SELECT id, attempts - attempt_base FROM prompts WHERE batch_id = ? "
                "AND state = 'processing'", (batch_id,))}
            #: The provider reported no usage for the batch (Anthropic's never do): the
            #: results' own sums stand for it.
            self.usage_unknown = conn.exec_driver_sql(
                "SELECT input_tokens IS NULL AND output_tokens IS NULL FROM batches "
                "WHERE id = ?", (batch_id,)).scalar() == 1
        #: id range (prompt id // _CHUNK) -> its results not yet written
        self.ranges: dict[int, _Rows] = {}
        self.held_rows = self.held_bytes = 0
        self.summary = ApplySummary()

    def feed(self, raw: bytes) -> None:
        raw = raw.strip()
        if not raw:
            return
        try:
            result = classify_line(orjson.loads(raw))
        except orjson.JSONDecodeError:
            result = None
        if result is not None and result.outcome is _SUCCESS:  # parsed already: a few lookups
            cache = cache_tokens(result.body)
            summary = self.summary
            summary.cached_input += cache.read
            summary.cache_write += cache.written
            summary.cache_write_1h += cache.written_1h
            summary.input_tokens += result.input_tokens or 0
            summary.output_tokens += result.output_tokens or 0
        pid = prompt_id_from_custom_id(result.custom_id) if result else None
        attempts = self.attempts.get(pid) if pid is not None else None
        if result is None or pid is None or attempts is None:
            self.summary.skipped_lines += 1
            return
        outcome = result.outcome
        if outcome is _NOT_RUN:
            self.summary.not_run += 1  # stays open: handled with the missing ones
            return
        # Gone as it is answered: freeing 100,000 entries at once at the end would hold the
        # interpreter (and the window's loop) for tens of ms.
        del self.attempts[pid]
        # Copied to its exact size: orjson (3.12+) leaves each result in a buffer of 4 KB or
        # more, and up to _HOLD_ROWS of them wait to be written.
        body = bytes(memoryview(orjson.dumps(result.body))) if result.body is not None else None
        key = pid // _CHUNK
        rows = self.ranges.get(key)
        if rows is None:
            rows = self.ranges[key] = _Rows()
        if outcome is _SUCCESS:
            rows.success.append((body, result.input_tokens, result.output_tokens,
                                 finish_reason(result.body), pid))
        else:
            error = mask_optional(result.error)  # the provider's words: masked for API keys
            if outcome is _RETRY and attempts < self.max_attempts:
                rows.retry.append((error, pid))
            elif outcome is _RETRY:
                rows.failed.append((body, f"{error} (gave up after {attempts} attempts)",
                                    result.error_kind, finish_reason(result.body), pid))
            else:
                rows.failed.append((body, error, result.error_kind, finish_reason(result.body),
                                    pid))
        self.held_rows += 1
        self.held_bytes += len(body) if body is not None else 0
        if len(rows) >= _CHUNK:  # its id range is complete: written now
            del self.ranges[key]
            self.held_rows -= len(rows)
            self.held_bytes -= rows.size()
            self.write(functools.partial(self.commit, rows))
        elif self.held_rows >= _HOLD_ROWS or self.held_bytes >= _HOLD_BYTES:
            self.write_all()

    def write_all(self) -> None:
        """Everything held, by id range, in transactions of about _CHUNK results (each let go
        once written: freeing them all at once would hold the interpreter)."""
        together = _Rows()
        for key in sorted(self.ranges):
            together.extend(self.ranges.pop(key))
            if len(together) >= _CHUNK:
                self.write(functools.partial(self.commit, together))
                together = _Rows()
        if len(together):
            self.write(functools.partial(self.commit, together))
        self.held_rows = self.held_bytes = 0

    def commit(self, rows: _Rows) -> None:
        with self.db.write() as conn:
            self.flush(conn, rows)

    def flush(self, conn: Connection, rows: _Rows) -> None:
        if rows.success:
            move_prompt_rows(conn, rows.success, P.PROCESSING, P.PROCESSED,
                             "result received", _SUCCESS_SET)
            self.summary.processed += len(rows.success)
        if rows.failed:
            move_prompt_rows(conn, rows.failed, P.PROCESSING, P.FAILED,
                             "provider returned an error", _FAILED_SET)
            self.summary.failed += len(rows.failed)
        if rows.retry:
            move_prompt_rows(conn, rows.retry, P.PROCESSING, P.PENDING,
                             "transient provider error: will retry in a new batch", _RETRY_SET)
            self.summary.retried += len(rows.retry)


@dataclass(slots=True)
class _Rows:
    """Results of one id range waiting to be written, by what they do to their prompt."""

    success: list[tuple[Any, ...]] = field(default_factory=list)
    failed: list[tuple[Any, ...]] = field(default_factory=list)
    retry: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.success) + len(self.failed) + len(self.retry)

    def size(self) -> int:
        """Bytes of the responses held."""
        return sum(len(r[0]) for r in self.success if r[0] is not None) \
            + sum(len(r[0]) for r in self.failed if r[0] is not None)

    def extend(self, other: _Rows) -> None:
        self.success.extend(other.success)
        self.failed.extend(other.failed)
        self.retry.extend(other.retry)


def _settle_leftovers(db: Database, batch_id: int, src: BatchState, final: BatchState,
                      max_attempts: int, write: WriteRunner) -> dict[str, int]:
    """Prompts the files said nothing about (or that were not run), while the batch is still
    in ``src``."""
    where = "batch_id = :b"
    params: dict[str, Any] = {"b": batch_id, "max": max_attempts}
    guard = (batch_id, src)
    if final is BatchState.CANCELLED:
        n = move_prompts_in_chunks(db, where, params, P.CANCELLED,
                                   "batch cancelled before it ran", from_states=[P.PROCESSING],
                                   set_sql="error_kind = 'cancelled'", write=write,
                                   while_batch=guard)
        return {"cancelled": n} if n else {}
    label = "batch expired" if final is BatchState.EXPIRED else "no result returned"
    requeued = move_prompts_in_chunks(
        db, f"{where} AND attempts - attempt_base < :max", params, P.PENDING,
        f"{label}: will retry in a new batch", from_states=[P.PROCESSING],
        set_sql="batch_id = NULL", write=write, while_batch=guard)
    give_up = P.EXPIRED if final is BatchState.EXPIRED else P.FAILED
    params["e"] = f"{label} (gave up after {max_attempts} attempts)"
    params["k"] = "expired" if final is BatchState.EXPIRED else "no_result"
    ended = move_prompts_in_chunks(db, where, params, give_up, params["e"],
                                   from_states=[P.PROCESSING], set_sql="error = :e, "
                                   "error_kind = :k", write=write, while_batch=guard)
    out = {}
    if requeued:
        out["requeued"] = requeued
    if ended:
        out[give_up.value] = ended
    return out


def apply_and_finish(
    db: Database,
    batch_id: int,
    files: Iterable[Path],
    final: BatchState,
    max_attempts: int,
    *,
    write: WriteRunner = run_here,
    **batch_fields: Any,
) -> ApplySummary:
    """Apply ``files`` to the batch's prompts and move the batch from downloading to ``final``.

    Results are committed a chunk at a time (each through ``write``: parse here, write in the
    caller's writer thread); the batch moves in the last transaction, so a crash half-way
    leaves it ``downloading``, and applying again completes it.
    """
    require_batch_state(db, batch_id, BatchState.DOWNLOADING)
    applier = _Applier(db, batch_id, max_attempts, write)
    for path in files:
        with path.open("rb") as fh:
            for n, raw in enumerate(fh):
                applier.feed(raw)
                if not n % _YIELD_EVERY:
                    time.sleep(0)  # see _YIELD_EVERY
    applier.write_all()
    summary = applier.summary
    if batch_fields.get("input_tokens") is None and batch_fields.get("output_tokens") is None \
            and applier.usage_unknown:
        batch_fields = {**batch_fields, "input_tokens": summary.input_tokens,
                        "output_tokens": summary.output_tokens}
    summary.leftover = _settle_leftovers(db, batch_id, BatchState.DOWNLOADING, final,
                                         max_attempts, write)
    _end_batch(db, batch_id, BatchState.DOWNLOADING, final,
               f"results applied: {summary.processed} ok, {summary.failed} failed, "
               f"{summary.retried} to retry", write,
               {**batch_fields, "cached_input_tokens": summary.cached_input,
                "cache_write_tokens": summary.cache_write,
                "cache_write_1h_tokens": summary.cache_write_1h})
    return summary


def finish_without_files(db: Database, batch_id: int, src: BatchState, final: BatchState,
                         max_attempts: int, reason: str, *, write: WriteRunner = run_here,
                         **batch_fields: Any) -> dict[str, int]:
    """An expired/cancelled batch with no output at all: settle its prompts and end it."""
    leftover = _settle_leftovers(db, batch_id, src, final, max_attempts, write)
    _end_batch(db, batch_id, src, final, reason, write, batch_fields)
    return leftover


def _end_batch(db: Database, batch_id: int, src: BatchState, final: BatchState, reason: str,
               write: WriteRunner, fields: dict[str, Any]) -> None:
    def end() -> None:
        with db.write() as conn:
            move_batch(conn, batch_id, src, final, reason, **fields)

    write(end)
