"""The intake API's request line: the predecessor's ``POST /api/requests`` schema, checked.

Pure functions, no I/O. A request is one OpenAI batch JSONL line (``custom_id``, ``method``,
``url``, ``body`` with a ``model``) plus, optionally, the predecessor's ``delivery_config``
(a webhook) and Batcher's own ``run`` and ``profile``. Nothing else is allowed at the top level
(the predecessor's ``additionalProperties: false``).

Problems are :class:`FieldProblem` s, rendered as the predecessor rendered them (OpenApiSpex's
422 body): ``{"errors": [{"title": "Invalid value", "source": {"pointer": "/custom_id"},
"detail": "Missing field: custom_id"}]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from batcher_gui.domain.wording import json_type

#: The predecessor's endpoints (``types/openai_batch_endpoints.ex``), in its order.
INTAKE_ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/completions",
                    "/v1/embeddings", "/v1/moderations")
REQUIRED = ("custom_id", "method", "url", "body")
ALLOWED = (*REQUIRED, "delivery_config", "run", "profile")
#: Longest custom_id taken (as the file import's limit).
MAX_CUSTOM_ID = 4096
#: Longest run name taken from a caller.
MAX_RUN_NAME = 200


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem of a request: where (a JSON pointer) and what, in the predecessor's words."""

    pointer: str
    detail: str
    title: str = "Invalid value"

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "source": {"pointer": self.pointer}, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    """A request that passed the schema: what the workspace stores of it.

    Attributes:
        custom_id: the caller's id (unique across every intake run).
        url: the endpoint.
        model: ``body.model``.
        body: the request body as sent (re-encoded by the caller of :func:`check_request`).
        webhook: the ``delivery_config`` webhook URL, if one was given.
        run: the run named by the request, if any (a header may name one too).
        profile: the profile named by the request, if any.
    """

    custom_id: str
    url: str
    model: str
    body: dict[str, Any]
    webhook: str | None = None
    run: str | None = None
    profile: str | None = None


def _text_field(obj: dict[str, Any], name: str, problems: list[FieldProblem]) -> str | None:
    if name not in obj:
        problems.append(FieldProblem(f"/{name}", f"Missing field: {name}"))
        return None
    value = obj[name]
    if type(value) is not str:
        problems.append(FieldProblem(f"/{name}", f"Invalid {json_type(value)}. Expected "
                                                 f"string"))
        return None
    return value


def webhook_url_ok(url: str) -> bool:
    """http(s) with a non-empty host: docker-style hosts (``http://hook:8080``) are fine, as
    in the predecessor since 0.1.18."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(
            c.isspace() for c in url)
    except ValueError:
        return False


def _delivery(value: Any, problems: list[FieldProblem]) -> str | None:
    """The webhook URL of a delivery_config (the predecessor's messages), else None."""
    where = "/delivery_config"
    if type(value) is not dict:
        problems.append(FieldProblem(where, f"Invalid {json_type(value)}. Expected object"))
        return None
    kind = value.get("type")
    if kind is None:
        problems.append(FieldProblem(f"{where}/type", "type is required"))
        return None
    if kind == "rabbitmq":
        problems.append(FieldProblem(f"{where}/type", "unsupported delivery type: rabbitmq "
                                     "(Batcher delivers to webhooks only)"))
        return None
    if kind != "webhook":
        problems.append(FieldProblem(f"{where}/type", f"unsupported delivery type: {kind}"))
        return None
    for extra in sorted(set(value) - {"type", "webhook_url"}):
        problems.append(FieldProblem(f"{where}/{extra}", f"Unexpected field: {extra}"))
    url = value.get("webhook_url")
    if url is None or url == "":
        problems.append(FieldProblem(f"{where}/webhook_url",
                                     "webhook_url is required for webhook delivery"))
        return None
    if type(url) is not str or not webhook_url_ok(url):
        problems.append(FieldProblem(f"{where}/webhook_url",
                                     "webhook_url must be a valid HTTP/HTTPS URL"))
        return None
    return url


def check_request(obj: Any) -> IntakeRequest | list[FieldProblem]:
    """The request a parsed JSON value makes, or every schema problem found in it."""
    if type(obj) is not dict:
        return [FieldProblem("", f"Invalid {json_type(obj)}. Expected object")]
    problems: list[FieldProblem] = []
    for extra in obj:
        if extra not in ALLOWED:
            problems.append(FieldProblem(f"/{extra}", f"Unexpected field: {extra}"))
    custom_id = _text_field(obj, "custom_id", problems)
    if custom_id is not None and not 0 < len(custom_id) <= MAX_CUSTOM_ID:
        problems.append(FieldProblem("/custom_id", f"custom_id must be 1 to {MAX_CUSTOM_ID} "
                                                   "characters"))
    method = _text_field(obj, "method", problems)
    if method is not None and method != "POST":
        problems.append(FieldProblem("/method", "Invalid value for enum (expected POST)"))
    url = _text_field(obj, "url", problems)
    if url is not None and url not in INTAKE_ENDPOINTS:
        problems.append(FieldProblem("/url", "Invalid value for enum (expected one of "
                                             f"{', '.join(INTAKE_ENDPOINTS)})"))
    model: str | None = None
    if "body" not in obj:
        problems.append(FieldProblem("/body", "Missing field: body"))
    elif type(body := obj["body"]) is not dict:
        problems.append(FieldProblem("/body", f"Invalid {json_type(body)}. Expected object"))
    elif "model" not in body:
        problems.append(FieldProblem("/body/model", "Missing field: model"))
    elif type(body["model"]) is not str or not body["model"].strip():
        problems.append(FieldProblem("/body/model", "model must be a non-empty string"))
    else:
        model = body["model"]
    webhook = _delivery(obj["delivery_config"], problems) if "delivery_config" in obj else None
    run = _optional_name(obj, "run", problems)
    profile = _optional_name(obj, "profile", problems)
    # A NUL cannot be stored in a text column of PostgreSQL (nor shown sensibly anywhere).
    for name, value in (("custom_id", custom_id), ("body/model", model)):
        if value is not None and "\x00" in value:
            problems.append(FieldProblem(f"/{name}", f"{name.split('/')[-1]} must not contain "
                                                     "a NUL character"))
    if problems:
        return problems
    assert custom_id is not None and url is not None and model is not None
    return IntakeRequest(custom_id, url, model, obj["body"], webhook, run, profile)


def _optional_name(obj: dict[str, Any], name: str, problems: list[FieldProblem]
                   ) -> str | None:
    if name not in obj or obj[name] is None:
        return None
    value = obj[name]
    if (type(value) is not str or not value.strip() or len(value) > MAX_RUN_NAME
            or "\x00" in value):
        problems.append(FieldProblem(f"/{name}", f"{name} must be a non-empty string of at "
                                                 f"most {MAX_RUN_NAME} characters"))
        return None
    return value.strip()


def day_run_name(date: str) -> str:
    """The run requests land in when no run is named: one per (local) day."""
    return f"intake {date}"
