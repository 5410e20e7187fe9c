"""`/v1/files` handlers: upload (streamed to disk), retrieve, content, delete, list."""

from __future__ import annotations

from email.message import Message
from pathlib import Path
from typing import Any, Final

from aiohttp import (
    StreamReader,
    content_disposition_filename,
    hdrs,
    parse_content_disposition,
    web,
)

from .errors import ApiError, bad_request, json_response, not_found
from .machine import DEFAULT_FILE_TTL
from .paging import cursor_page, int_param
from .state import SANDBOX_KEY, Sandbox
from .store import open_private

# "evals" is a valid upload purpose for the SDK, but FileObject.purpose has no "evals"
# literal, so echoing it back would fail strict response validation: refuse it.
UPLOAD_PURPOSES: Final = ("assistants", "batch", "fine-tune", "vision", "user_data")
MIN_TTL: Final = 3600
MAX_TTL: Final = 30 * 24 * 3600
_MAX_HEAD: Final = 16 * 1024  # bytes of a preamble or of one part's headers


def missing(param: str) -> ApiError:
    return bad_request(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def parse_ttl(anchor: Any, seconds: Any, param: str) -> int:
    """Validate an `expires_after` / `output_expires_after` pair; returns the seconds."""
    if anchor != "created_at":
        raise bad_request(
            f"Invalid value for '{param}.anchor': expected 'created_at'.",
            f"{param}.anchor",
            "invalid_value",
        )
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        raise bad_request(
            f"Invalid '{param}.seconds': expected an integer.", f"{param}.seconds", "invalid_type"
        ) from None
    if not MIN_TTL <= value <= MAX_TTL or isinstance(seconds, bool):
        raise bad_request(
            f"Invalid '{param}.seconds': must be between {MIN_TTL} and {MAX_TTL}.",
            f"{param}.seconds",
            "invalid_value",
        )
    return value


class _FormReader:
    """A forward-only, streaming ``multipart/form-data`` reader over the request body.

    Not aiohttp's `MultipartReader`: in aiohttp 3.14 its `BodyPartReader.read_chunk()` calls
    the deprecated `StreamReader.unread_data()` (outside its own warnings filter) whenever a
    read of a part comes back shorter than the boundary and the next read overshoots the
    chunk size. That depends on how the body happens to arrive in TCP pieces, so uploads
    hit it now and then (an HTTP 500 where warnings are errors). This reader only ever calls
    `readany()` and keeps the few bytes that may start a delimiter in its own buffer.
    """

    def __init__(self, content: StreamReader, boundary: bytes) -> None:
        self._content = content
        self._delimiter = b"\r\n--" + boundary
        # A leading CRLF lets the first delimiter (at the very start) match like the others.
        self._buf = bytearray(b"\r\n")
        self._started = False
        self._in_body = False  # inside a part's content, its delimiter not yet reached
        self._closed = False  # the close delimiter ("--boundary--") was seen

    async def _fill(self) -> None:
        chunk = await self._content.readany()
        if not chunk:
            raise ValueError("unexpected end of the body")
        self._buf += chunk

    async def _find(self, needle: bytes, start: int = 0) -> int:
        """Where `needle` is in the buffer, reading on until it is (at most _MAX_HEAD bytes:
        only used for the preamble, delimiter lines and part headers)."""
        while (at := self._buf.find(needle, start)) < 0:
            if len(self._buf) > _MAX_HEAD:
                raise ValueError("no boundary where one was expected, or part headers too long")
            await self._fill()
        return at

    async def next_part(self) -> dict[str, str] | None:
        """Advance to the next part and return its headers (lower-case names); None at the end."""
        while self._in_body:  # the caller left the current part unread: skip it
            await self.read_chunk()
        if self._closed:
            return None
        if not self._started:  # skip the preamble
            at = await self._find(self._delimiter)
            del self._buf[: at + len(self._delimiter)]
            self._started = True
        while len(self._buf) < 2:
            await self._fill()
        if self._buf.startswith(b"--"):
            self._closed = True  # the epilogue, if any, is left unread
            return None
        # The rest of the delimiter line may only be transport padding.
        eol = await self._find(b"\r\n")
        if self._buf[:eol].strip(b" \t"):
            raise ValueError("invalid boundary line")
        end = await self._find(b"\r\n\r\n", eol)
        block = bytes(self._buf[eol + 2 : end])
        del self._buf[: end + 4]
        headers: dict[str, str] = {}
        for line in block.split(b"\r\n") if block else ():
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                raise ValueError(f"malformed part header {line[:80]!r}")
            headers[name.strip().decode("latin-1").lower()] = value.strip().decode(
                "utf-8", "replace"
            )
        self._in_body = True
        return headers

    async def read_chunk(self) -> bytes | None:
        """The current part's next piece of content; None once its end is reached."""
        keep = len(self._delimiter) - 1  # a tail this long may be the start of a delimiter
        while self._in_body:
            at = self._buf.find(self._delimiter)
            if at >= 0:
                data = bytes(self._buf[:at])
                del self._buf[: at + len(self._delimiter)]
                self._in_body = False
                return data
            if len(self._buf) > keep:
                data = bytes(self._buf[:-keep])
                del self._buf[:-keep]
                return data
            await self._fill()
        return None


def _boundary(content_type: str) -> bytes:
    message = Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 70 or not boundary.isascii():
        raise ValueError("missing or invalid boundary in Content-Type")
    return boundary.encode("ascii")


async def _receive(
    request: web.Request, sandbox: Sandbox
) -> tuple[dict[str, str], Path | None, str]:
    """Stream the multipart body: text fields into a dict, the file part onto disk.

    Parts may come in any order, so nothing is validated until the body is consumed.
    """
    if not request.content_type.startswith("multipart/"):
        raise bad_request("Expected a multipart/form-data body with 'purpose' and 'file'.")
    fields: dict[str, str] = {}
    upload: Path | None = None
    filename = "upload"
    try:
        reader = _FormReader(request.content, _boundary(request.headers[hdrs.CONTENT_TYPE]))
        while (headers := await reader.next_part()) is not None:
            if headers.get("content-type", "").lower().startswith("multipart/"):
                continue  # nested multipart: not something the SDK sends (skipped unread)
            _, params = parse_content_disposition(headers.get("content-disposition"))
            name = content_disposition_filename(params, "name")
            if name == "file" and upload is None:
                filename = content_disposition_filename(params, "filename") or "upload"
                upload = sandbox.store.temp_path()
                with open_private(upload) as fh:
                    while (chunk := await reader.read_chunk()) is not None:
                        fh.write(chunk)
            elif name:
                value = bytearray()
                while (chunk := await reader.read_chunk()) is not None:
                    value += chunk
                fields[name] = value.decode("utf-8")
    except BaseException as exc:
        if upload is not None:
            upload.unlink(missing_ok=True)  # a half-received upload must not linger
        if isinstance(exc, ValueError):
            raise bad_request(f"Malformed multipart body: {exc}") from None
        raise
    return fields, upload, filename


async def create(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    fields, upload, filename = await _receive(request, sandbox)
    try:
        purpose = fields.get("purpose")
        if not purpose:
            raise missing("purpose")
        if upload is None:
            raise missing("file")
        if purpose not in UPLOAD_PURPOSES:
            raise bad_request(
                f"'{purpose}' is not one of {list(UPLOAD_PURPOSES)} - 'purpose'",
                "purpose",
                "invalid_value",
            )
        size = upload.stat().st_size
        if purpose == "batch":
            if not filename.lower().endswith(".jsonl"):
                raise bad_request("Invalid file format for Batch API. Must be .jsonl")
            limit = sandbox.config.max_batch_file_bytes
            if size > limit:
                raise bad_request(
                    f"File is too large ({size} bytes). Batch input files may be at most "
                    f"{limit} bytes.",
                    "file",
                )
        now = sandbox.now()
        ttl: int | None = DEFAULT_FILE_TTL if purpose == "batch" else None
        if "expires_after[anchor]" in fields or "expires_after[seconds]" in fields:
            ttl = parse_ttl(
                fields.get("expires_after[anchor]"),
                fields.get("expires_after[seconds]"),
                "expires_after",
            )
        async with sandbox.lock:
            public = sandbox.store.add_file(
                upload,
                filename=filename,
                purpose=purpose,
                created_at=int(now),
                expires_at=int(now) + ttl if ttl is not None else None,
            )
            sandbox.files_created += 1
        return json_response(public)
    finally:
        if upload is not None:
            upload.unlink(missing_ok=True)  # no-op once moved into the store


def _lookup(sandbox: Sandbox, file_id: str) -> dict[str, Any]:
    public = sandbox.store.get_file(file_id, sandbox.now())
    if public is None:
        raise not_found("File", file_id, "id")
    return public


async def retrieve(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    return json_response(_lookup(sandbox, request.match_info["file_id"]))


async def content(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[SANDBOX_KEY]
    file_id = request.match_info["file_id"]
    _lookup(sandbox, file_id)
    # Streamed from disk (sendfile where available): 50,000-line outputs never sit in RAM.
    return web.FileResponse(
        sandbox.store.data_path(file_id),
        headers={"Content-Type": "application/octet-stream"},
    )


async def delete(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    file_id = request.match_info["file_id"]
    async with sandbox.lock:
        _lookup(sandbox, file_id)
        sandbox.store.delete_file(file_id)
        sandbox.files_deleted += 1
    return json_response({"id": file_id, "object": "file", "deleted": True})


async def list_files(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX_KEY]
    query = request.query
    limit = int_param(query, "limit", default=10_000, low=1, high=10_000)
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise bad_request("Invalid value for 'order': expected 'asc' or 'desc'.", "order")
    purpose = query.get("purpose")
    async with sandbox.lock:
        rows = sandbox.store.live_files(sandbox.now())
    if purpose:
        rows = [(seq, f) for seq, f in rows if f["purpose"] == purpose]
    return json_response(
        cursor_page(
            rows, after=query.get("after"), prefix="file-", limit=limit, desc=order == "desc"
        )
    )


def register(app: web.Application) -> None:
    app.router.add_post("/v1/files", create, name="files.create")
    app.router.add_get("/v1/files", list_files, name="files.list")
    app.router.add_get("/v1/files/{file_id}", retrieve, name="files.retrieve")
    app.router.add_delete("/v1/files/{file_id}", delete, name="files.delete")
    app.router.add_get("/v1/files/{file_id}/content", content, name="files.content")
