"""Checks of JSONL request bodies against what each endpoint requires.

Two versions of every rule: quick predicates for the hot loop, and ``explain_required`` that
words the error. They must agree; the property tests check that they do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batcher_gui.domain.endpoints import ENDPOINTS, MESSAGES_ENDPOINT
from batcher_gui.importing.common import show

Body = dict[str, Any]
BodyCheck = Callable[[Body], bool]

# --- quick checks: True when the field is fine; must agree with explain_required ------------


def _messages_ok(body: Body) -> bool:
    messages = body.get("messages")
    if type(messages) is not list or not messages:
        return False
    # A plain loop: all() over a generator, or over map(dict.__contains__, ...), costs more
    # for the usual one to three messages (measured).
    for message in messages:  # noqa: SIM110
        if type(message) is not dict or "role" not in message:
            return False
    return True


def _input_ok(body: Body) -> bool:
    value = body.get("input")
    return (type(value) is str or type(value) is list) and len(value) > 0


def _prompt_ok(body: Body) -> bool:
    value = body.get("prompt")
    return (type(value) is str or type(value) is list) and len(value) > 0


_FIELD_CHECKS: dict[str, BodyCheck] = {
    "messages": _messages_ok,
    "input": _input_ok,
    "prompt": _prompt_ok,
}


def _present(field: str) -> BodyCheck:
    """A check for a required field with no special shape: not missing, null, "" or []."""

    def check(body: Body) -> bool:
        value = body.get(field)
        return value is not None and value != "" and value != []

    return check


def _all_of(checks: list[BodyCheck]) -> BodyCheck:
    def check(body: Body) -> bool:
        return all(c(body) for c in checks)

    return check


def claude_ok(body: Body) -> bool:
    """Whether a Claude request (Messages params) has a usable ``max_tokens``, ``messages``
    and ``system``; must agree with :func:`explain_claude`."""
    max_tokens = body.get("max_tokens")
    if type(max_tokens) is not int or max_tokens < 1:
        return False
    system = body.get("system")
    if system is not None and type(system) is not str and type(system) is not list:
        return False
    messages = body.get("messages")
    if type(messages) is not list or not messages:
        return False
    for message in messages:
        if type(message) is not dict or message.get("role") not in CLAUDE_ROLES:
            return False
        content = message.get("content")
        if type(content) is str:
            continue
        if type(content) is not list or not content:
            return False
        for block in content:
            if type(block) is not dict or type(block.get("type")) is not str:
                return False
    return True


#: The roles a Claude message may have (a system prompt is the request's ``system``).
CLAUDE_ROLES = ("user", "assistant")


def endpoint_checks() -> dict[str, BodyCheck]:
    """One body check per OpenAI endpoint URL, so the hot loop makes a single call per line.

    ``/v1/messages`` is not among them: Claude requests are read by the Claude reader
    (:mod:`batcher_gui.importing.claude`), and only into a Claude profile.
    """
    result: dict[str, BodyCheck] = {}
    for url, spec in ENDPOINTS.items():
        if url == MESSAGES_ENDPOINT:
            continue
        checks = [_FIELD_CHECKS.get(name) or _present(name) for name in spec.required]
        result[url] = checks[0] if len(checks) == 1 else _all_of(checks)
    return result


# --- careful checks: the wording of every per-line error ------------------------------------


def explain_required(url: str, field: str, body: Body) -> tuple[str, str] | None:
    """(field, message) for a required body field that is unusable, else None."""
    where = f"body.{field}"
    if field not in body:
        return where, f"missing required field '{where}' (needed for {url})"
    value = body[field]
    if value is None:
        return where, f"'{where}' must not be null (needed for {url})"
    if field == "messages":
        if type(value) is not list:
            return where, f"'{where}' must be a list of messages, got {show(value)}"
        if not value:
            return where, (
                f"'{where}' is empty; expected at least one message such as "
                '{"role": "user", "content": "..."}'
            )
        for i, message in enumerate(value):
            if type(message) is not dict:
                return f"{where}[{i}]", f"expected a message object, got {show(message)}"
            if "role" not in message:
                return f"{where}[{i}].role", f"message {i} has no 'role' (e.g. \"user\")"
        return None
    if field in ("input", "prompt"):
        if type(value) is not str and type(value) is not list:
            return where, f"'{where}' must be a string or a list, got {show(value)}"
        if not value:
            return where, f"'{where}' must not be empty"
        return None
    if value == "" or value == []:
        return where, f"'{where}' must not be empty"
    return None


def explain_claude(body: Body, where: str) -> tuple[str, str] | None:
    """(field, message) for the first unusable part of a Claude request, else None.

    ``where`` prefixes field names: ``params`` for a Message Batches line, ``body`` for a
    batch line with ``url`` ``/v1/messages``.
    """
    if "max_tokens" not in body:
        return f"{where}.max_tokens", (f"missing required field '{where}.max_tokens' (Claude "
                                       "needs it; or pass --max-tokens)")
    max_tokens = body["max_tokens"]
    if type(max_tokens) is not int or max_tokens < 1:
        return f"{where}.max_tokens", (f"'{where}.max_tokens' must be a whole number of at "
                                       f"least 1, got {show(max_tokens)}")
    system = body.get("system")
    if system is not None and type(system) is not str and type(system) is not list:
        return f"{where}.system", (f"'{where}.system' must be a string or a list of text "
                                   f"blocks, got {show(system)}")
    if "messages" not in body:
        return f"{where}.messages", f"missing required field '{where}.messages'"
    messages = body["messages"]
    if type(messages) is not list:
        return f"{where}.messages", (f"'{where}.messages' must be a list of messages, got "
                                     f"{show(messages)}")
    if not messages:
        return f"{where}.messages", (f"'{where}.messages' is empty; expected at least one "
                                     'message such as {"role": "user", "content": "..."}')
    for i, message in enumerate(messages):
        at = f"{where}.messages[{i}]"
        if type(message) is not dict:
            return at, f"expected a message object, got {show(message)}"
        role = message.get("role")
        if role not in CLAUDE_ROLES:
            hint = (f" (a system prompt goes in '{where}.system')"
                    if role in ("system", "developer") else "")
            return f"{at}.role", f"role must be \"user\" or \"assistant\", got {show(role)}{hint}"
        content = message.get("content")
        if type(content) is str:
            continue
        if type(content) is not list:
            return f"{at}.content", (f"content must be a string or a list of content blocks, "
                                     f"got {show(content)}")
        if not content:
            return f"{at}.content", "content is an empty list; expected at least one block"
        for j, block in enumerate(content):
            if type(block) is not dict or type(block.get("type")) is not str:
                return f"{at}.content[{j}]", (
                    f"expected a content block such as {{\"type\": \"text\", \"text\": ...}}, "
                    f"got {show(block)}")
    return None
