"""On-disk state of the sandbox: file bytes, file/batch metadata, counters.

Layout under ``state_dir``::

    files/<file_id>.data   raw bytes (immutable once written)
    files/<file_id>.json   {"file": <FileObject>, "seq": n}
    batches/<batch_id>.json {"batch": <Batch>, "seq": n, "sb": <private lifecycle state>}
    plans/<batch_id>.json  processing order + per-request outcome, fixed at validation
    counters.json          next sequence number, token-limit failures, seen #server_error

Every JSON write goes to a temp file and is `os.replace`d into place, so a crash (or a
test that kills the server) never leaves a half-written record. The in-memory dicts are
the source of truth while the server runs; callers serialise mutations with one lock.

The state holds the prompts sent and the answers: folders are 0700 and files 0600 (owner
only), created so and tightened when an older, looser state folder is opened.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from batcher_gui.paths import make_private, private_dir, private_opener

log = logging.getLogger(__name__)

Record = dict[str, Any]
_TMP_PREFIX = ".tmp-"
# Ids embed a sequence number so list cursors (`after=<id>`) keep working even when the
# cursor object was deleted meanwhile or the server restarted.
_SEQ_HEX = 8


def open_private(path: Path, buffering: int = -1) -> BinaryIO:
    """A new file for writing, readable by its owner only (never world-readable, even briefly)."""
    return open(path, "wb", buffering=buffering, opener=private_opener)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{_TMP_PREFIX}{secrets.token_hex(6)}-{path.name}")
    with open_private(tmp) as fh:
        fh.write(data)
    os.replace(tmp, path)


def _make_private_dir(directory: Path) -> None:
    private_dir(directory, parents=True)
    make_private(directory)  # one made by an older version


def _read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


class Store:
    """Files, batches and counters; one instance per server, loaded from `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files_dir = root / "files"
        self.batches_dir = root / "batches"
        self.plans_dir = root / "plans"
        for directory in (root, self.files_dir, self.batches_dir, self.plans_dir):
            _make_private_dir(directory)
        self.files: dict[str, Record] = {}
        self.batches: dict[str, Record] = {}
        self._plans: dict[str, Record] = {}
        self.next_seq = 1
        self.token_limit_hits: dict[str, int] = {}
        self.server_error_seen: set[str] = set()
        self._load()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        for directory in (self.files_dir, self.batches_dir, self.plans_dir):
            for leftover in directory.glob(f"{_TMP_PREFIX}*"):
                leftover.unlink(missing_ok=True)  # an interrupted write; the old file stands
            for path in directory.iterdir():
                make_private(path)
        make_private(self.root / "counters.json")
        for path in self.files_dir.glob("*.json"):
            record = self._load_record(path)
            if record is not None and self.data_path(path.stem).exists():
                self.files[path.stem] = record
        for path in self.files_dir.glob("*.data"):
            if path.stem not in self.files:
                path.unlink(missing_ok=True)  # bytes whose metadata never landed
        for path in self.batches_dir.glob("*.json"):
            record = self._load_record(path)
            if record is not None:
                self.batches[path.stem] = record
        counters_path = self.root / "counters.json"
        if counters_path.exists():
            counters = _read_json(counters_path)
            self.next_seq = int(counters.get("next_seq", 1))
            self.token_limit_hits = dict(counters.get("token_limit_hits", {}))
            self.server_error_seen = set(counters.get("server_error_seen", []))
        seqs = [r["seq"] for r in (*self.files.values(), *self.batches.values())]
        self.next_seq = max([self.next_seq, *(s + 1 for s in seqs)])

    @staticmethod
    def _load_record(path: Path) -> Record | None:
        try:
            record = _read_json(path)
        except (OSError, orjson.JSONDecodeError):
            log.warning("sandbox: skipping unreadable record %s", path)
            return None
        return record if isinstance(record, dict) else None

    def save_counters(self) -> None:
        payload = {
            "next_seq": self.next_seq,
            "token_limit_hits": self.token_limit_hits,
            "server_error_seen": sorted(self.server_error_seen),
        }
        write_atomic(self.root / "counters.json", orjson.dumps(payload))

    # ---------------------------------------------------------------------- ids
    def new_id(self, prefix: str, random_hex: int) -> tuple[str, int]:
        seq = self.next_seq
        self.next_seq += 1
        self.save_counters()
        return f"{prefix}{seq:0{_SEQ_HEX}x}{secrets.token_hex(random_hex // 2)}", seq

    @staticmethod
    def seq_of(object_id: str, prefix: str) -> int | None:
        if not object_id.startswith(prefix):
            return None
        try:
            return int(object_id[len(prefix) : len(prefix) + _SEQ_HEX], 16)
        except ValueError:
            return None

    # -------------------------------------------------------------------- files
    def data_path(self, file_id: str) -> Path:
        return self.files_dir / f"{file_id}.data"

    def temp_path(self) -> Path:
        return self.files_dir / f"{_TMP_PREFIX}{secrets.token_hex(8)}.upload"

    def add_file(
        self,
        source: Path,
        *,
        filename: str,
        purpose: str,
        created_at: int,
        expires_at: int | None,
    ) -> Record:
        """Move an already written temp file into the store and record its metadata."""
        file_id, seq = self.new_id("file-", 16)
        os.replace(source, self.data_path(file_id))
        public = {
            "id": file_id,
            "object": "file",
            "bytes": self.data_path(file_id).stat().st_size,
            "created_at": created_at,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": expires_at,
            "status_details": None,
        }
        record: Record = {"file": public, "seq": seq}
        write_atomic(self.files_dir / f"{file_id}.json", orjson.dumps(record))
        self.files[file_id] = record
        return public

    def add_file_lines(
        self,
        lines: list[bytes],
        *,
        filename: str,
        purpose: str,
        created_at: int,
        expires_at: int | None,
    ) -> Record:
        """Store newline-terminated lines (one join + write beats 50,000 small writes)."""
        tmp = self.temp_path()
        with open_private(tmp) as fh:
            fh.write(b"".join(lines))
        return self.add_file(
            tmp, filename=filename, purpose=purpose, created_at=created_at, expires_at=expires_at
        )

    def get_file(self, file_id: str, now: float) -> Record | None:
        """The public FileObject, or None when unknown or past its `expires_at`."""
        record = self.files.get(file_id)
        if record is None:
            return None
        expires_at = record["file"]["expires_at"]
        if expires_at is not None and now >= expires_at:
            return None
        public: Record = record["file"]
        return public

    def delete_file(self, file_id: str) -> None:
        self.files.pop(file_id, None)
        (self.files_dir / f"{file_id}.json").unlink(missing_ok=True)
        self.data_path(file_id).unlink(missing_ok=True)

    def live_files(self, now: float) -> list[tuple[int, Record]]:
        """(seq, FileObject) of all unexpired files, oldest first."""
        rows = [(r["seq"], r["file"]) for r in self.files.values()]
        rows = [(s, f) for s, f in rows if f["expires_at"] is None or now < f["expires_at"]]
        rows.sort(key=lambda row: row[0])
        return rows

    # ------------------------------------------------------------------ batches
    def save_batch(self, record: Record) -> None:
        batch_id = record["batch"]["id"]
        self.batches[batch_id] = record
        write_atomic(self.batches_dir / f"{batch_id}.json", orjson.dumps(record))

    def batches_newest_first(self) -> list[Record]:
        return sorted(self.batches.values(), key=lambda r: r["seq"], reverse=True)

    def save_plan(self, batch_id: str, plan: Record) -> None:
        write_atomic(self.plans_dir / f"{batch_id}.json", orjson.dumps(plan))
        self._plans[batch_id] = plan

    def load_plan(self, batch_id: str) -> Record:
        plan = self._plans.get(batch_id)
        if plan is None:
            plan = _read_json(self.plans_dir / f"{batch_id}.json")
            self._plans[batch_id] = plan
        return plan

    def drop_plan_cache(self, batch_id: str) -> None:
        # Terminal batches never read their plan again; keep memory flat on long runs.
        self._plans.pop(batch_id, None)
