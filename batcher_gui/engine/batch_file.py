"""The JSONL file a batch is uploaded as (the provider's wire format, written to disk)."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.models import Batch, provider_custom_id
from batcher_gui.paths import private_opener
from batcher_gui.storage.drafts import Drafts

#: Prompts read from the database per page while writing.
_PAGE = 5000


def batch_file_name(batch: Batch) -> str:
    """The file's name, locally and at the provider (uploads are found again by it)."""
    return f"batch-{batch.uuid}.jsonl"


def write_batch_file(drafts: Drafts, batch: Batch, folder: Path) -> tuple[Path, int]:
    """Write the batch's pending prompts as provider JSONL; returns (path, line count).

    Written to a temp name and renamed, so a crash never leaves a half file under the final
    name. Lines carry Batcher's own custom_ids (``p<prompt id>``); bodies are copied as stored.
    A Claude batch's lines are Message Batches requests (``{"custom_id", "params"}``), which its
    provider sends inline as they are.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / batch_file_name(batch)
    tmp = path.with_suffix(".jsonl.part")
    count = 0
    head = (b'"params":' if batch.endpoint == MESSAGES_ENDPOINT
            else b'"method":"POST","url":' + orjson.dumps(batch.endpoint) + b',"body":')
    # Owner-only whatever the umask: the prompts are the user's alone, like the workspace.
    with open(tmp, "wb", opener=private_opener) as fh:
        after = 0
        while rows := drafts.pending_bodies(batch.id, after, _PAGE):
            fh.write(b"".join(
                b'{"custom_id":"' + provider_custom_id(pid).encode() + b'",' + head + body
                + b"}\n" for pid, body in rows))
            count += len(rows)
            after = rows[-1][0]
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path, count


def remove_batch_file(batch: Batch, folder: Path) -> None:
    """Delete the local file once the batch has ended (and a ``.part`` a crash left)."""
    name = batch_file_name(batch)
    for leftover in (name, name + ".part"):
        (folder / leftover).unlink(missing_ok=True)


def request_count(batch: Batch, folder: Path) -> int | None:
    """Requests in the batch's file as written (None: there is no file)."""
    try:
        with open(folder / batch_file_name(batch), "rb") as fh:
            return sum(1 for line in fh if line.strip())
    except FileNotFoundError:
        return None
