"""JSONL reader: OpenAI batch input lines, validated one by one.

This is the hot path for million-line files, so the loop is written for speed: a valid line
costs one ``orjson.loads``, a handful of type checks and dict lookups, one ``orjson.dumps``, a
dict insert (duplicate ids) and a cheap object build (a NamedTuple). Anything that fails
the quick checks goes to ``_explain``, which is slow, careful and the single place that words
error messages.
"""

from __future__ import annotations

from typing import Any

import orjson

from batcher_gui.domain.endpoints import ENDPOINTS, MESSAGES_ENDPOINT, endpoint_mismatch
from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ParsedRequest, ProfileLimits
from batcher_gui.importing.bodycheck import endpoint_checks, explain_required
from batcher_gui.importing.common import (
    MAX_CUSTOM_ID,
    POLL_LINE_BYTES,
    PROGRESS_MASK,
    UTF8_BOM,
    ItemIterator,
    Progress,
    cut_line_length,
    file_error,
    given,
    line_reader,
    line_too_long,
    max_tokens_option,
    not_utf8_message,
    reject_options,
    show,
    size_cap,
    too_big,
)

ALLOWED_KEYS = ("custom_id", "method", "url", "body")
#: Said of a Claude line met on an OpenAI profile.
CLAUDE_LINE = ("a Claude (Anthropic Message Batches) request: import it into a Claude profile "
               "(kind anthropic)")


