"""Reading JSONL into a Claude profile: native Message Batches lines, and chat lines converted.

A line ``{"custom_id": ..., "params": {...}}`` is a Claude request as it is (``params`` is the
Messages request). An OpenAI batch line for chat completions (``{"custom_id", "method", "url",
"body"}``, or just ``{"custom_id", "body"}``) is converted to one
(:func:`batcher_gui.domain.claude_convert.chat_to_messages`); a line with ``url``
``/v1/messages`` carries a Claude request in ``body``. A whole Message Batches create body
(``{"requests": [...]}``, a ``.json`` file) is read by :mod:`batcher_gui.importing.claude_doc`.

Not the million-line hot path of :mod:`batcher_gui.importing.jsonl`: written for clarity.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from batcher_gui.domain.claude_convert import (
    ConversionError,
    chat_to_messages,
    openai_model_on_claude,
)
from batcher_gui.domain.endpoints import (
    DEFAULT_ENDPOINT,
    DEFAULT_MAX_TOKENS,
    MESSAGES_ENDPOINT,
)
from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ParsedRequest, ProfileLimits
from batcher_gui.importing.bodycheck import claude_ok, explain_claude
from batcher_gui.importing.common import (
    MAX_CUSTOM_ID,
    POLL_LINE_BYTES,
    PROGRESS_MASK,
    UTF8_BOM,
    Item,
    ItemIterator,
    Progress,
    cut_line_length,
    file_error,
    given,
    line_reader,
    line_too_long,
    max_tokens_option,
    reject_options,
    show,
    size_cap,
    too_big,
)
from batcher_gui.importing.jsonl import unparsable_line

NATIVE_KEYS = ("custom_id", "params")
CHAT_KEYS = ("custom_id", "method", "url", "body")
#: The note that says a line was converted (counted per import).
CONVERTED = "converted from OpenAI chat format"


class ClaudeRequests:
    """Turns decoded lines (or a requests file's entries) into Claude requests.

    Attributes:
        converted: requests converted from OpenAI chat format in the current read.
        notes: how often each conversion note came up in the current read.
    """

    def __init__(self, path: str, options: ImportOptions, limits: ProfileLimits) -> None:
        reject_options(path, options, InputFormat.JSONL, ("endpoint",),
                       f"every request of a Claude profile goes to {MESSAGES_ENDPOINT}")
        reject_options(path, options, InputFormat.JSONL, ("template", "id_column", "system"),
                       "JSONL lines already hold complete requests")
        if options.model is not None and not given(options.model):
            raise file_error(path, "the model option is blank", field="model")
        self.override = options.model.strip() if options.model is not None else None
        if self.override is not None and (why := openai_model_on_claude(self.override)):
            raise file_error(path, why, field="model")
        self.path = path
        self.limits = limits
        #: Given by the user: fills a native request's missing max_tokens, never replaces one.
        self.max_tokens = max_tokens_option(path, options, "anthropic")
        self.default_max_tokens = self.max_tokens or DEFAULT_MAX_TOKENS
        self.cap = size_cap(limits, line_limit=False)
        #: custom_id -> where it was first used ("line 3", "requests[2]").
        self.seen: dict[str, str] = {}
        self.converted = 0
        self.notes: Counter[str] = Counter()

    def start(self) -> None:
        """A new read of the file: forget ids and counts."""
        self.seen = {}
        self.converted = 0
        self.notes = Counter()

    def summary(self) -> list[str]:
        """What the conversion did, for the preview and the import summary ([] if nothing)."""
        if not self.converted:
            return []
        details = ", ".join(f"{note} ({count:,})" for note, count in self.notes.items())
        return [f"{self.converted:,} request(s) {CONVERTED}" + (f": {details}" if details
                                                              else "")]

    def item(self, obj: Any, line_no: int, index: int | None = None) -> Item:
        """The request of one decoded line, or the LineError naming its first problem.

        ``index``: the request's place in a requests file (0-based; its fields are then named
        ``requests[index]....`` and only native requests are accepted); ``line_no`` is then
        the line the request starts on, for errors.
        """
        prefix = "" if index is None else f"requests[{index}]."
        try:
            return self._request(obj, line_no, index)
        except _Problem as problem:
            return LineError(self.path, line_no, prefix + problem.field if problem.field
                             else None, problem.message)

    def _request(self, obj: Any, line_no: int, index: int | None) -> Item:
        if type(obj) is not dict:
            raise _Problem(None, f"expected a JSON object, got {show(obj)}")
        native_only = index is not None
        native = "params" in obj or native_only
        allowed = NATIVE_KEYS if native else CHAT_KEYS
        for key in obj:
            if key not in allowed:
                raise _Problem(key, f"unknown field {show(key)}; a Claude request has "
                                    "custom_id and params" + ("" if native_only else
                                    " (or an OpenAI chat line: custom_id, method, url, body)"))
        for key in ("custom_id", "params" if native else "body"):
            if key not in obj:
                raise _Problem(key, f"missing required field '{key}'")
        cid = self._custom_id(obj["custom_id"],
                              f"line {line_no}" if index is None else f"requests[{index}]")
        where = "params" if native else "body"
        body = obj[where]
        if type(body) is not dict:
            raise _Problem(where, f"'{where}' must be a JSON object, got {show(body)}")
        url = obj.get("url", DEFAULT_ENDPOINT)
        if not native:
            if obj.get("method", "POST") != "POST":
                raise _Problem("method", f'expected "POST", got {show(obj["method"])}')
            if url not in (DEFAULT_ENDPOINT, MESSAGES_ENDPOINT):
                raise _Problem("url", f"{show(url)} requests cannot be sent to Claude: only "
                                      f"chat completions lines ({DEFAULT_ENDPOINT}) are "
                                      "converted")
        if self.override is not None:
            body["model"] = self.override
        if native or url == MESSAGES_ENDPOINT:
            params = self._native(body, where)
        else:
            try:
                params, notes = chat_to_messages(body, self.default_max_tokens)
            except ConversionError as exc:
                raise _Problem(exc.field, str(exc)) from None
            self.converted += 1
            self.notes.update(notes)
        try:
            data = bytes(memoryview(orjson.dumps(params)))
        except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits
            raise _Problem(where, f"cannot re-encode: {exc}") from None
        if len(MESSAGES_ENDPOINT) + len(data) > self.cap:
            raise _Problem(where, too_big(MESSAGES_ENDPOINT, len(data), self.limits))
        number = line_no if index is None else index + 1  # a requests file: its place
        return ParsedRequest(number, cid, MESSAGES_ENDPOINT, params["model"], data)

    def _custom_id(self, cid: Any, place: str) -> str:
        if type(cid) is not str:
            raise _Problem("custom_id", f"'custom_id' must be a string, got {show(cid)}")
        if not cid:
            raise _Problem("custom_id", "'custom_id' must not be empty")
        if len(cid) > MAX_CUSTOM_ID:
            raise _Problem("custom_id", f"'custom_id' is {len(cid)} characters, longer than "
                                        f"the {MAX_CUSTOM_ID} allowed")
        first = self.seen.setdefault(cid, place)
        if first != place:
            raise _Problem("custom_id", f"duplicate custom_id {show(cid)}: already used on "
                                        f"{first}")
        return cid

    def _native(self, params: dict[str, Any], where: str) -> dict[str, Any]:
        """A Claude request taken as it is (only a missing max_tokens filled, if asked)."""
        model = params.get("model")
        if "model" not in params:
            raise _Problem(f"{where}.model", f"missing required field '{where}.model' (or "
                                             "pass --model)")
        if type(model) is not str or not model.strip():
            raise _Problem(f"{where}.model", f"'{where}.model' must be a non-empty string, "
                                             f"got {show(model)}")
        if (why := openai_model_on_claude(model)) is not None:
            raise _Problem(f"{where}.model", why)
        if "max_tokens" not in params and self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        if not claude_ok(params):
            problem = explain_claude(params, where)
            assert problem is not None, "claude_ok and explain_claude disagree"
            raise _Problem(*problem)
        return params


class _Problem(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ClaudeJsonlSource:
    """Reads a JSONL file into a Claude profile. The constructor checks the options."""

    def __init__(self, path: str, options: ImportOptions, limits: ProfileLimits) -> None:
        self.path = path
        self.limits = limits
        self.requests = ClaudeRequests(path, options, limits)

    def notes(self) -> list[str]:
        return self.requests.summary()

    def read(self, progress: Progress) -> ItemIterator:
        """Yield a ParsedRequest per valid line, a LineError per invalid one (blank lines
        are skipped); a line over ``max_line_bytes`` is refused while it is read."""
        path, limits = self.path, self.limits
        max_line = limits.max_line_bytes
        long_line = min(max_line, POLL_LINE_BYTES)
        item = self.requests.item
        self.requests.start()
        with open(path, "rb") as f:
            if f.read(3) != UTF8_BOM:
                f.seek(0)
            for line_no, raw in enumerate(iter(line_reader(f, max_line), b""), 1):
                if not line_no & PROGRESS_MASK:
                    progress.reached(f.tell())
                if len(raw) >= long_line:
                    progress.reached(f.tell())
                    if (n := cut_line_length(raw, f, max_line)) is not None:
                        yield LineError(path, line_no, None, line_too_long(n, limits))
                        continue
                    if (n := len(raw.rstrip(b"\r\n"))) > max_line:
                        yield LineError(path, line_no, None, line_too_long(n, limits))
                        continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    if raw.strip():
                        yield unparsable_line(path, line_no, raw, exc)
                    continue
                yield item(obj, line_no)
            progress.reached(f.tell())
