"""Helpers shared by the format readers: errors, messages, limits and option checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Any, BinaryIO, Protocol

import orjson

from batcher_gui.domain.claude_convert import openai_model_on_claude
from batcher_gui.domain.endpoints import (
    DEFAULT_ENDPOINT,
    DEFAULT_MAX_TOKENS,
    ENDPOINT_ALIASES,
    ENDPOINTS,
    MESSAGES_ENDPOINT,
    build_text_body,
    default_endpoint,
    endpoint_mismatch,
    is_claude,
    resolve_endpoint,
)
from batcher_gui.domain.errors import Cancelled, ImportValidationError, LineError
from batcher_gui.domain.models import (
    LINE_OVERHEAD,
    ImportOptions,
    InputFormat,
    ParsedRequest,
    ProfileKind,
    ProfileLimits,
)
from batcher_gui.domain.wording import json_type

#: What every reader yields.
Item = ParsedRequest | LineError
#: A generator, so that a caller that stops early can close it (and the file it reads).
ItemIterator = Generator[Item, None, None]

#: How much of the file the cheap checks and sniffers look at.
SNIFF_BYTES = 64 * 1024

UTF8_BOM = b"\xef\xbb\xbf"

#: Readers publish ``bytes_read`` every this many lines. A power of two so the hot loop tests
#: it with one mask instead of a modulo.
PROGRESS_EVERY = 1024
PROGRESS_MASK = PROGRESS_EVERY - 1

#: Longest custom_id accepted. The provider never sees it (Batcher sends its own short ids,
#: so OpenAI's 512 does not apply); the bound only keeps a runaway column out of the database.
MAX_CUSTOM_ID = 4096

#: Room reserved for the provider-facing custom_id ("p<prompt id>") when sizing a line; the
#: prompt id is not known while reading, and 24 characters hold any 64-bit id.
PROVIDER_ID_ROOM = 24

FORMAT_HINT = "--format jsonl|csv|tsv|text|xlsx"
UTF8_HINT = "the file must be UTF-8: re-save it as UTF-8"


#: A line this long or longer makes a reader check ``should_stop`` at once: a thousand lines of
#: megabytes each take seconds to read.
POLL_LINE_BYTES = 256 * 1024
#: Piece size when skipping the rest of a line over the limit: never held whole.
SKIP_PIECE = 1024 * 1024


class Progress(Protocol):
    """Where a reader publishes how far it got (the RequestReader itself)."""

    bytes_read: int

    def reached(self, bytes_read: int) -> None:
        """Publish ``bytes_read``; raise ``Cancelled`` if the reader was asked to stop."""


def stop_check(should_stop: Callable[[], bool] | None) -> Callable[[], None]:
    """A function raising ``Cancelled`` once ``should_stop`` returns True (never if None)."""

    def check() -> None:
        if should_stop is not None and should_stop():
            raise Cancelled("stopped while reading the file")

    return check


def never_stop() -> None:
    """The stop check of a read nobody stops."""


def line_reader(f: BinaryIO, limit: int) -> Callable[[], bytes]:
    """``f.readline``, reading at most a line of ``limit`` bytes plus its line break.

    A longer line comes back cut, without its line break: :func:`cut_line_length` tells, and
    reads past the rest. Iterate with ``iter(line_reader(f, n), b"")``:
    as fast as iterating the file, and no line is ever held whole.
    """
    return functools.partial(f.readline, limit + 2)  # room for "\r\n"


def cut_line_length(raw: bytes, f: BinaryIO, limit: int) -> int | None:
    """When ``raw`` (from :func:`line_reader` on ``f``) is only the start of a line longer
    than ``limit``: the whole line's length, its rest read past. None: ``raw`` is whole."""
    if len(raw) < limit + 2 or raw.endswith(b"\n"):
        return None
    return len(raw) + _skip_rest(f)


def _skip_rest(f: BinaryIO) -> int:
    """Read past the rest of the current line, a piece at a time; its length, break excluded."""
    skipped = 0
    while True:
        piece = f.readline(SKIP_PIECE)
        if not piece:
            return skipped
        if piece.endswith(b"\n"):
            return skipped + len(piece.rstrip(b"\r\n"))
        skipped += len(piece)


def file_error(
    path: str, message: str, *, line: int | None = None, field: str | None = None
) -> ImportValidationError:
    """An ImportValidationError holding one file-level problem."""
    return ImportValidationError([LineError(path, line, field, message)])


def show(value: Any, limit: int = 60) -> str:
    """A short, JSON-looking rendering of a value for an error message."""
    if isinstance(value, str):
        text = orjson.dumps(value).decode()
        return text if len(text) <= limit else text[: limit - 4] + '..."'
    if value is None or isinstance(value, bool):
        return orjson.dumps(value).decode()
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, list):
        return "an array" if value else "an empty array"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    return json_type(value)


def not_utf8_message(exc: UnicodeDecodeError) -> str:
    """Say where a line stops being UTF-8 and how to fix the file."""
    bad = exc.object[exc.start] if exc.start < len(exc.object) else 0
    return f"line is not valid UTF-8 (byte 0x{bad:02x} at position {exc.start + 1}); {UTF8_HINT}"


def line_too_long(length: int, limits: ProfileLimits) -> str:
    """The message for a source line or record over ``max_line_bytes``."""
    return (
        f"line is {length:,} bytes, over the limit of {limits.max_line_bytes:,} bytes "
        "per request line"
    )


