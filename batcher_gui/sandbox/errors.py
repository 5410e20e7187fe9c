"""OpenAI-shaped HTTP errors.

The SDK unwraps ``body["error"]`` into `e.message/e.type/e.param/e.code`, so every
error answer must be exactly ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

SERVER_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! You can retry "
    "your request, or contact us through our help center at help.openai.com if the error "
    "persists."
)

#: Leads every 401 answer: who refused, and why (the rest is OpenAI's own wording).
SANDBOX_REFUSED = (
    "The Batcher sandbox refused the key: it answers only the token given to whoever started it "
    "(the built-in sandbox: the Batcher process that started it)."
)


class ApiError(Exception):
    """Raised by handlers; the outer middleware turns it into an OpenAI error answer."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status, headers=self.headers)


def json_response(
    payload: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def not_found(kind: str, object_id: str, param: str | None = None) -> ApiError:
    # OpenAI's wording for unknown ids, e.g. "No such File object: file-abc".
    return ApiError(404, f"No such {kind} object: {object_id}", param=param)


def server_error() -> ApiError:
    return ApiError(500, SERVER_ERROR_MESSAGE, type="server_error")


def overloaded() -> ApiError:
    """Anthropic's 529 (the Anthropic routes re-shape it; OpenAI routes answer it as is)."""
    return ApiError(529, "Overloaded", type="overloaded_error")


def rate_limited(retry_after_ms: int) -> ApiError:
    seconds = max(0, round(retry_after_ms / 1000))
    return ApiError(
        429,
        "Rate limit reached for requests. Please try again shortly.",
        type="requests",
        code="rate_limit_exceeded",
        headers={"retry-after-ms": str(retry_after_ms), "retry-after": str(seconds)},
    )


def missing_key() -> ApiError:
    return ApiError(
        401,
        f"{SANDBOX_REFUSED} You didn't provide an API key. You need to provide your API key "
        "in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
        "or as the password field (with blank username) if you're accessing the API from your "
        "browser and are prompted for a username and password. You can obtain an API key from "
        "https://platform.openai.com/account/api-keys.",
    )


def invalid_key(key: str) -> ApiError:
    """What OpenAI answers for a key it does not know (the key shown masked, like OpenAI)."""
    shown = f"{key[:3]}{'*' * max(len(key) - 7, 4)}{key[-4:]}" if len(key) > 8 else "****"
    return ApiError(
        401,
        f"{SANDBOX_REFUSED} Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )
