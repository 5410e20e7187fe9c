"""Re-running a run with a change: what changes, which prompts, and each request rewritten.

Pure and typed. :func:`rewrite_body` turns one of the origin run's request bodies into the
re-run's (another model, system prompt or request options; OpenAI chat → Claude when the new
profile is a Claude one). Anything that cannot be carried over raises :class:`RerunRefused`
with the reason: nothing is dropped silently. The words (:func:`change_words`,
:func:`lineage_text`) are what the runs list, the CLI and the dialog show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from batcher_gui.domain.claude_convert import (
    ConversionError,
    chat_to_messages,
    openai_model_on_claude,
)
from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT, is_claude
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.intake import FileEstimate
from batcher_gui.domain.models import Profile, Run
from batcher_gui.domain.views import CheckState, PromptQuery

CHAT_ENDPOINT = "/v1/chat/completions"
RESPONSES_ENDPOINT = "/v1/responses"
#: Body fields an option may not set: they have their own change (or are the prompt itself).
_NOT_OPTIONS = {"model": "--model", "messages": "--template", "input": "--template",
                "prompt": "--template", "system": "--system", "instructions": "--system"}


class RerunRefused(InvalidInput):
    """A re-run that cannot be made as asked (the reason says what to do); nothing written."""


@dataclass(frozen=True, slots=True)
class RerunChange:
    """What the re-run changes; None (or empty) leaves that part as it was.

    Attributes:
        profile: another profile's name (OpenAI ↔ Claude converts the requests).
        model: another model for every request.
        system: another system prompt ("" removes it).
        template: another template, applied to the run's source file again.
        options: request fields set (temperature, max_tokens...); a None value removes one.
    """

    profile: str | None = None
    model: str | None = None
    system: str | None = None
    template: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (self.profile is None and self.model is None and self.system is None
                and self.template is None and not self.options)


@dataclass(frozen=True, slots=True)
class RerunScope:
    """Which of the origin run's prompts are re-run.

    Attributes:
        query: the prompts a filter selects (its run and order are not used); None: all.
        ids: exactly these prompts (a selection); used instead of ``query`` when given.
        words: how the user calls them ("failed checks", "selected", "shown", "different").
    """

    query: PromptQuery | None = None
    ids: tuple[int, ...] = ()
    words: str = ""

    @classmethod
    def everything(cls) -> RerunScope:
        return cls(words="all")

    @classmethod
    def failed(cls) -> RerunScope:
        from batcher_gui.domain.states import PromptState

        return cls(PromptQuery(states=(PromptState.FAILED, PromptState.EXPIRED)),
                   words="failed prompts")

    @classmethod
    def failed_checks(cls) -> RerunScope:
        return cls(PromptQuery(checks=(CheckState.FAILED,)), words="failed checks")

    @classmethod
    def of_ids(cls, ids: list[int] | tuple[int, ...], words: str = "selected") -> RerunScope:
        if not ids:
            raise RerunRefused("no prompts are selected: select the prompts to re-run")
        return cls(ids=tuple(sorted(set(ids))), words=words)

    @property
    def is_all(self) -> bool:
        return self.query is None and not self.ids


def parse_option(text: str) -> tuple[str, Any]:
    """``key=value`` as typed (``temperature=0.2``, ``stop=["\\n"]``, ``seed=null``): the value
    is read as JSON when it is JSON, else kept as text."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InvalidInput(f"an option is key=value (e.g. temperature=0.2), got {text!r}")
    if key in _NOT_OPTIONS:
        raise InvalidInput(f"{key!r} is not an option: use {_NOT_OPTIONS[key]} to change it")
    try:
        value: Any = json.loads(raw.strip())
    except ValueError:
        value = raw.strip()
    return key, value


def change_words(change: RerunChange) -> str:
    """The change in short words: ``model → gpt-4o, temperature → 0.2``."""
    parts = []
    if change.profile is not None:
        parts.append(f"profile → {change.profile}")
    if change.model is not None:
        parts.append(f"model → {change.model}")
    if change.template is not None:
        parts.append("new template")
    if change.system is not None:
        parts.append("no system prompt" if change.system == "" else "new system prompt")
    for key, value in change.options.items():
        parts.append(f"no {key}" if value is None else f"{key} → {_short(value)}")
    return ", ".join(parts) or "no change"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 24 else text[:23] + "…"


def scope_words(scope: RerunScope, count: int) -> str:
    """``18 failed checks``, ``all 120 prompts``, ``5 selected``."""
    if scope.is_all:
        return f"all {count:,} prompts"
    return f"{count:,} {scope.words or 'prompts'}"


