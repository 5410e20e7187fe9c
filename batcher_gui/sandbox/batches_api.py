"""`/v1/batches` handlers: create, retrieve, list (newest first), cancel."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import orjson
from aiohttp import web

from .config import metadata_overrides
from .errors import ApiError, bad_request, json_response, not_found
from .files_api import missing, parse_ttl
from .paging import cursor_page, int_param
from .responder import SUPPORTED_ENDPOINTS
from .state import SANDBOX_KEY, Sandbox
from .store import Record

# The SDK's endpoint Literal (openai 3.51+); the sandbox answers the first five.
KNOWN_ENDPOINTS: Final = SUPPORTED_ENDPOINTS + (
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
CREATE_PARAMS: Final = frozenset(
    {"input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after"}
)
JSON_PARSE_MESSAGE: Final = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    """OpenAI's metadata rules: at most 16 string pairs, keys <= 64, values <= 512 chars."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise bad_request(
            "Invalid type for 'metadata': expected an object.", "metadata", "invalid_type"
        )
    if len(metadata) > 16:
        raise bad_request(
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(metadata)} properties instead.",
            "metadata",
            "object_above_max_properties",
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise bad_request(
                f"Invalid 'metadata': key '{key[:20]}...' is longer than 64 characters.",
                "metadata",
                "string_above_max_length",
            )
        if not isinstance(value, str):
            raise bad_request(
                f"Invalid type for 'metadata.{key}': expected a string.",
                f"metadata.{key}",
                "invalid_type",
            )
        if len(value) > 512:
            raise bad_request(
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                f"length 512, but got a string with length {len(value)} instead.",
                f"metadata.{key}",
                "string_above_max_length",
            )
    return dict(metadata)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise bad_request(JSON_PARSE_MESSAGE) from None
    if not isinstance(body, dict):
        raise bad_request(JSON_PARSE_MESSAGE)
    return body


async def create(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    body = await _json_body(request)
    for name in body:
        if name not in CREATE_PARAMS:
            raise bad_request(f"Unrecognized request argument supplied: {name}", name)
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not body.get(name):
            raise missing(name)
    endpoint, file_id = body["endpoint"], body["input_file_id"]
    if endpoint not in KNOWN_ENDPOINTS:
        raise bad_request(
            f"Invalid value for 'endpoint': '{endpoint}'. Supported values are: "
            f"{', '.join(KNOWN_ENDPOINTS)}.",
            "endpoint",
            "invalid_value",
        )
    if endpoint not in SUPPORTED_ENDPOINTS:
        raise bad_request(f"The sandbox does not emulate '{endpoint}'.", "endpoint")
    if body["completion_window"] != "24h":
        raise bad_request(
            f"Invalid value for 'completion_window': '{body['completion_window']}'. "
            "Supported values are: '24h'.",
            "completion_window",
            "invalid_value",
        )
    metadata = _check_metadata(body.get("metadata"))
    try:
        overrides = metadata_overrides(metadata)
        sandbox.machine.knobs({"sb": {"overrides": overrides}})  # validate combined values
    except (ValueError, TypeError) as exc:
        raise bad_request(f"Invalid sandbox metadata: {exc}", "metadata") from None
    expiry = body.get("output_expires_after")
    if expiry is not None:
        if not isinstance(expiry, dict):
            raise bad_request("Invalid type for 'output_expires_after'.", "output_expires_after")
        parse_ttl(expiry.get("anchor"), expiry.get("seconds"), "output_expires_after")
    async with sandbox.lock:
        now = sandbox.now()
        file = sandbox.store.get_file(file_id, now)
        if file is None:
            raise not_found("File", file_id, "input_file_id")
        if file["purpose"] != "batch":
            raise bad_request(
                f"Invalid 'input_file_id': '{file_id}' was uploaded with purpose "
                f"'{file['purpose']}', expected 'batch'.",
                "input_file_id",
            )
        record = await asyncio.to_thread(
            sandbox.machine.create,
            input_file_id=file_id,
            endpoint=endpoint,
            metadata=metadata,
            output_expires_after=expiry,
            overrides=overrides,
            now=now,
        )
        sandbox.batches_created += 1
        return json_response(record["batch"])


def _record(sandbox: Sandbox, batch_id: str) -> Record:
    record = sandbox.store.batches.get(batch_id)
    if record is None:
        raise not_found("Batch", batch_id, "batch_id")
    return record


async def retrieve(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    async with sandbox.lock:
        record = _record(sandbox, request.match_info["batch_id"])
        await asyncio.to_thread(sandbox.machine.observe, record, sandbox.now(), 1)
        return json_response(record["batch"])


async def list_batches(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    limit = int_param(request.query, "limit", default=20, low=1, high=100)
    async with sandbox.lock:
        records = sandbox.store.batches_newest_first()
        rows = [(r["seq"], r["batch"]) for r in reversed(records)]
        page = cursor_page(
            rows, after=request.query.get("after"), prefix="batch_", limit=limit, desc=True
        )
        on_page = [sandbox.store.batches[b["id"]] for b in page["data"]]

        def observe_all(now: float) -> None:
            for record in on_page:
                sandbox.machine.observe(record, now, 1)

        await asyncio.to_thread(observe_all, sandbox.now())
        return json_response(page)


async def cancel(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    async with sandbox.lock:
        record = _record(sandbox, request.match_info["batch_id"])
        now = sandbox.now()
        await asyncio.to_thread(sandbox.machine.observe, record, now, 0)
        if not await asyncio.to_thread(sandbox.machine.cancel, record, now):
            # 400, not 409: the SDK retries 409 and would hammer us three times.
            status = record["batch"]["status"]
            raise ApiError(400, f"Cannot cancel a batch with status '{status}'.", param="batch_id")
        return json_response(record["batch"])


def register(app: web.Application) -> None:
    app.router.add_post("/v1/batches", create, name="batches.create")
    app.router.add_get("/v1/batches", list_batches, name="batches.list")
    app.router.add_get("/v1/batches/{batch_id}", retrieve, name="batches.retrieve")
    app.router.add_post("/v1/batches/{batch_id}/cancel", cancel, name="batches.cancel")
