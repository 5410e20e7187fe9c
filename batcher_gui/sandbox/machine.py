"""The batch state machine.

validating -> in_progress (progress_steps steps, request_counts grow) -> finalizing ->
completed; validation problems -> failed; outcome "expire" -> expired; a cancel (or
outcome "cancel_partial") -> cancelling (cancel_steps steps) -> cancelled.

A *step* is one transition (or one progress increment). Steps are applied lazily when a
batch is read: `steps_per_poll` per read, plus one per `step_seconds` of wall time since
the last step (timestamps of time-driven steps are the virtual step times, so a batch
read after a long pause shows plausible *_at values). All methods are synchronous and
must be called with the server's state lock held; heavy ones run in a worker thread.

Per-request outcomes are fixed at validation in a *plan* (processing order + one letter
per request) so that counts, partial outputs and restarts all agree.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import random
import shutil
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson

from . import responder
from .config import BatchKnobs, SandboxConfig, knobs_for
from .store import Record, Store, open_private
from .validation import Task, injected_failure, parse_file, token_limit_error

TERMINAL: Final = frozenset({"completed", "failed", "expired", "cancelled"})
WINDOW_SECONDS: Final = 24 * 3600
DEFAULT_FILE_TTL: Final = 30 * 24 * 3600
EXPIRED_MESSAGE: Final = "This request could not be executed before the completion window expired."
CANCELLED_MESSAGE: Final = "This request was not executed because the batch was cancelled."
FAIL_MESSAGE: Final = "Invalid request: the request body contains the sandbox trigger '#fail'."
RATE_MESSAGE: Final = "Invalid request: rejected by the sandbox's request_error_rate knob."
_PARSED_CACHE: Final = 1  # parsed inputs kept between validation and output (~50 MB each)
# Plan letters: s = success, f = "#fail" 400, r = error-rate 400, x = 500 server_error.
_OK, _FAIL, _RATE, _SERVER = "s", "f", "r", "x"


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building 50,000 small dicts.

    Those allocations trigger repeated full collections over a growing heap, which cost
    a third of the time of a big batch; nothing built here forms reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def zero_usage() -> dict[str, Any]:
    return {
        "input_tokens": 0,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 0,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 0,
    }


class _LineSink:
    """An output file written line by line to a temp file in the store (opened lazily)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._path: Path | None = None
        self._fh: BinaryIO | None = None
        self.count = 0

    def write(self, line: bytes) -> None:
        if self._fh is None:
            self._path = self._store.temp_path()
            self._fh = open_private(self._path, buffering=1 << 20)
        self._fh.write(line)
        self.count += 1

    def finish(self) -> Path:
        assert self._fh is not None and self._path is not None
        self._fh.close()
        self._fh = None
        return self._path

    def discard(self) -> None:
        """Close and delete the temp file (a no-op once add_file has moved it)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)


class BatchMachine:
    def __init__(self, store: Store, config: Callable[[], SandboxConfig]) -> None:
        self.store = store
        self._config = config
        # Parsing twice is the dominant cost of a 50,000-line batch; keep recent parses.
        self._parsed: OrderedDict[str, list[Task]] = OrderedDict()

    def knobs(self, record: Record) -> BatchKnobs:
        return knobs_for(self._config(), record["sb"]["overrides"])

    # ------------------------------------------------------------------ entry points
    def create(
        self,
        *,
        input_file_id: str,
        endpoint: str,
        metadata: dict[str, str] | None,
        output_expires_after: dict[str, Any] | None,
        overrides: dict[str, object],
        now: float,
    ) -> Record:
        batch_id, seq = self.store.new_id("batch_", 24)
        created = int(now)
        batch: dict[str, Any] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": endpoint,
            "model": None,
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created,
            "in_progress_at": None,
            "expires_at": created + WINDOW_SECONDS,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": zero_usage(),
            "metadata": metadata,
        }
        private = {
            "overrides": overrides,
            "clock": now,  # time of the last step; step_seconds counts from here
            "phase_steps": 0,
            "done": 0,
            "cancel_left": 0,
            "output_ttl": (output_expires_after or {}).get("seconds", DEFAULT_FILE_TTL),
        }
        record: Record = {"batch": batch, "seq": seq, "sb": private}
        if self.knobs(record).instant:
            while batch["status"] not in TERMINAL:
                self._step(record, now)
        self.store.save_batch(record)
        return record

    def observe(self, record: Record, now: float, polls: int) -> None:
        """Apply the steps that elapsed time and `polls` reads are owed, then persist."""
        batch, private = record["batch"], record["sb"]
        if batch["status"] in TERMINAL:
            return
        knobs = self.knobs(record)
        changed = False
        if now >= batch["expires_at"]:
            # The real 24 h window: whatever is unfinished by then expires.
            self._finish(record, batch["expires_at"], "expired")
            changed = True
        if knobs.step_seconds > 0:
            while batch["status"] not in TERMINAL and now - private["clock"] >= knobs.step_seconds:
                self._step(record, private["clock"] + knobs.step_seconds)
                changed = True
        for _ in range(polls * knobs.steps_per_poll):
            if batch["status"] in TERMINAL:
                break
            self._step(record, now)
            changed = True
        if changed:
            self.store.save_batch(record)

    def cancel(self, record: Record, now: float) -> bool:
        """Start cancelling; False when the batch is already terminal (caller answers 400)."""
        status = record["batch"]["status"]
        if status in TERMINAL:
            return False
        if status != "cancelling":
            self._begin_cancel(record, now)
            record["sb"]["clock"] = now  # `cancelling` lasts full steps from the cancel call
            self.store.save_batch(record)
        return True

    # ------------------------------------------------------------------ transitions
    def _step(self, record: Record, at: float) -> None:
        batch, private = record["batch"], record["sb"]
        status = batch["status"]
        if status == "validating":
            with gc_paused():
                self._validate(record, at)
        elif status == "in_progress":
            self._progress(record, at)
        elif status == "finalizing":
            self._finish(record, at, "completed")
        elif status == "cancelling":
            private["cancel_left"] -= 1
            if private["cancel_left"] <= 0:
                self._finish(record, at, "cancelled")
        private["clock"] = at

    def _fail(self, record: Record, at: float, errors: list[dict[str, Any]]) -> None:
        batch = record["batch"]
        batch.update(status="failed", failed_at=int(at), errors={"object": "list", "data": errors})

    def _validate(self, record: Record, at: float) -> None:
        batch, knobs = record["batch"], self.knobs(record)
        batch_id, endpoint = batch["id"], batch["endpoint"]
        if self.store.get_file(batch["input_file_id"], at) is None:
            message = "The input file was deleted or expired before the batch was validated."
            self._fail(
                record,
                at,
                [
                    {
                        "code": "invalid_file",
                        "line": None,
                        "message": message,
                        "param": "input_file_id",
                    }
                ],
            )
            return
        source = self.store.data_path(batch["input_file_id"])
        # The raw line is needed again only for content triggers and the error-rate hash.
        parsed = parse_file(source, endpoint, keep_raw=knobs.request_error_rate > 0)
        model = parsed.model or ("omni-moderation-latest" if "moderations" in endpoint else None)
        batch["model"] = model
        if parsed.errors:
            self._fail(record, at, parsed.errors)
            return
        config = self._config()
        if knobs.batch_failure is not None:
            error = injected_failure(
                knobs.batch_failure, model or "", config.organization, knobs.token_limit
            )
            self._fail(record, at, [error])
            return
        key = f"{endpoint}|{model}"
        hits = self.store.token_limit_hits.get(key, 0)
        if hits < knobs.token_limit_failures:
            self.store.token_limit_hits[key] = hits + 1
            self.store.save_counters()
            error = token_limit_error(model or "", config.organization, knobs.token_limit)
            self._fail(record, at, [error])
            return
        # Keep our own link to the input so deleting the file mid-run cannot break output.
        snapshot = self.store.plans_dir / f"{batch_id}.input"
        snapshot.unlink(missing_ok=True)
        try:
            os.link(source, snapshot)
        except OSError:
            with open(source, "rb") as src, open_private(snapshot) as dst:
                shutil.copyfileobj(src, dst)
        self.store.save_plan(batch_id, self._plan(record["seq"], parsed.tasks, knobs, config.seed))
        record["sb"]["planned"] = True
        self._parsed[batch_id] = parsed.tasks
        while len(self._parsed) > _PARSED_CACHE:
            self._parsed.popitem(last=False)
        counts = {"total": len(parsed.tasks), "completed": 0, "failed": 0}
        batch.update(status="in_progress", in_progress_at=int(at), request_counts=counts)

    def _plan(self, seq: int, tasks: list[Task], knobs: BatchKnobs, seed: int) -> Record:
        order = list(range(len(tasks)))
        # Seeded by (seed, creation number), not by the random id: reproducible runs.
        random.Random(f"{seed}:{seq}").shuffle(order)
        if len(order) > 1 and order == sorted(order):
            order.reverse()  # the output order must never look like the input order
        kinds: list[str] = []
        seen = self.store.server_error_seen
        seen_before = len(seen)
        for index in order:
            task = tasks[index]
            # Cheap substring test on the raw line first, then confirm inside the body.
            if b"#fail" in task.raw and b"#fail" in orjson.dumps(task.body):
                kinds.append(_FAIL)
            elif b"#server_error" in task.raw and b"#server_error" in orjson.dumps(task.body):
                # Transient by design: only the first attempt of this exact request fails.
                key = responder.digest(task.custom_id, orjson.dumps(task.body).decode())
                kinds.append(_OK if key in seen else _SERVER)
                seen.add(key)
            elif knobs.request_error_rate > 0 and self._hash_unit(seed, task) < (
                knobs.request_error_rate
            ):
                kinds.append(_RATE)
            else:
                kinds.append(_OK)
        if len(seen) != seen_before:
            self.store.save_counters()
        return {"order": order, "kinds": "".join(kinds)}

    @staticmethod
    def _hash_unit(seed: int, task: Task) -> float:
        return int(responder.digest(str(seed), task.raw.decode(), length=8), 16) / 2**32

    def _progress(self, record: Record, at: float) -> None:
        batch, private, knobs = record["batch"], record["sb"], self.knobs(record)
        total = batch["request_counts"]["total"]
        private["phase_steps"] += 1
        steps = private["phase_steps"]
        target = (
            total if knobs.outcome == "complete" else math.floor(total * knobs.partial_fraction)
        )
        private["done"] = min(target, math.ceil(total * steps / knobs.progress_steps))
        if steps >= knobs.progress_steps:
            private["done"] = target
            if knobs.outcome == "expire":
                self._finish(record, at, "expired")
                return
            if knobs.outcome == "cancel_partial":
                self._begin_cancel(record, at)
                return
            batch.update(status="finalizing", finalizing_at=int(at))
        self._count(record)

    def _count(self, record: Record) -> None:
        counts, done = record["batch"]["request_counts"], record["sb"]["done"]
        kinds = self.store.load_plan(record["batch"]["id"])["kinds"]
        completed = kinds.count(_OK, 0, done)
        counts.update(completed=completed, failed=done - completed)

    def _begin_cancel(self, record: Record, at: float) -> None:
        batch, private = record["batch"], record["sb"]
        batch.update(status="cancelling", cancelling_at=int(at))
        private["cancel_left"] = self.knobs(record).cancel_steps
        if private["cancel_left"] <= 0:
            self._finish(record, at, "cancelled")

    def _finish(self, record: Record, at: float, status: str) -> None:
        batch = record["batch"]
        if record["sb"].get("planned"):  # a batch cancelled while validating has no output
            with gc_paused():
                self._write_outputs(record, int(at), status)
        batch["status"] = status
        batch[f"{status}_at"] = int(at)
        self.store.drop_plan_cache(batch["id"])
        (self.store.plans_dir / f"{batch['id']}.input").unlink(missing_ok=True)

    # ------------------------------------------------------------------ outputs
    def _tasks(self, batch_id: str, endpoint: str) -> list[Task]:
        tasks = self._parsed.pop(batch_id, None)
        if tasks is None:  # e.g. after a restart: parse our snapshot of the input again
            snapshot = self.store.plans_dir / f"{batch_id}.input"
            tasks = parse_file(snapshot, endpoint, keep_raw=False).tasks
        return tasks

    def _write_outputs(self, record: Record, at: int, status: str) -> None:
        batch, private, knobs = record["batch"], record["sb"], self.knobs(record)
        batch_id, endpoint = batch["id"], batch["endpoint"]
        plan = self.store.load_plan(batch_id)
        tasks = self._tasks(batch_id, endpoint)
        done = private["done"] if status != "completed" else len(tasks)
        unexecuted: tuple[str, str] | None = None
        if status == "expired" and knobs.expired_error_lines:
            unexecuted = ("batch_expired", EXPIRED_MESSAGE)
        elif status == "cancelled" and knobs.cancelled_error_lines:
            unexecuted = ("batch_cancelled", CANCELLED_MESSAGE)
        # Lines go straight to disk: orjson (3.12+) returns each line in a buffer of 4 KB or
        # more that it never shrinks, so 50,000 lines held in a list cost ~200 MB.
        out, err = _LineSink(self.store), _LineSink(self.store)
        input_tokens = output_tokens = 0
        try:
            for position, (index, kind) in enumerate(
                zip(plan["order"], plan["kinds"], strict=True)
            ):
                if position >= done and unexecuted is None:
                    break
                task = tasks[index]
                custom_id = task.custom_id
                rid = responder.request_hash(batch_id, custom_id)
                if position >= done and unexecuted is not None:
                    err.write(responder.unexecuted_line(rid, custom_id, *unexecuted))
                elif kind == _OK:
                    answer = responder.answer(endpoint, task.body, at, rid)
                    input_tokens += answer.input_tokens
                    output_tokens += answer.output_tokens
                    out.write(responder.success_line(rid, custom_id, answer))
                elif kind == _SERVER:
                    err.write(responder.server_error_line(rid, custom_id))
                else:
                    message = FAIL_MESSAGE if kind == _FAIL else RATE_MESSAGE
                    err.write(responder.http_error_line(rid, custom_id, 400, message))
            del tasks
            expires_at = at + int(private["output_ttl"])
            files = ((out, "output_file_id", "output"), (err, "error_file_id", "error"))
            for sink, field, suffix in files:
                if sink.count:
                    public = self.store.add_file(
                        sink.finish(),
                        filename=f"{batch_id}_{suffix}.jsonl",
                        purpose="batch_output",
                        created_at=at,
                        expires_at=expires_at,
                    )
                    batch[field] = public["id"]
        finally:
            out.discard()
            err.discard()
        batch["request_counts"].update(completed=out.count, failed=err.count)
        usage = zero_usage()
        usage.update(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        batch["usage"] = usage
