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
    #: A short stable kind of the failure (the provider error's code or type, e.g.
    #: ``invalid_request_error``), None for a success: what the error-kind facet counts.
    error_kind: str | None = None


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
            return LineResult(custom_id, Outcome.NOT_RUN, None, text, None, None, code)
        outcome = Outcome.RETRY if code in _RETRY_CODES else Outcome.FAILED
        return LineResult(custom_id, outcome, None, text, None, None, code or "error")
    if not isinstance(response, dict):
        result = line.get("result")
        if type(result) is dict:  # Anthropic's Message Batches: {"custom_id", "result"}
            return _anthropic(custom_id, result)
        return LineResult(custom_id, Outcome.FAILED, None, "result line has no response", None,
                          None, "no_response")
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
        custom_id, Outcome.RETRY if transient else Outcome.FAILED, body, text, None, None,
        code or f"http_{status}",
    )


#: Anthropic's errors worth sending again (overloaded: 529; api_error: 500 on their side).
_ANTHROPIC_RETRY = frozenset({"overloaded_error", "api_error"})
_ANTHROPIC_NOT_RUN = {
    # A cancelled batch's unprocessed requests: they end cancelled with the batch.
    "canceled": "request_cancelled: the batch was cancelled before this request ran",
    # Not processed within the 24 hours: resent in a new batch, like OpenAI's batch_expired.
    "expired": "batch_expired: the batch expired before this request ran",
}


def _anthropic_tokens(message: dict[str, Any]) -> tuple[int | None, int | None]:
    """(total input, output): input_tokens counts only what was neither read from nor written
    to the prompt cache, so the three are added (the total OpenAI reports, which pricing
    splits again)."""
    usage = message.get("usage")
    if type(usage) is not dict:
        return None, None
    tokens_in = usage.get("input_tokens")
    tokens_out = usage.get("output_tokens")
    if type(tokens_in) is int:
        read = usage.get("cache_read_input_tokens")
        written = usage.get("cache_creation_input_tokens")
        tokens_in += (read if type(read) is int else 0) + (written if type(written) is int
                                                           else 0)
    else:
        tokens_in = None
    return tokens_in, tokens_out if type(tokens_out) is int else None


def _anthropic(custom_id: str, result: dict[str, Any]) -> LineResult:
    """One line of an Anthropic Message Batch's results (``result.type``: succeeded, errored,
    canceled, expired)."""
    kind = result.get("type")
    if kind == "succeeded":
        message = result.get("message")
        if type(message) is dict:
            tokens_in, tokens_out = _anthropic_tokens(message)
            return LineResult(custom_id, _SUCCESS, message, None, tokens_in, tokens_out)
        return LineResult(custom_id, Outcome.FAILED, None, "succeeded result has no message",
                          None, None, "no_message")
    if kind == "errored":
        error = result.get("error")
        # {"type": "error", "error": {"type": ..., "message": ...}} (an API error response),
        # or the inner object alone
        inner = error.get("error") if isinstance(error, dict) else None
        code, text = _describe(inner if isinstance(inner, dict) else error)
        outcome = Outcome.RETRY if code in _ANTHROPIC_RETRY else Outcome.FAILED
        return LineResult(custom_id, outcome, error if outcome is Outcome.FAILED else None,
                          text, None, None, code or "error")
    not_run = _ANTHROPIC_NOT_RUN.get(kind) if isinstance(kind, str) else None
    if not_run is not None:
        return LineResult(custom_id, Outcome.NOT_RUN, None, not_run, None, None, kind)
    return LineResult(custom_id, Outcome.FAILED, None, f"unknown result type {kind!r}", None,
                      None, "unknown_result")


def finish_reason(body: Any) -> str | None:
    """Why the model stopped, from a parsed response body: chat ``choices[0].finish_reason``,
    Claude's ``stop_reason``, the responses API's ``status``; None if it says none."""
    if type(body) is not dict:
        return None
    choices = body.get("choices")
    if type(choices) is list and choices:
        first = choices[0]
        reason = first.get("finish_reason") if type(first) is dict else None
        if type(reason) is str:
            return reason
    reason = body.get("stop_reason")
    if type(reason) is str:
        return reason
    reason = body.get("status")
    return reason if type(reason) is str else None
