"""map_error: every SDK / transport failure becomes the right ProviderError kind."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from batcher_gui.domain.remote import NotFoundRemote, PermanentError, ProviderError, RetryLater
from batcher_gui.providers import map_error, retry_after_seconds

URL = "http://127.0.0.1:9/v1/batches"


def request() -> httpx2.Request:
    return httpx2.Request("POST", URL)


def response(status: int, body: Any = None, headers: dict[str, str] | None = None
             ) -> httpx2.Response:
    if body is None:
        body = {"error": {"message": f"failure {status}", "type": "x", "param": None,
                          "code": f"code_{status}"}}
    return httpx2.Response(status, json=body, headers=headers or {}, request=request())


_client: openai.OpenAI | None = None


@pytest.fixture(scope="module", autouse=True)
def _sdk_client() -> Iterator[None]:
    """One client for the module: building one loads TLS settings (~0.1 s each)."""
    global _client
    with openai.OpenAI(api_key="sk-x", base_url="http://127.0.0.1:9/v1") as client:
        _client = client
        yield
    _client = None


def sdk_error(status: int, body: Any = None,
              headers: dict[str, str] | None = None) -> openai.APIStatusError:
    """The exception the SDK itself builds from an HTTP error response."""
    assert _client is not None
    return _client._make_status_error_from_response(response(status, body, headers))


@pytest.mark.parametrize(
    ("status", "sdk_class"),
    [(429, openai.RateLimitError), (500, openai.InternalServerError),
     (502, openai.InternalServerError), (503, openai.InternalServerError),
     (408, openai.APIStatusError), (409, openai.ConflictError)],
)
def test_transient_statuses_retry_later(status: int, sdk_class: type[Exception]) -> None:
    exc = sdk_error(status)
    assert type(exc) is sdk_class
    mapped = map_error(exc)
    assert type(mapped) is RetryLater
    assert mapped.status == status
    assert mapped.code == f"code_{status}"
    assert f"failure {status}" in str(mapped)
    assert mapped.retry_after is None


@pytest.mark.parametrize(
    ("status", "sdk_class"),
    [(400, openai.BadRequestError), (401, openai.AuthenticationError),
     (403, openai.PermissionDeniedError), (422, openai.UnprocessableEntityError),
     (413, openai.APIStatusError)],
)
def test_client_errors_are_permanent(status: int, sdk_class: type[Exception]) -> None:
    exc = sdk_error(status)
    assert type(exc) is sdk_class
    mapped = map_error(exc)
    assert type(mapped) is PermanentError
    assert (mapped.status, mapped.code) == (status, f"code_{status}")
    assert f"failure {status}" in str(mapped)


def test_not_found() -> None:
    mapped = map_error(sdk_error(404))
    assert type(mapped) is NotFoundRemote
    assert isinstance(mapped, PermanentError)
    assert mapped.status == 404


def test_authentication_tells_to_check_the_key() -> None:
    mapped = map_error(sdk_error(401), profile_name="work")
    assert "API key" in str(mapped)
    assert "profile 'work'" in str(mapped)
    assert "batcher keys set work" in str(mapped)


def test_insufficient_quota_is_permanent() -> None:
    body = {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota",
                      "type": "insufficient_quota", "param": None}}
    mapped = map_error(sdk_error(429, body))
    assert type(mapped) is PermanentError
    assert mapped.code == "insufficient_quota"
    assert "billing" in str(mapped)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after-ms": "1500"}, 1.5), ({"retry-after": "7"}, 7.0),
     ({"retry-after": "0.25"}, 0.25), ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
     ({"retry-after": "soon"}, None), ({}, None)],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    exc = sdk_error(429, headers=headers)
    assert retry_after_seconds(exc) == expected
    mapped = map_error(exc)
    assert isinstance(mapped, RetryLater)
    assert mapped.retry_after == expected


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    mapped = map_error(sdk_error(503, headers={"retry-after": when}))
    assert isinstance(mapped, RetryLater)
    assert mapped.retry_after is not None and 25 <= mapped.retry_after <= 31


def test_non_json_error_body() -> None:
    resp = httpx2.Response(502, text="<html>Bad gateway</html>", request=request())
    assert _client is not None
    exc = _client._make_status_error_from_response(resp)
    mapped = map_error(exc)
    assert type(mapped) is RetryLater
    assert mapped.status == 502 and mapped.code is None
    assert "Bad gateway" in str(mapped)


def test_connection_and_timeout_errors() -> None:
    timeout = map_error(openai.APITimeoutError(request=request()))
    assert type(timeout) is RetryLater and timeout.code == "timeout"
    try:
        raise openai.APIConnectionError(request=request()) from httpx2.ConnectError("refused")
    except openai.APIConnectionError as exc:
        conn = map_error(exc)
    assert type(conn) is RetryLater and conn.code == "connection_error"
    assert "refused" in str(conn)


@pytest.mark.parametrize(
    "exc",
    [httpx2.ReadError("reset"), httpx2.RemoteProtocolError("peer closed"),
     httpx2.ReadTimeout("slow"), httpx2.ConnectError("refused"), ConnectionResetError(),
     TimeoutError()],
)
def test_transport_errors_retry_later(exc: Exception) -> None:
    assert type(map_error(exc)) is RetryLater


def test_response_validation_error_is_permanent() -> None:
    exc = openai.APIResponseValidationError(response(200, {"id": 1}), body={"id": 1})
    mapped = map_error(exc)
    assert type(mapped) is PermanentError
    assert mapped.status == 200 and mapped.code == "invalid_response"


def test_other_errors_stay_in_the_family() -> None:
    assert type(map_error(openai.OpenAIError("Missing credentials"))) is PermanentError
    assert type(map_error(ValueError("Expected a non-empty value"))) is PermanentError
    already = RetryLater("x", retry_after=3)
    assert map_error(already) is already
    assert all(isinstance(map_error(e), ProviderError)
               for e in (KeyError("k"), RuntimeError("r"), OSError("o")))