def origin_record(change: RerunChange, scope: RerunScope, count: int) -> dict[str, Any]:
    """What ``runs.origin_change`` stores: each change, which prompts and how many."""
    record: dict[str, Any] = {}
    if change.profile is not None:
        record["profile"] = change.profile
    if change.model is not None:
        record["model"] = change.model
    if change.system is not None:
        record["system"] = change.system
    if change.template is not None:
        record["template"] = change.template
    if change.options:
        record["options"] = dict(change.options)
    record["only"] = "all" if scope.is_all else (scope.words or "selected")
    record["prompts"] = count
    return record


def change_from_record(record: dict[str, Any]) -> RerunChange:
    return RerunChange(record.get("profile"), record.get("model"), record.get("system"),
                       record.get("template"), dict(record.get("options") or {}))


def lineage_text(origin_id: int | None, record: dict[str, Any] | None) -> str:
    """``re-run of #3 (model → gpt-4o; 18 failed checks)`` ("" for a run made by an import)."""
    if origin_id is None:
        return ""
    if not record:
        return f"re-run of #{origin_id}"
    change = change_words(change_from_record(record))
    only, count = record.get("only", "all"), int(record.get("prompts", 0))
    which = f"all {count:,} prompts" if only == "all" else f"{count:,} {only}"
    return f"re-run of #{origin_id} ({change}; {which})"


def default_name(origin_name: str, change: RerunChange) -> str:
    """``reviews → gpt-4o``: the origin's name and the change (made unique when stored)."""
    if change.model is not None:
        what = change.model
    elif change.profile is not None:
        what = change.profile
    else:
        what = change_words(change)
    name = f"{origin_name} → {what}"
    return name if len(name) <= 120 else name[:119] + "…"


def rewrite_body(endpoint: str, body: dict[str, Any], change: RerunChange, target_kind: str,
                 default_max_tokens: int) -> tuple[str, dict[str, Any]]:
    """One request of the origin run as the re-run sends it: (endpoint, body).

    Raises:
        RerunRefused: the request cannot carry the change (a Claude request to an OpenAI
            profile, a system prompt on embeddings, an OpenAI model on a Claude profile...).
    """
    body = dict(body)
    to_claude = is_claude(target_kind)
    if change.model is not None:
        body["model"] = change.model
        if to_claude:
            reason = openai_model_on_claude(change.model)
            if reason:
                raise RerunRefused(reason)
    if to_claude and endpoint != MESSAGES_ENDPOINT:
        if endpoint != CHAT_ENDPOINT:
            raise RerunRefused(f"{endpoint} requests cannot be sent to a Claude profile: only "
                               "chat requests are converted to Claude requests")
        reason = openai_model_on_claude(str(body.get("model", "")))
        if reason:
            raise RerunRefused(reason)
        try:
            body, _notes = chat_to_messages(body, default_max_tokens)
        except ConversionError as exc:
            raise RerunRefused(str(exc)) from None
        endpoint = MESSAGES_ENDPOINT
    elif not to_claude and endpoint == MESSAGES_ENDPOINT:
        raise RerunRefused("Claude requests cannot be converted to OpenAI requests (Batcher "
                           "has no converter that way): re-run them on a Claude profile")
    if change.system is not None:
        _set_system(endpoint, body, change.system)
    for key, value in change.options.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return endpoint, body


def _set_system(endpoint: str, body: dict[str, Any], system: str) -> None:
    if endpoint == MESSAGES_ENDPOINT:
        if system:
            body["system"] = system
        else:
            body.pop("system", None)
    elif endpoint == CHAT_ENDPOINT:
        # The first system (or developer) message is the system prompt; others stay in place.
        messages = list(body.get("messages") or [])
        first = next((i for i, m in enumerate(messages) if isinstance(m, dict)
                      and m.get("role") in ("system", "developer")), None)
        if first is not None:
            del messages[first]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        body["messages"] = messages
    elif endpoint == RESPONSES_ENDPOINT:
        if system:
            body["instructions"] = system
        else:
            body.pop("instructions", None)
    else:
        raise RerunRefused(f"{endpoint} requests have no system prompt to change")


@dataclass(slots=True)
class RerunPlan:
    """What a re-run will do, before anything is written (the dialog's and CLI's summary).

    Attributes:
        examples: (custom_id, request before, request after) of the first prompts.
        estimate: tokens and cost of every new request (None: not asked for).
    """

    origin: Run
    profile: Profile
    change: RerunChange
    scope: RerunScope
    count: int
    name: str
    examples: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    estimate: FileEstimate | None = None

    @property
    def words(self) -> str:
        """``re-run of #3 (model → gpt-4o; 18 failed checks)``."""
        return lineage_text(self.origin.id, origin_record(self.change, self.scope, self.count))

    @property
    def which(self) -> str:
        return scope_words(self.scope, self.count)
