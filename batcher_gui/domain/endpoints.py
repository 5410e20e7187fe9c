"""The endpoints a batch may target and what each requires of a request body."""

from __future__ import annotations

from dataclasses import dataclass

from batcher_gui.domain.models import ProfileKind


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """What the OpenAI Batch API expects of a request body for one endpoint.

    Attributes:
        url: the endpoint path, as it appears in a batch line's ``url``.
        required: body fields that must be present and non-empty.
        text_field: the body field a one-prompt-per-line or template import fills.
    """

    url: str
    required: tuple[str, ...]
    text_field: str


#: Anthropic's Messages API: the endpoint of every Claude batch (requests go inline).
MESSAGES_ENDPOINT = "/v1/messages"

ENDPOINTS: dict[str, EndpointSpec] = {
    spec.url: spec
    for spec in (
        EndpointSpec("/v1/chat/completions", ("messages",), "messages"),
        EndpointSpec("/v1/responses", ("input",), "input"),
        EndpointSpec("/v1/embeddings", ("input",), "input"),
        EndpointSpec("/v1/completions", ("prompt",), "prompt"),
        EndpointSpec("/v1/moderations", ("input",), "input"),
        EndpointSpec("/v1/images/generations", ("prompt",), "prompt"),
        EndpointSpec("/v1/images/edits", ("prompt", "image"), "prompt"),
        EndpointSpec("/v1/videos", ("prompt",), "prompt"),
        # Anthropic Messages (Claude): a Message Batches request's ``params``.
        EndpointSpec(MESSAGES_ENDPOINT, ("messages", "max_tokens"), "messages"),
    )
}

DEFAULT_ENDPOINT = "/v1/chat/completions"

#: ``max_tokens`` of a Claude request made from a template or a text line when the user
#: names none (Anthropic requires it on every request).
DEFAULT_MAX_TOKENS = 1024


def is_claude(kind: ProfileKind | str | None) -> bool:
    """Whether a profile of this kind sends Claude (Anthropic Messages) requests."""
    return kind == ProfileKind.ANTHROPIC


def default_endpoint(kind: ProfileKind | str | None) -> str:
    """The endpoint a template or text import targets on a profile of this kind."""
    return MESSAGES_ENDPOINT if is_claude(kind) else DEFAULT_ENDPOINT


def endpoint_mismatch(endpoint: str, kind: ProfileKind | str | None) -> str | None:
    """Why ``endpoint`` cannot be used on a profile of this kind (None: it can)."""
    if is_claude(kind) and endpoint != MESSAGES_ENDPOINT:
        return (f"{endpoint} is an OpenAI endpoint, but the profile is a Claude (anthropic) "
                f"profile, whose requests all go to {MESSAGES_ENDPOINT}: leave the endpoint "
                "out (or choose an OpenAI profile)")
    if not is_claude(kind) and endpoint == MESSAGES_ENDPOINT:
        return (f"{MESSAGES_ENDPOINT} is Anthropic's Messages endpoint, but the profile is an "
                "OpenAI profile: choose a Claude profile (kind anthropic) or another endpoint")
    return None

#: Short names accepted wherever the user types an endpoint (CLI, dialogs).
ENDPOINT_ALIASES: dict[str, str] = {
    "chat": "/v1/chat/completions",
    "chat/completions": "/v1/chat/completions",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
    "completions": "/v1/completions",
    "moderations": "/v1/moderations",
    "images/generations": "/v1/images/generations",
    "images/edits": "/v1/images/edits",
    "videos": "/v1/videos",
    "messages": MESSAGES_ENDPOINT,
}


def resolve_endpoint(name: str) -> str | None:
    """Turn a user-typed endpoint (``chat``, ``/v1/embeddings``, ``v1/responses``) into its URL.

    Returns None when it names no supported endpoint.
    """
    text = name.strip()
    if text in ENDPOINTS:
        return text
    key = text.lstrip("/")
    if key.startswith("v1/"):
        key = key[3:]
    return ENDPOINT_ALIASES.get(key)


def build_text_body(
    endpoint: str, model: str, text: str, system: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, object]:
    """The request body for one prompt text on ``endpoint`` (template and plain-text imports).

    A Claude request (``/v1/messages``) is Anthropic's Messages params: the system prompt
    goes to ``system`` (not a message) and ``max_tokens`` is always set (default
    :data:`DEFAULT_MAX_TOKENS`). ``max_tokens`` is not used for other endpoints.
    """
    spec = ENDPOINTS[endpoint]
    body: dict[str, object] = {"model": model}
    if endpoint == MESSAGES_ENDPOINT:
        body["max_tokens"] = max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS
        if system:
            body["system"] = system
        body["messages"] = [{"role": "user", "content": text}]
    elif spec.text_field == "messages":
        messages: list[dict[str, str]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": text})
        body["messages"] = messages
    else:
        body[spec.text_field] = text
        if system and endpoint == "/v1/responses":
            body["instructions"] = system
    return body
