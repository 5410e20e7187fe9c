"""On-disk state of the Anthropic face, beside the OpenAI face's, under ``state_dir/anthropic``::

    batches/<id>.json    {"batch": <MessageBatch>, "seq": n, "sb": <private lifecycle state>}
    requests/<id>.json   the create body as received ({"requests": [...]})
    plans/<id>.json      processing order + one outcome letter per request, fixed at create
    results/<id>.jsonl   the results file, written once the batch has ended
    counters.json        next sequence number, requests that already had their transient error

Writes go through a temp file and ``os.replace`` (a killed server never leaves half a record);
folders are 0700 and files 0600, as in the OpenAI face's store.
"""

from __future__ import annotations

import logging
import secrets
import string
from pathlib import Path
from typing import Any

import orjson

from batcher_gui.paths import make_private

from .store import _TMP_PREFIX, Record, _make_private_dir, write_atomic

log = logging.getLogger(__name__)

ID_PREFIX = "msgbatch_01"
_SEQ_HEX = 8
_ALPHABET = string.ascii_letters + string.digits


class AnthropicStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.batches_dir = root / "batches"
        self.requests_dir = root / "requests"
        self.plans_dir = root / "plans"
        self.results_dir = root / "results"
        self._dirs = (self.batches_dir, self.requests_dir, self.plans_dir, self.results_dir)
        for directory in (root, *self._dirs):
            _make_private_dir(directory)
        self.batches: dict[str, Record] = {}
        self.next_seq = 1
        self.transient_seen: set[str] = set()
        self._load()

    def _load(self) -> None:
        for directory in self._dirs:
            for leftover in directory.glob(f"{_TMP_PREFIX}*"):
                leftover.unlink(missing_ok=True)  # an interrupted write; the old file stands
            for path in directory.iterdir():
                make_private(path)
        counters = self.root / "counters.json"
        make_private(counters)
        for path in self.batches_dir.glob("*.json"):
            try:
                record = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                log.warning("sandbox: skipping unreadable record %s", path)
                continue
            if isinstance(record, dict):
                self.batches[path.stem] = record
        if counters.exists():
            saved = orjson.loads(counters.read_bytes())
            self.next_seq = int(saved.get("next_seq", 1))
            self.transient_seen = set(saved.get("transient_seen", []))
        self.next_seq = max([self.next_seq, *(r["seq"] + 1 for r in self.batches.values())])

    def save_counters(self) -> None:
        payload = {"next_seq": self.next_seq, "transient_seen": sorted(self.transient_seen)}
        write_atomic(self.root / "counters.json", orjson.dumps(payload))

    def new_id(self) -> tuple[str, int]:
        seq = self.next_seq
        self.next_seq += 1
        self.save_counters()
        tail = "".join(secrets.choice(_ALPHABET) for _ in range(14))
        return f"{ID_PREFIX}{seq:0{_SEQ_HEX}x}{tail}", seq

    @staticmethod
    def seq_of(batch_id: str) -> int | None:
        if not batch_id.startswith(ID_PREFIX):
            return None
        try:
            return int(batch_id[len(ID_PREFIX) : len(ID_PREFIX) + _SEQ_HEX], 16)
        except ValueError:
            return None

    def save_batch(self, record: Record) -> None:
        batch_id = record["batch"]["id"]
        self.batches[batch_id] = record
        write_atomic(self.batches_dir / f"{batch_id}.json", orjson.dumps(record))

    def newest_first(self) -> list[Record]:
        return sorted(self.batches.values(), key=lambda r: r["seq"], reverse=True)

    def save_requests(self, batch_id: str, raw: bytes) -> None:
        write_atomic(self.requests_dir / f"{batch_id}.json", raw)

    def load_requests(self, batch_id: str) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = orjson.loads(
            (self.requests_dir / f"{batch_id}.json").read_bytes())["requests"]
        return requests

    def save_plan(self, batch_id: str, plan: Record) -> None:
        write_atomic(self.plans_dir / f"{batch_id}.json", orjson.dumps(plan))

    def load_plan(self, batch_id: str) -> Record:
        plan: Record = orjson.loads((self.plans_dir / f"{batch_id}.json").read_bytes())
        return plan

    def results_path(self, batch_id: str) -> Path:
        return self.results_dir / f"{batch_id}.jsonl"

    def save_results(self, batch_id: str, lines: list[bytes]) -> None:
        write_atomic(self.results_path(batch_id), b"".join(lines))

    def forget_inputs(self, batch_id: str) -> None:
        """An ended batch needs neither its requests nor its plan again."""
        (self.requests_dir / f"{batch_id}.json").unlink(missing_ok=True)
        (self.plans_dir / f"{batch_id}.json").unlink(missing_ok=True)

    def drop_results(self, batch_id: str) -> None:
        self.results_path(batch_id).unlink(missing_ok=True)

    def delete(self, batch_id: str) -> None:
        self.batches.pop(batch_id, None)
        (self.batches_dir / f"{batch_id}.json").unlink(missing_ok=True)
        self.forget_inputs(batch_id)
        self.drop_results(batch_id)
