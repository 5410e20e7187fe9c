"""Anthropic's face: ``/v1/messages/batches`` (create, retrieve, list, cancel, delete, results)
and ``/v1/messages/count_tokens``, for the unmodified ``anthropic.AsyncAnthropic`` client with
``base_url="http://127.0.0.1:PORT"`` (no ``/v1``: the SDK's paths carry it)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from . import anthropic_responder
from .anthropic_errors import AnthropicError, invalid_request, not_found, rate_limited
from .anthropic_machine import public
from .anthropic_store import AnthropicStore
from .anthropic_validation import check_count_tokens, check_create
from .errors import json_response
from .machine import gc_paused
from .state import SANDBOX_KEY, Sandbox
from .store import Record

_CHUNK = 1 << 20
JSON_MESSAGE = "The request body is not valid JSON."


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body, streamed past aiohttp's own size cap, refused past ``limit`` bytes (413)."""
    if request.content_length is not None and request.content_length > limit:
        raise AnthropicError(413, f"Request exceeds the maximum allowed size of {limit} bytes "
                                  "for a Message Batch.")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise AnthropicError(413, f"Request exceeds the maximum allowed size of {limit} "
                                      "bytes for a Message Batch.")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_request(JSON_MESSAGE) from None


def _origin(request: web.Request) -> str:
    return str(request.url.origin())


def _record(sandbox: Sandbox, batch_id: str) -> Record:
    record = sandbox.anthropic.batches.get(batch_id)
    if record is None:
        raise not_found(batch_id)
    return record


def _parse_and_check(raw: bytes, max_requests: int) -> list[dict[str, Any]]:
    with gc_paused():  # up to 100,000 small dicts and no cycles among them
        return check_create(_parse(raw), max_requests)


async def create(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    config = sandbox.config
    try:
        raw = await _read_body(request, config.max_message_batch_bytes)
        requests = await asyncio.to_thread(
            _parse_and_check, raw, config.max_message_batch_requests)
        async with sandbox.lock:
            now = sandbox.now()
            machine = sandbox.anthropic_machine

            def queued() -> int:
                for record in sandbox.anthropic.batches.values():
                    machine.observe(record, now, 0)  # time-driven steps may have freed room
                return machine.processing()

            waiting = await asyncio.to_thread(queued)
            limit = config.queue_limit
            if limit is not None and waiting + len(requests) > limit:
                raise rate_limited(
                    f"Number of batch requests in the processing queue would exceed your "
                    f"limit of {limit:,} ({waiting:,} processing, {len(requests):,} in this "
                    "batch). Please retry once some batches have ended.",
                    config.retry_after_ms / 1000)
            record = await asyncio.to_thread(machine.create, requests, raw, now)
            sandbox.anthropic_counts["batches_created"] += 1
            return json_response(public(record, _origin(request)))
    except AnthropicError:
        sandbox.anthropic_counts["creates_refused"] += 1
        raise


async def retrieve(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    async with sandbox.lock:
        record = _record(sandbox, request.match_info["batch_id"])
        if sandbox.anthropic_machine.take_not_found(record, "retrieve"):
            raise not_found(record["batch"]["id"])
        await asyncio.to_thread(sandbox.anthropic_machine.observe, record, sandbox.now(), 1)
        return json_response(public(record, _origin(request)))


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_request(f"{name}: Input should be a valid integer") from None
    if not low <= value <= high:
        raise invalid_request(f"{name}: Input should be between {low} and {high}")
    return value


def _cursor(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if not raw:
        return None
    seq = AnthropicStore.seq_of(raw)
    if seq is None:
        raise invalid_request(f"{name}: '{raw}' is not a valid Message Batch id")
    return seq


async def list_batches(request: web.Request) -> web.Response:
    """Newest first; ``after_id`` pages to older batches, ``before_id`` to newer ones."""
    sandbox = request.app[SANDBOX_KEY]
    limit = _int_query(request, "limit", 20, 1, 1000)
    after, before = _cursor(request, "after_id"), _cursor(request, "before_id")
    if after is not None and before is not None:
        raise invalid_request("after_id and before_id cannot both be given")
    async with sandbox.lock:
        records = sandbox.anthropic.newest_first()
        if before is not None:
            newer = [r for r in records if r["seq"] > before]
            page, has_more = newer[-limit:], len(newer) > limit
        else:
            older = [r for r in records if after is None or r["seq"] < after]
            page, has_more = older[:limit], len(older) > limit

        def observe_all(now: float) -> None:
            for record in page:
                sandbox.anthropic_machine.observe(record, now, 1)

        await asyncio.to_thread(observe_all, sandbox.now())
        data = [public(r, _origin(request)) for r in page]
    return json_response({
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    })


async def cancel(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    async with sandbox.lock:
        record = _record(sandbox, request.match_info["batch_id"])
        now = sandbox.now()
        machine = sandbox.anthropic_machine
        await asyncio.to_thread(machine.observe, record, now, 0)
        if not await asyncio.to_thread(machine.cancel, record, now):
            raise invalid_request(f"Message Batch {record['batch']['id']!r} has already ended "
                                  "and cannot be canceled.")
        return json_response(public(record, _origin(request)))


async def delete(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    async with sandbox.lock:
        record = _record(sandbox, request.match_info["batch_id"])
        await asyncio.to_thread(sandbox.anthropic_machine.observe, record, sandbox.now(), 0)
        batch_id = record["batch"]["id"]
        if record["batch"]["processing_status"] != "ended":
            raise invalid_request(
                f"Message Batch {batch_id!r} cannot be deleted while it is processing: cancel "
                "it and wait until processing_status is 'ended'.")
        await asyncio.to_thread(sandbox.anthropic.delete, batch_id)
        return json_response({"id": batch_id, "type": "message_batch_deleted"})


async def results(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[SANDBOX_KEY]
    async with sandbox.lock:
        record = _record(sandbox, request.match_info["batch_id"])
        machine = sandbox.anthropic_machine
        batch_id = record["batch"]["id"]
        if machine.take_not_found(record, "results"):
            raise not_found(batch_id)
        await asyncio.to_thread(machine.observe, record, sandbox.now(), 0)
        batch = record["batch"]
        if batch["archived_at"] is not None:
            raise AnthropicError(404, f"The results of Message Batch {batch_id!r} were archived "
                                      f"at {batch['archived_at']} and are no longer available.")
        if batch["processing_status"] != "ended":
            raise invalid_request(f"Message Batch {batch_id!r} has not ended yet; its results "
                                  "are available once processing_status is 'ended'.")
        path = sandbox.anthropic.results_path(batch_id)
    return web.FileResponse(path, headers={"Content-Type": "application/binary"})


async def count_tokens(request: web.Request) -> web.Response:
    body = check_count_tokens(_parse(await request.read()))
    counted = await asyncio.to_thread(anthropic_responder.count, body)
    return json_response({"input_tokens": counted.tokens})


def register(app: web.Application) -> None:
    add = app.router
    add.add_post("/v1/messages/batches", create, name="messages.batches.create")
    add.add_get("/v1/messages/batches", list_batches, name="messages.batches.list")
    add.add_get("/v1/messages/batches/{batch_id}", retrieve, name="messages.batches.retrieve")
    add.add_delete("/v1/messages/batches/{batch_id}", delete, name="messages.batches.delete")
    add.add_post("/v1/messages/batches/{batch_id}/cancel", cancel,
                 name="messages.batches.cancel")
    add.add_get("/v1/messages/batches/{batch_id}/results", results,
                name="messages.batches.results")
    add.add_post("/v1/messages/count_tokens", count_tokens, name="messages.count_tokens")
