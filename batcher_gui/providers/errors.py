"""Turn whatever the OpenAI or Anthropic SDK (or their transport) raises into the engine's
ProviderError kinds.

The engine decides what to do from the class alone: ``RetryLater`` (same call, later),
``NotFoundRemote`` (the object is gone) or ``PermanentError`` (tell the user). Messages are
shown to users, so they say what happened and, where there is one, what to do.
"""

from __future__ import annotations

import email.utils
import math
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx2
import openai

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.remote import NotFoundRemote, PermanentError, ProviderError, RetryLater
from batcher_gui.domain.secrecy import mask

try:  # a classic httpx client can be plugged into the SDK; its errors must map the same way
    import httpx as _httpx
except ImportError:  # pragma: no cover - httpx is optional (the SDK uses httpx2)
    _httpx = None

# TimeoutError/ConnectionError: raw socket failures that a transport did not wrap.
_TIMEOUT_ERRORS: tuple[type[BaseException], ...] = (httpx2.TimeoutException, TimeoutError)
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (httpx2.TransportError, ConnectionError)
if _httpx is not None:  # pragma: no cover - depends on the environment
    _TRANSPORT_ERRORS += (_httpx.TransportError,)
    _TIMEOUT_ERRORS += (_httpx.TimeoutException,)

if TYPE_CHECKING:
    import anthropic

    APIError = openai.APIError | anthropic.APIError
    APIStatusError = openai.APIStatusError | anthropic.APIStatusError


def _sdk_classes(name: str) -> tuple[type[Any], ...]:
    """An exception class of the OpenAI SDK, with its Anthropic twin when that SDK is loaded
    (both are generated alike; an Anthropic error cannot exist before its SDK is imported,
    which costs seconds that OpenAI-only users should not pay)."""
    found: tuple[type[Any], ...] = (getattr(openai, name),)
    claude = sys.modules.get("anthropic")
    if claude is not None:
        found += (getattr(claude, "AnthropicError" if name == "OpenAIError" else name),)
    return found

#: Statuses worth retrying: the SDK retries the same ones (request timeout, lock conflict).
_RETRY_STATUSES = frozenset({408, 409, 429})


class ProviderConfigError(BatcherError):
    """A profile cannot be turned into a provider client (no base URL, bad URL...)."""


def _header_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date), else None."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / divisor
        except ValueError:
            continue
        if math.isfinite(value) and value >= 0:
            return value
    raw_date = headers.get("retry-after")
    if raw_date:
        try:
            parsed = email.utils.parsedate_tz(raw_date)
            if parsed is not None:
                return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def retry_after_seconds(exc: APIStatusError) -> float | None:
    """What the provider asked us to wait before trying again, if it said."""
    return _header_retry_after(exc.response.headers)


def _anthropic_error(body: object) -> Mapping[str, object] | None:
    """The ``error`` object of Anthropic's ``{"type": "error", "error": {type, message}}``."""
    if isinstance(body, Mapping) and body.get("type") == "error" \
            and isinstance(body.get("error"), Mapping):
        return body["error"]
    return None


def _code(exc: APIStatusError) -> str | None:
    """OpenAI's ``error.code``, or Anthropic's ``error.type`` (``overloaded_error``...)."""
    if isinstance(exc, openai.APIStatusError):
        return exc.code
    inner = _anthropic_error(exc.body)
    kind = inner.get("type") if inner is not None else None
    return kind if isinstance(kind, str) else None


def _provider_message(exc: APIError) -> str:
    """The provider's own message (``error.message``) rather than the SDK's "Error code: ...",
    masked: a provider may quote the key it was sent ("Incorrect API key provided: ...")."""
    body = _anthropic_error(exc.body) or exc.body
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            return mask(message)
    elif isinstance(body, str) and body.strip():
        # A proxy's HTML error page can be long: keep the start (masked first, so a key is
        # never cut into a piece the masking no longer recognises).
        return mask(body.strip())[:500]
    return mask(exc.message)


