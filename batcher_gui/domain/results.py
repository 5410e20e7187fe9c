"""Reading one line of a provider's output or error file (pure: the caller parses the JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Outcome(Enum):
    """What a result line means for its prompt."""

    #: A successful response: the prompt is processed.
    SUCCESS = "success"
    #: The provider refused the request (4xx): the prompt failed for good.
    FAILED = "failed"
    #: A transient failure (5xx, server_error, rate limit inside the batch): try again.
    RETRY = "retry"
    #: Not run because the batch expired or was cancelled: handled like a missing result.
    NOT_RUN = "not_run"


_NOT_RUN_CODES = frozenset({"batch_expired", "batch_cancelled", "request_cancelled"})
_RETRY_CODES = frozenset({"server_error", "rate_limit_exceeded", "internal_error", "timeout"})


@dataclass(frozen=True, slots=True)
class LineResult:
    """One classified result line."""

    custom_id: str
    outcome: Outcome
    body: Any
    error: str | None
    input_tokens: int | None
    output_tokens: int | None


def _usage(body: Any) -> tuple[int | None, int | None]:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None, None
    tokens_in = usage.get("prompt_tokens", usage.get("input_tokens"))
    tokens_out = usage.get("completion_tokens", usage.get("output_tokens"))
    return (
        tokens_in if isinstance(tokens_in, int) else None,
        tokens_out if isinstance(tokens_out, int) else None,
    )


def _describe(err: Any) -> tuple[str | None, str]:
    if not isinstance(err, dict):
        return None, str(err)
    code = err.get("code") or err.get("type")
    message = err.get("message") or "no message"
    return (str(code) if code else None), (f"{code}: {message}" if code else str(message))


_SUCCESS = Outcome.SUCCESS  # Enum member lookups are slow on a hot path (50,000 lines).


def classify_line(line: Any) -> LineResult | None:
    """Classify a parsed output/error line; None if it is not a result line at all."""
    if not isinstance(line, dict):
        return None
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str):
        return None
    response = line.get("response")
    top_error = line.get("error")
    # The common case first: a 200 with a body and no error anywhere.
    if top_error is None and type(response) is dict and response.get("status_code") == 200:
        body = response.get("body")
        if type(body) is dict and "error" not in body:
            usage = body.get("usage")
            if type(usage) is dict:
                tokens_in = usage.get("prompt_tokens", usage.get("input_tokens"))
                tokens_out = usage.get("completion_tokens", usage.get("output_tokens"))
                return LineResult(
                    custom_id, _SUCCESS, body,
                    None, tokens_in if type(tokens_in) is int else None,
                    tokens_out if type(tokens_out) is int else None,
                )
            return LineResult(custom_id, _SUCCESS, body, None, None, None)
    if top_error:
        code, text = _describe(top_error)
        if code in _NOT_RUN_CODES:
            return LineResult(custom_id, Outcome.NOT_RUN, None, text, None, None)
        outcome = Outcome.RETRY if code in _RETRY_CODES else Outcome.FAILED
        return LineResult(custom_id, outcome, None, text, None, None)
    if not isinstance(response, dict):
        return LineResult(custom_id, Outcome.FAILED, None, "result line has no response", None,
                          None)
    status = response.get("status_code")
    body = response.get("body")
    body_error = body.get("error") if isinstance(body, dict) else None
    if status == 200 and not body_error:
        tokens_in, tokens_out = _usage(body)
        return LineResult(custom_id, Outcome.SUCCESS, body, None, tokens_in, tokens_out)
    code, text = _describe(body_error) if body_error else (None, f"HTTP {status}")
    text = f"HTTP {status} {text}" if body_error else text
    transient = (isinstance(status, int) and (status >= 500 or status == 429)) or (
        code in _RETRY_CODES
    )
    return LineResult(
        custom_id, Outcome.RETRY if transient else Outcome.FAILED, body, text, None, None
    )
