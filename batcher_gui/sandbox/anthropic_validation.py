"""What Anthropic checks in a Message Batches create (and a count_tokens) body.

Errors name the place the way Anthropic's validator does (``requests.3.params.max_tokens:
Field required``) and are raised as 400 ``invalid_request_error``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from .anthropic_errors import invalid_request

CUSTOM_ID: Final = re.compile(r"[a-zA-Z0-9_-]{1,64}")
CUSTOM_ID_PATTERN: Final = "^[a-zA-Z0-9_-]{1,64}$"
ROLES: Final = ("user", "assistant")
#: Messages fields count_tokens does not take (Anthropic answers "Extra inputs are not
#: permitted" for them).
NOT_FOR_COUNTING: Final = frozenset({
    "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata", "stream",
    "service_tier", "container", "inference_geo", "diagnostics",
})


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), "null")


def check_messages(messages: Any, where: str) -> None:
    if messages is None:
        raise invalid_request(f"{where}: Field required")
    if not isinstance(messages, list):
        raise invalid_request(f"{where}: Input should be a valid list, not {_type_name(messages)}")
    if not messages:
        raise invalid_request(f"{where}: List should have at least 1 item after validation, not 0")
    for k, message in enumerate(messages):
        place = f"{where}.{k}"
        if not isinstance(message, dict):
            raise invalid_request(f"{place}: Input should be an object")
        if message.get("role") not in ROLES:
            raise invalid_request(f"{place}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if content is None:
            raise invalid_request(f"{place}.content: Field required")
        if not isinstance(content, str | list):
            raise invalid_request(f"{place}.content: Input should be a string or a list of "
                                  "content blocks")


def check_model(model: Any, where: str) -> None:
    if model is None:
        raise invalid_request(f"{where}: Field required")
    if not isinstance(model, str) or not model:
        raise invalid_request(f"{where}: Input should be a non-empty string")


def check_params(params: Any, where: str) -> None:
    if params is None:
        raise invalid_request(f"{where}: Field required")
    if not isinstance(params, dict):
        raise invalid_request(f"{where}: Input should be an object")
    check_model(params.get("model"), f"{where}.model")
    max_tokens = params.get("max_tokens")
    if max_tokens is None:
        raise invalid_request(f"{where}.max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise invalid_request(f"{where}.max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise invalid_request(
            f"{where}.max_tokens: Input should be greater than or equal to 1")
    check_messages(params.get("messages"), f"{where}.messages")
    if params.get("stream") is True:
        raise invalid_request(f"{where}.stream: streaming is not supported in Message Batches")


def check_create(body: Any, max_requests: int) -> list[dict[str, Any]]:
    """The requests of a valid create body; raises AnthropicError (400) otherwise."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    for name in body:
        if name != "requests":
            raise invalid_request(f"{name}: Extra inputs are not permitted")
    requests = body.get("requests")
    if requests is None:
        raise invalid_request("requests: Field required")
    if not isinstance(requests, list):
        raise invalid_request(f"requests: Input should be a valid list, not "
                              f"{_type_name(requests)}")
    if not requests:
        raise invalid_request("requests: List should have at least 1 item after validation, "
                              "not 0")
    if len(requests) > max_requests:
        raise invalid_request(f"requests: List should have at most {max_requests} items after "
                              f"validation, not {len(requests)}")
    first_at: dict[str, int] = {}
    for index, request in enumerate(requests):
        where = f"requests.{index}"
        if not isinstance(request, dict):
            raise invalid_request(f"{where}: Input should be an object")
        for name in request:
            if name not in ("custom_id", "params"):
                raise invalid_request(f"{where}.{name}: Extra inputs are not permitted")
        custom_id = request.get("custom_id")
        if custom_id is None:
            raise invalid_request(f"{where}.custom_id: Field required")
        if not isinstance(custom_id, str) or not CUSTOM_ID.fullmatch(custom_id):
            raise invalid_request(
                f"{where}.custom_id: String should match pattern '{CUSTOM_ID_PATTERN}'")
        if custom_id in first_at:
            raise invalid_request(
                f"{where}.custom_id: Duplicate custom_id '{custom_id}' (also at "
                f"requests.{first_at[custom_id]}); custom_id must be unique within a batch.")
        first_at[custom_id] = index
        check_params(request.get("params"), f"{where}.params")
    return requests


def check_count_tokens(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    for name in sorted(body):
        if name in NOT_FOR_COUNTING:
            raise invalid_request(f"{name}: Extra inputs are not permitted")
    check_model(body.get("model"), "model")
    check_messages(body.get("messages"), "messages")
    return body