def request_size(url: str, body_len: int) -> int:
    """Bytes the provider-facing batch line for this request will take (upper bound)."""
    return LINE_OVERHEAD + PROVIDER_ID_ROOM + len(url) + body_len


def size_cap(limits: ProfileLimits, *, line_limit: bool) -> int:
    """Largest ``len(url) + len(body)`` a request may have (one compare in the hot loop).

    Args:
        limits: the profile's limits.
        line_limit: also hold the request to ``max_line_bytes``. JSONL does not: its source
            line was already checked against that, and the provider line differs from it
            only by the custom_id.
    """
    limit = limits.max_batch_bytes
    if line_limit:
        limit = min(limit, limits.max_line_bytes)
    return limit - LINE_OVERHEAD - PROVIDER_ID_ROOM


def too_big(url: str, body_len: int, limits: ProfileLimits) -> str:
    """The message for a request whose batch line would exceed a profile limit."""
    size = request_size(url, body_len)
    if size > limits.max_batch_bytes:
        what = f"the limit of {limits.max_batch_bytes:,} bytes per batch file"
    else:
        what = f"the limit of {limits.max_line_bytes:,} bytes per request line"
    return f"request would be {size:,} bytes once sent, over {what}"


def endpoint_choices() -> str:
    """The endpoint names a user may type, for error messages."""
    return ", ".join(ENDPOINT_ALIASES) + " (or a URL such as " + DEFAULT_ENDPOINT + ")"


def given(value: str | None) -> bool:
    """Whether an optional text option was actually set (dialogs pass "" for unset)."""
    return value is not None and value.strip() != ""


def reject_options(
    path: str, options: ImportOptions, fmt: InputFormat, names: tuple[str, ...], why: str
) -> None:
    """Raise if any of the named options is set: silently ignoring them would surprise."""
    for name in names:
        if given(getattr(options, name)):
            raise file_error(
                path, f"the '{name}' option does not apply to {fmt.value} files: {why}", field=name
            )


def text_target(
    path: str, options: ImportOptions, fmt: InputFormat, kind: ProfileKind | str | None = None
) -> tuple[str, str]:
    """The (model, endpoint) a CSV/TSV/text import sends every prompt to.

    On a Claude profile (``kind`` anthropic) the endpoint is ``/v1/messages``; elsewhere it is
    the one chosen (default chat completions).

    Raises:
        ImportValidationError: no model given, the endpoint names no supported endpoint or
            does not fit the profile's kind, or an OpenAI model on a Claude profile.
    """
    if options.model is None or not options.model.strip():
        example = "claude-haiku-4-5" if is_claude(kind) else "gpt-4o-mini"
        raise file_error(
            path,
            f"{fmt.value} files need a model: pass --model (e.g. --model {example})",
            field="model",
        )
    model = options.model.strip()
    if is_claude(kind) and (problem := openai_model_on_claude(model)) is not None:
        raise file_error(path, problem, field="model")
    if not given(options.endpoint):
        return model, default_endpoint(kind)
    assert options.endpoint is not None  # narrowed by given()
    endpoint = resolve_endpoint(options.endpoint)
    if endpoint is None:
        raise file_error(
            path,
            f"unknown endpoint {show(options.endpoint)}; expected one of {endpoint_choices()}",
            field="endpoint",
        )
    if (problem := endpoint_mismatch(endpoint, kind)) is not None:
        raise file_error(path, problem, field="endpoint")
    return model, endpoint


def max_tokens_option(
    path: str, options: ImportOptions, kind: ProfileKind | str | None
) -> int | None:
    """The ``max_tokens`` option, checked: an int >= 1, and only on a Claude profile.

    Raises:
        ImportValidationError: not a whole number >= 1, or given for an OpenAI profile.
    """
    value = options.max_tokens
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise file_error(path, f"max_tokens must be a whole number of at least 1, got "
                         f"{show(value)}", field="max_tokens")
    if not is_claude(kind):
        raise file_error(
            path, "the max_tokens option applies to Claude profiles (kind anthropic) only; "
            "for OpenAI requests set max_tokens in the request bodies", field="max_tokens")
    return value


class TextRequestBuilder:
    """Turns prompt texts into ParsedRequests for CSV/TSV/text imports."""

    def __init__(
        self, path: str, model: str, endpoint: str, system: str | None, limits: ProfileLimits,
        max_tokens: int | None = None,
    ) -> None:
        self.path = path
        self.model = model
        self.endpoint = endpoint
        self.system = system if given(system) else None
        self.limits = limits
        # Only a Claude request carries it (always: Anthropic requires it).
        self.max_tokens = (max_tokens or DEFAULT_MAX_TOKENS) if endpoint == MESSAGES_ENDPOINT \
            else None
        self.cap = size_cap(limits, line_limit=True)
        # Fail now, not per line, if the domain ever drops an endpoint we resolved.
        assert endpoint in ENDPOINTS

    def build(self, line_no: int, custom_id: str, text: str) -> Item:
        """The request for one prompt text, or a LineError if it would be too big."""
        body = build_text_body(self.endpoint, self.model, text, self.system, self.max_tokens)
        data = bytes(memoryview(orjson.dumps(body)))  # exact size (see jsonl.py)
        if len(self.endpoint) + len(data) > self.cap:
            return LineError(
                self.path, line_no, None, too_big(self.endpoint, len(data), self.limits)
            )
        return ParsedRequest(line_no, custom_id, self.endpoint, self.model, data)
