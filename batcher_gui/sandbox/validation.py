"""Batch input validation, mirroring the failure codes OpenAI reports on `errors.data`.

Documented/observed codes: invalid_json_line, duplicate_custom_id, url_mismatch,
model_mismatch, empty_file, too_many_tasks, token_limit_exceeded. The messages for the
first one and the last one are verbatim; the others are close paraphrases. Structural
problems (missing `custom_id`/`body`, non-POST method) are reported as
`missing_required_parameter` / `invalid_method`, which is a guess at OpenAI's codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

MAX_TASKS: Final = 50_000
MAX_EMBEDDING_INPUTS: Final = 50_000
MAX_REPORTED_ERRORS: Final = 100  # keep a hopeless file from producing a huge batch object

MESSAGES: Final = {
    "invalid_json_line": "This line is not parseable as valid JSON.",
    "duplicate_custom_id": (
        "The custom_id for this request is a duplicate of another request. The custom_id "
        "parameter must be unique for each individual request in a batch."
    ),
    "url_mismatch": "The provided URL for this request does not match the batch endpoint.",
    "model_mismatch": (
        "The provided model does not match the model of the other requests in this batch. "
        "All requests in a batch must use the same model."
    ),
    "empty_file": "The input file is empty. Please provide a file with at least one request.",
    "too_many_tasks": (
        f"The input file contains more than the maximum of {MAX_TASKS:,} requests per batch."
    ),
    "missing_required_parameter": "This request is missing a required parameter.",
    "invalid_method": "Only the POST method is supported for batch requests.",
}
TOKEN_LIMIT_MESSAGE: Final = (
    "Enqueued token limit reached for {model} in organization {org}. Limit: {limit:,} enqueued "
    "tokens. Please try again once some in_progress batches have been completed."
)


def batch_error(code: str, line: int | None = None, param: str | None = None) -> dict[str, Any]:
    message = MESSAGES.get(code, f"The batch failed validation ({code}).")
    return {"code": code, "line": line, "message": message, "param": param}


def token_limit_error(model: str, org: str, limit: int) -> dict[str, Any]:
    message = TOKEN_LIMIT_MESSAGE.format(model=model, org=org, limit=limit)
    return {"code": "token_limit_exceeded", "line": None, "message": message, "param": None}


def injected_failure(code: str, model: str, org: str, limit: int) -> dict[str, Any]:
    """The error a `batch_failure` knob produces: realistic shape, line 1 for line codes."""
    if code == "token_limit_exceeded":
        return token_limit_error(model, org, limit)
    line_codes = ("invalid_json_line", "duplicate_custom_id", "url_mismatch", "model_mismatch")
    return batch_error(code, line=1 if code in line_codes else None)


@dataclass
class Task:
    line: int  # 1-based line number in the input file
    custom_id: str
    body: dict[str, Any]
    raw: bytes  # the input line as sent, for cheap content-trigger checks (b"" if not kept)


@dataclass
class ParsedInput:
    tasks: list[Task] = field(default_factory=list)
    model: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def split_lines(data: bytes) -> list[bytes]:
    """Lines of a JSONL file; one trailing newline (or CRLF) is not an extra line."""
    lines = data.split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _embedding_inputs(body: dict[str, Any]) -> int:
    value = body.get("input")
    if isinstance(value, list) and value and not isinstance(value[0], int):
        return len(value)
    return 1


def read_lines(path: Path) -> tuple[list[bytes], bool]:
    """`split_lines` of a file without holding its whole content: (lines, any non-blank)."""
    lines: list[bytes] = []
    blank = True
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            elif not raw.strip():
                break  # a blank tail after the last newline is not a line
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if blank and raw.strip():
                blank = False
            lines.append(raw)
    return lines, blank


def parse_input(data: bytes, endpoint: str) -> ParsedInput:
    """Parse and validate a batch input file; `errors` is empty when the batch may run."""
    return parse_lines(split_lines(data), not data.strip(), endpoint)


def parse_file(path: Path, endpoint: str, *, keep_raw: bool = True) -> ParsedInput:
    """`parse_input` of a file, reading it line by line (one copy of the file, not two).

    keep_raw=False: `Task.raw` is b"" for lines without a "#" (no content trigger), so the
    input lines are freed as they are parsed instead of living as long as the tasks.
    """
    lines, blank = read_lines(path)
    return parse_lines(lines, blank, endpoint, keep_raw=keep_raw)


def parse_lines(
    lines: list[bytes], blank: bool, endpoint: str, *, keep_raw: bool = True
) -> ParsedInput:
    """Parse and validate split lines; consumes (empties) `lines`."""
    result = ParsedInput()
    if not lines or blank:
        result.errors.append(batch_error("empty_file"))
        return result
    if len(lines) > MAX_TASKS:
        result.errors.append(batch_error("too_many_tasks"))
        return result
    seen: set[str] = set()
    embedding_inputs = 0
    lines.reverse()  # popped from the end: each line is freed once parsed
    number = 0
    while lines:
        raw = lines.pop()
        number += 1
        problem = _check_line(raw, number, endpoint, seen, result, keep_raw)
        if problem is not None:
            result.errors.append(problem)
            if len(result.errors) >= MAX_REPORTED_ERRORS:
                break
        elif endpoint == "/v1/embeddings":
            embedding_inputs += _embedding_inputs(result.tasks[-1].body)
    if not result.errors and embedding_inputs > MAX_EMBEDDING_INPUTS:
        result.errors.append(batch_error("too_many_tasks"))
    return result


def _check_line(
    raw: bytes,
    number: int,
    endpoint: str,
    seen: set[str],
    result: ParsedInput,
    keep_raw: bool = True,
) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return batch_error("invalid_json_line", number)
    if not isinstance(obj, dict):
        return batch_error("invalid_json_line", number)
    custom_id, body = obj.get("custom_id"), obj.get("body")
    if not isinstance(custom_id, str) or not custom_id:
        return batch_error("missing_required_parameter", number, "custom_id")
    if not isinstance(body, dict):
        return batch_error("missing_required_parameter", number, "body")
    if obj.get("method", "POST") != "POST":
        return batch_error("invalid_method", number, "method")
    if obj.get("url") != endpoint:
        return batch_error("url_mismatch", number, "url")
    if custom_id in seen:
        return batch_error("duplicate_custom_id", number, "custom_id")
    seen.add(custom_id)
    model = body.get("model")
    if endpoint != "/v1/moderations" and not isinstance(model, str):
        return batch_error("missing_required_parameter", number, "body.model")
    if isinstance(model, str):
        if result.model is None:
            result.model = model
        elif model != result.model:
            return batch_error("model_mismatch", number, "body.model")
    result.tasks.append(Task(number, custom_id, body, raw if keep_raw or b"#" in raw else b""))
    return None
