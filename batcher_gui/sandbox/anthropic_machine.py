"""The Message Batch lifecycle: in_progress -> (canceling ->) ended, then archived.

Steps come as in the OpenAI face (``steps_per_poll`` per read, one per ``step_seconds`` of wall
time, ``instant``): ``progress_steps`` steps in ``in_progress`` and then the batch ends, all done
(``outcome`` "complete"), or with ``partial_fraction`` done and the rest ``expired`` ("expire")
or cancelled ("cancel_partial"). A cancel freezes what is done so far (the share of progress
steps taken) and ends the batch ``cancel_steps`` steps later with the rest ``canceled``. Until a
batch ends ``request_counts.processing`` is its size and every other count 0, like Anthropic's.

Per-request outcomes and the processing (= results) order are fixed at create in a plan. All
methods are synchronous and run with the server's state lock held.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from . import anthropic_responder as answers
from .anthropic_store import AnthropicStore
from .config import SandboxConfig
from .machine import gc_paused
from .responder import digest
from .store import Record

WINDOW_SECONDS: Final = 24 * 3600
# Plan letters: s = succeeded, f = "#fail", o = "#overloaded", a = "#api_error".
_OK, _FAIL, _OVERLOADED, _API_ERROR = "s", "f", "o", "a"
_LETTERS: Final = {answers.FAIL: _FAIL, answers.OVERLOADED: _OVERLOADED,
                   answers.API_ERROR: _API_ERROR}
_TRANSIENT: Final = frozenset({_OVERLOADED, _API_ERROR})


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def public(record: Record, origin: str) -> dict[str, Any]:
    """The MessageBatch as answered: ``results_url`` is absolute, on the address the client
    used (a restarted server may listen on another port)."""
    batch = dict(record["batch"])
    if batch["processing_status"] == "ended" and batch["archived_at"] is None:
        batch["results_url"] = f"{origin}/v1/messages/batches/{batch['id']}/results"
    return batch


class MessageBatchMachine:
    def __init__(self, store: AnthropicStore, config: Callable[[], SandboxConfig]) -> None:
        self.store = store
        self._config = config

    # ------------------------------------------------------------------ entry points
    def create(self, requests: list[dict[str, Any]], raw: bytes, now: float) -> Record:
        config = self._config()
        batch_id, seq = self.store.new_id()
        total = len(requests)
        batch = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {"processing": total, "succeeded": 0, "errored": 0,
                               "canceled": 0, "expired": 0},
            "created_at": rfc3339(now),
            "expires_at": rfc3339(now + WINDOW_SECONDS),
            "ended_at": None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": None,
        }
        private = {
            "created": now, "clock": now, "phase_steps": 0, "cancel_left": 0, "done": 0,
            "total": total,
            "not_found_left": {"retrieve": config.not_found_reads,
                               "results": config.not_found_reads},
        }
        self.store.save_requests(batch_id, raw)
        with gc_paused():
            plan = self._plan(seq, requests, config.seed)
        self.store.save_plan(batch_id, plan)
        record: Record = {"batch": batch, "seq": seq, "sb": private}
        if config.instant:
            while batch["processing_status"] != "ended":
                self._step(record, now)
        self.store.save_batch(record)
        return record

    def observe(self, record: Record, now: float, polls: int) -> None:
        """Apply the steps elapsed time and ``polls`` reads are owed, archive, persist."""
        batch, private, config = record["batch"], record["sb"], self._config()
        changed = False
        if batch["processing_status"] != "ended":
            if now >= private["created"] + WINDOW_SECONDS:
                # The real 24 h window: whatever is unfinished by then expires.
                self._end(record, private["created"] + WINDOW_SECONDS, self._done(record),
                          "expired")
                changed = True
            if config.step_seconds > 0:
                while (batch["processing_status"] != "ended"
                       and now - private["clock"] >= config.step_seconds):
                    self._step(record, private["clock"] + config.step_seconds)
                    changed = True
            for _ in range(polls * config.steps_per_poll):
                if batch["processing_status"] == "ended":
                    break
                self._step(record, now)
                changed = True
        archive_at = private["created"] + config.archive_after_seconds
        if batch["processing_status"] == "ended" and batch["archived_at"] is None and (
                now >= archive_at):
            batch["archived_at"] = rfc3339(max(archive_at, private["ended"]))
            self.store.drop_results(batch["id"])
            changed = True
        if changed:
            self.store.save_batch(record)

    def cancel(self, record: Record, now: float) -> bool:
        """Start canceling; False when the batch has already ended."""
        status = record["batch"]["processing_status"]
        if status == "ended":
            return False
        if status == "in_progress":
            self._begin_cancel(record, now, self._done(record))
            record["sb"]["clock"] = now
            self.store.save_batch(record)
        return True

    def processing(self) -> int:
        """Requests waiting in the queue across batches (what the queue limit counts)."""
        return sum(r["sb"]["total"] for r in self.store.batches.values()
                   if r["batch"]["processing_status"] != "ended")

    def take_not_found(self, record: Record, route: str) -> bool:
        """True while this fresh batch still answers ``route`` with 404 (then persisted)."""
        left = record["sb"]["not_found_left"]
        if left.get(route, 0) <= 0:
            return False
        left[route] -= 1
        self.store.save_batch(record)
        return True

    # ------------------------------------------------------------------ plan
    def _plan(self, seq: int, requests: list[dict[str, Any]], seed: int) -> Record:
        order = list(range(len(requests)))
        random.Random(f"anthropic:{seed}:{seq}").shuffle(order)
        if len(order) > 1 and order == sorted(order):
            order.reverse()  # results must never come in input order
        letters: list[str] = []
        writer = -1
        seen = self.store.transient_seen
        seen_before = len(seen)
        for index, request in enumerate(requests):
            counted = answers.count(request["params"])
            if writer < 0 and counted.cached > 0:
                writer = index  # the first request of the batch with a cached prefix writes
            letter = _LETTERS.get(answers.trigger(counted.text) or "", _OK)
            if letter in _TRANSIENT:
                # Transient by design: only the first attempt of this exact request fails.
                key = digest(request["custom_id"], orjson.dumps(request["params"]).decode())
                if key in seen:
                    letter = _OK
                seen.add(key)
            letters.append(letter)
        if len(seen) != seen_before:
            self.store.save_counters()
        return {"order": order, "letters": "".join(letters), "writer": writer}

    # ------------------------------------------------------------------ transitions
    def _done(self, record: Record) -> int:
        """Requests finished so far: the share of in_progress steps taken."""
        private = record["sb"]
        if record["batch"]["processing_status"] == "canceling":
            return int(private["done"])
        steps = self._config().progress_steps
        return min(private["total"], math.ceil(private["total"] * private["phase_steps"] / steps))

    def _step(self, record: Record, at: float) -> None:
        batch, private, config = record["batch"], record["sb"], self._config()
        status = batch["processing_status"]
        if status == "in_progress":
            private["phase_steps"] += 1
            if private["phase_steps"] >= config.progress_steps:
                partial = math.floor(private["total"] * config.partial_fraction)
                if config.outcome == "expire":
                    self._end(record, at, partial, "expired")
                elif config.outcome == "cancel_partial":
                    self._begin_cancel(record, at, partial)
                else:
                    self._end(record, at, private["total"], "expired")
        elif status == "canceling":
            private["cancel_left"] -= 1
            if private["cancel_left"] <= 0:
                self._end(record, at, private["done"], "canceled")
        private["clock"] = at

    def _begin_cancel(self, record: Record, at: float, done: int) -> None:
        batch, private = record["batch"], record["sb"]
        batch.update(processing_status="canceling", cancel_initiated_at=rfc3339(at))
        private["done"] = done
        private["cancel_left"] = self._config().cancel_steps
        if private["cancel_left"] <= 0:
            self._end(record, at, done, "canceled")

    def _end(self, record: Record, at: float, done: int, rest: str) -> None:
        """Write the results (``done`` requests ran, the rest are ``rest``) and end."""
        with gc_paused():  # 100,000 answers: no reference cycles, only GC passes to waste
            self._write_results(record, done, rest)
        record["batch"].update(processing_status="ended", ended_at=rfc3339(at))
        record["sb"]["ended"] = at

    def _write_results(self, record: Record, done: int, rest: str) -> None:
        batch = record["batch"]
        batch_id = batch["id"]
        requests = self.store.load_requests(batch_id)
        plan = self.store.load_plan(batch_id)
        letters, writer = plan["letters"], plan["writer"]
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        lines: list[bytes] = []
        for position, index in enumerate(plan["order"]):
            request = requests[index]
            custom_id = request["custom_id"]
            if position >= done:
                lines.append(answers.unfinished_line(custom_id, rest))
                counts[rest] += 1
                continue
            rid = answers.request_hash(batch_id, custom_id)
            letter = letters[index]
            if letter == _OK:
                counted = answers.count(request["params"])
                cache = None if counted.cached == 0 else "write" if index == writer else "read"
                message = answers.message(request["params"], counted, rid, cache)
                lines.append(answers.succeeded_line(custom_id, message))
                counts["succeeded"] += 1
                continue
            error_type, text = {
                _FAIL: ("invalid_request_error", answers.FAIL_MESSAGE),
                _OVERLOADED: ("overloaded_error", answers.OVERLOADED_MESSAGE),
                _API_ERROR: ("api_error", answers.API_ERROR_MESSAGE),
            }[letter]
            lines.append(answers.errored_line(custom_id, rid, error_type, text))
            counts["errored"] += 1
        self.store.save_results(batch_id, lines)
        self.store.forget_inputs(batch_id)
        batch["request_counts"] = counts
