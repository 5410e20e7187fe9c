"""Anthropic-shaped HTTP errors for the Message Batches face.

Anthropic answers every error as
``{"type": "error", "error": {"type": <error type>, "message": ...}, "request_id": "req_..."}``
with the same id in the ``request-id`` header; the SDK picks its exception class by status
(400 BadRequestError, 401 AuthenticationError, 404 NotFoundError, 413 ContentTooLargeError,
429 RateLimitError, 500 InternalServerError, 529 OverloadedError).
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from aiohttp import web

from .errors import SANDBOX_REFUSED, ApiError, json_response

#: The error type Anthropic uses for each status the sandbox answers.
ERROR_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES: Final = {
    401: f"{SANDBOX_REFUSED} invalid x-api-key",
    429: "Number of request tokens has exceeded your per-minute rate limit. Please retry later.",
    500: "Internal server error",
    529: "Overloaded",
}


class AnthropicError(Exception):
    """Raised by the Anthropic handlers; the middleware answers it in Anthropic's shape."""

    def __init__(self, status: int, message: str, *, error_type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or ERROR_TYPES.get(status, "api_error")
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": self.error_type, "message": self.message},
            "request_id": request_id,
        }

    def response(self, request_id: str) -> web.Response:
        return json_response(self.body(request_id), status=self.status, headers=self.headers)


def new_request_id() -> str:
    return f"req_011C{secrets.token_hex(12)}"


def from_openai(exc: ApiError) -> AnthropicError:
    """The Anthropic form of an error raised by code shared with the OpenAI face (auth,
    fault injection, unknown paths): the status stays, the type and wording become
    Anthropic's, a retry-after stays in whole or fractional seconds."""
    message = _DEFAULT_MESSAGES.get(exc.status, exc.message)
    headers = {}
    if "retry-after-ms" in exc.headers:
        headers["retry-after"] = seconds_header(int(exc.headers["retry-after-ms"]) / 1000)
    return AnthropicError(exc.status, message, headers=headers)


def seconds_header(seconds: float) -> str:
    """A ``retry-after`` value: integer seconds like Anthropic, fractions only below 1 s (the
    SDK accepts them) so tests do not wait whole seconds."""
    return str(int(seconds)) if seconds >= 1 or seconds <= 0 else f"{seconds:g}"


def invalid_request(message: str) -> AnthropicError:
    return AnthropicError(400, message)


def not_found(batch_id: str) -> AnthropicError:
    return AnthropicError(404, f"Message Batch {batch_id!r} not found.")


def rate_limited(message: str, retry_after_seconds: float) -> AnthropicError:
    headers = {"retry-after": seconds_header(retry_after_seconds)}
    return AnthropicError(429, message, headers=headers)