def unparsable_line(path: str, line_no: int, raw: bytes, exc: ValueError) -> LineError:
    """Tell an encoding problem from a JSON syntax problem."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return LineError(path, line_no, None, not_utf8_message(bad))
    text = raw.rstrip(b"\r\n")
    pos = getattr(exc, "pos", None)
    if isinstance(pos, int) and pos < len(text.rstrip()):
        where = f"at column {pos + 1}: {getattr(exc, 'msg', exc)}"
    else:
        where = "the line ends before the JSON does (a missing '}', ']' or '\"'?)"
    return LineError(path, line_no, None,
                     f"not valid JSON {where} (each line must be one JSON object)")


class JsonlSource:
    """Reads and validates a JSONL batch input file.

    Options are checked by the constructor; the file is read by ``read``.
    """

    def __init__(self, path: str, options: ImportOptions, limits: ProfileLimits) -> None:
        reject_options(
            path,
            options,
            InputFormat.JSONL,
            ("endpoint",),
            "each line carries its own 'url'",
        )
        reject_options(
            path,
            options,
            InputFormat.JSONL,
            ("template", "id_column", "system"),
            "JSONL lines already hold complete request bodies",
        )
        if options.model is not None and not given(options.model):
            raise file_error(path, "the model option is blank", field="model")
        max_tokens_option(path, options, None)  # refused: this reader is for OpenAI profiles
        self.path = path
        self.limits = limits
        self.override = options.model.strip() if options.model is not None else None
        self.body_checks = endpoint_checks()

    def read(self, progress: Progress) -> ItemIterator:
        """Yield a ParsedRequest per valid line and a LineError per invalid one.

        At most one LineError per line (the first problem found), so the caller can count
        skipped lines by counting errors. Blank lines are skipped.
        """
        path = self.path
        limits = self.limits
        loads = orjson.loads
        dumps = orjson.dumps
        decode_error = orjson.JSONDecodeError
        encode_error = orjson.JSONEncodeError
        request_class = ParsedRequest
        body_checks = self.body_checks
        override = self.override
        max_line = limits.max_line_bytes
        cap = size_cap(limits, line_limit=False)
        long_line = min(max_line, POLL_LINE_BYTES)  # polls at once; may be over the limit
        # custom_id -> first line it appeared on; a dict (not a set) to name that line.
        seen: dict[str, int] = {}
        first_seen = seen.setdefault
        with open(path, "rb") as f:
            if f.read(3) != UTF8_BOM:
                f.seek(0)
            # Lines are read at most max_line (+ line break) at a time: a longer one is
            # refused while it is read, never held whole.
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
                # orjson ignores surrounding whitespace, so no strip on the common path.
                try:
                    obj = loads(raw)
                except decode_error as exc:
                    if raw.strip():
                        yield self._unparsable(line_no, raw, exc)
                    continue
                # Subscripts inside a (zero-cost) try beat .get() calls; a missing key or a
                # non-object line lands in the except clause.
                try:
                    cid = obj["custom_id"]
                    url = obj["url"]
                    body = obj["body"]
                    method = obj["method"]
                except (KeyError, TypeError):
                    yield self._explain(obj, line_no, seen)
                    continue
                # Four keys that are all the allowed ones means no unknown key.
                if (
                    len(obj) == 4
                    and method == "POST"
                    and type(cid) is str
                    and 0 < len(cid) <= MAX_CUSTOM_ID
                    and type(url) is str
                    and type(body) is dict
                    and (check := body_checks.get(url)) is not None
                    and check(body)
                ):
                    if override is not None:
                        body["model"] = override
                    model = body.get("model")
                    if type(model) is str and model:
                        try:
                            # Exact-size copy: orjson's own buffer is 4 KB or more, and a
                            # chunk keeps 5,000 bodies until it is written.
                            data = bytes(memoryview(dumps(body)))
                        except encode_error as exc:
                            yield LineError(path, line_no, "body", f"cannot re-encode: {exc}")
                            continue
                        first = first_seen(cid, line_no)
                        if first != line_no:
                            yield LineError(
                                path,
                                line_no,
                                "custom_id",
                                f"duplicate custom_id {show(cid)}: already used on line {first}",
                            )
                        elif len(url) + len(data) > cap:
                            yield LineError(path, line_no, "body", too_big(url, len(data), limits))
                        else:
                            yield request_class(line_no, cid, url, model, data)
                        continue
                yield self._explain(obj, line_no, seen)
            progress.reached(f.tell())

    def _unparsable(self, line_no: int, raw: bytes, exc: ValueError) -> LineError:
        return unparsable_line(self.path, line_no, raw, exc)

    def _explain(self, obj: Any, line_no: int, seen: dict[str, int]) -> LineError:
        """The first problem of a line that failed the quick checks.

        Registers a well-formed custom_id in ``seen`` even when the line has other problems,
        so a later line reusing it is still reported as a duplicate.
        """
        field, message = self._first_problem(obj, line_no, seen)
        return LineError(self.path, line_no, field, message)

    def _first_problem(
        self, obj: Any, line_no: int, seen: dict[str, int]
    ) -> tuple[str | None, str]:
        if type(obj) is not dict:
            return None, f"expected a JSON object per line, got {show(obj)}"
        if "params" in obj:
            return "params", CLAUDE_LINE
        for key in obj:
            if key not in ALLOWED_KEYS:
                return key, (
                    f"unknown field {show(key)}; a line may only have " + ", ".join(ALLOWED_KEYS)
                )
        for key in ALLOWED_KEYS:
            if key not in obj:
                expected = ' (expected "POST")' if key == "method" else ""
                return key, f"missing required field '{key}'{expected}"
        cid = obj["custom_id"]
        if type(cid) is not str:
            return "custom_id", f"'custom_id' must be a string, got {show(cid)}"
        if not cid:
            return "custom_id", "'custom_id' must not be empty"
        if len(cid) > MAX_CUSTOM_ID:
            return "custom_id", (
                f"'custom_id' is {len(cid)} characters, longer than the {MAX_CUSTOM_ID} allowed"
            )
        seen.setdefault(cid, line_no)
        method = obj["method"]
        if method != "POST":
            return "method", f'expected "POST", got {show(method)}'
        url = obj["url"]
        if url == MESSAGES_ENDPOINT:
            return "url", str(endpoint_mismatch(url, None))
        if type(url) is not str or url not in ENDPOINTS:
            urls = ", ".join(u for u in ENDPOINTS if u != MESSAGES_ENDPOINT)
            return "url", f"'url' must be one of {urls}; got {show(url)}"
        body = obj["body"]
        if type(body) is not dict:
            return "body", f"'body' must be a JSON object, got {show(body)}"
        if self.override is None:
            model = body.get("model")
            if "model" not in body:
                return "body.model", "missing required field 'body.model' (or pass --model)"
            if type(model) is not str:
                return "body.model", f"'body.model' must be a string, got {show(model)}"
            if not model:
                return "body.model", "'body.model' must not be empty (or pass --model)"
        for name in ENDPOINTS[url].required:
            problem = explain_required(url, name, body)
            if problem is not None:
                return problem
        # Unreachable while the quick checks and this method agree; kept so a mismatch shows
        # up as a readable error instead of a silently accepted line.
        return None, "invalid request line"