def _status_error(exc: APIStatusError, profile_name: str | None) -> ProviderError:
    status = exc.status_code
    code = _code(exc)
    # Without its final full stop: the detail is followed by one of ours ("...: detail. Check").
    detail = _provider_message(exc).rstrip(". ")
    where = f" for profile '{profile_name}'" if profile_name else ""
    if status == 429 and code == "insufficient_quota":
        # OpenAI answers 429 when the account is out of credit: retrying never helps.
        return PermanentError(
            f"The provider says the account{where} has no quota left (429 insufficient_quota): "
            f"{detail}. Check the plan and billing details of the account.",
            status=status, code=code,
        )
    if status == 429 and "spend limit" in detail.lower() \
            and retry_after_seconds(exc) is None:
        # Anthropic's workspace spend cap: no retry-after, and waiting does not lift it.
        return PermanentError(
            f"The provider says the account{where} reached its spend limit (429): {detail}. "
            "Raise the limit in the provider's console, or wait for the next month.",
            status=status, code=code or "spend_limit",
        )
    if status in _RETRY_STATUSES or status >= 500:
        return RetryLater(
            f"The provider is busy or failing ({status}{f' {code}' if code else ''}): {detail}",
            status=status, code=code, retry_after=retry_after_seconds(exc),
        )
    if status == 404:
        return NotFoundRemote(f"The provider does not know this object (404): {detail}",
                              status=status, code=code)
    if status == 401:
        hint = (f"`batcher keys set {profile_name}`" if profile_name
                else "`batcher keys set PROFILE`")
        return PermanentError(
            f"The provider rejected the API key{where} (401): {detail}. Check the API key for "
            f"the profile: store a new one with {hint}, or fix the environment variable it uses.",
            status=status, code=code,
        )
    if status == 403:
        return PermanentError(
            f"The API key{where} is not allowed to do this (403"
            f"{f' {code}' if code else ''}): {detail}. Check the key's project, organisation "
            "and permissions.",
            status=status, code=code,
        )
    return PermanentError(
        f"The provider refused the request ({status}{f' {code}' if code else ''}): {detail}",
        status=status, code=code,
    )


def map_error(exc: BaseException, *, profile_name: str | None = None) -> ProviderError:
    """The ProviderError kind for an exception raised by the SDK or its HTTP transport.

    Unknown exceptions become ``PermanentError`` so that the engine only ever sees the
    ProviderError family; callers chain the original (``raise ... from exc``) for the traceback.
    """
    if isinstance(exc, ProviderError):
        return exc
    # Order matters: APITimeoutError < APIConnectionError < APIError, and the validation
    # error is an APIError with a status that must not be mistaken for a status error.
    if isinstance(exc, _sdk_classes("APIResponseValidationError")):
        return PermanentError(
            f"The provider sent a response Batcher cannot read: {mask(exc.message)}",
            status=exc.status_code, code="invalid_response",
        )
    if isinstance(exc, _sdk_classes("APITimeoutError")):
        return RetryLater("The provider did not answer in time.", code="timeout")
    if isinstance(exc, _sdk_classes("APIConnectionError")):
        cause = exc.__cause__ or exc.__context__
        why = f": {type(cause).__name__}: {mask(str(cause))}" if cause is not None else ""
        return RetryLater(f"Could not reach the provider{why}", code="connection_error")
    if isinstance(exc, _sdk_classes("APIStatusError")):
        return _status_error(exc, profile_name)
    if isinstance(exc, _TIMEOUT_ERRORS):
        # Raised outside the SDK's request loop, e.g. while streaming a download.
        return RetryLater(f"The provider stopped answering: {type(exc).__name__}", code="timeout")
    if isinstance(exc, _TRANSPORT_ERRORS):
        return RetryLater(f"The connection to the provider failed: {type(exc).__name__}: "
                          f"{mask(str(exc))}",
                          code="connection_error")
    if isinstance(exc, _sdk_classes("OpenAIError")):
        return PermanentError(f"The provider's client refused the call: {mask(str(exc))}")
    return PermanentError(f"Unexpected error talking to the provider: {type(exc).__name__}: "
                          f"{mask(str(exc))}")
