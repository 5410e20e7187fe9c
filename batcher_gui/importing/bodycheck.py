"""Checks of JSONL request bodies against what each endpoint requires.

Two versions of every rule: quick predicates for the hot loop, and ``explain_required`` that
words the error. They must agree; the property tests check that they do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batcher_gui.domain.endpoints import ENDPOINTS
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


def endpoint_checks() -> dict[str, BodyCheck]:
    """One body check per endpoint URL, so the hot loop makes a single call per line."""
    result: dict[str, BodyCheck] = {}
    for url, spec in ENDPOINTS.items():
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
