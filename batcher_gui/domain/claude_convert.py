"""An OpenAI chat-completions request body turned into Anthropic Messages params (Claude).

Pure and typed: :func:`chat_to_messages` returns the Claude request and short notes on what
was moved or filled in, or raises :class:`ConversionError` naming every field it could not
carry over. Nothing is dropped silently: a field is either converted, or equal to OpenAI's
default (so leaving it out changes nothing: ``n: 1``, ``stream: false``, a null value...), or
named as a problem, which makes the whole line invalid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from batcher_gui.domain.endpoints import DEFAULT_MAX_TOKENS

#: Image types Claude reads from base64 data.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

#: OpenAI model families: a Claude profile cannot run them (Anthropic serves Claude only).
_OPENAI_MODEL = re.compile(
    r"^(gpt-|chatgpt-|o[1-9](-|$)|text-|davinci|babbage|omni-moderation|dall-e|whisper|tts-|"
    r"computer-use|codex-|sora)", re.IGNORECASE)
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+);base64,(.*)$", re.DOTALL)

#: Fields left out when they hold OpenAI's default: nothing is lost by leaving them out.
_DEFAULTS: dict[str, Any] = {
    "n": 1, "stream": False, "logprobs": False, "presence_penalty": 0,
    "frequency_penalty": 0, "logit_bias": {}, "response_format": {"type": "text"},
    "store": False, "parallel_tool_calls": True,
}

#: Why a chat field (holding anything but its default) has no Claude counterpart.
_UNSUPPORTED: dict[str, str] = {
    "n": "Claude gives one answer per request (n > 1 is not supported)",
    "logprobs": "Claude returns no log probabilities",
    "top_logprobs": "Claude returns no log probabilities",
    "response_format": "JSON mode and response schemas are not converted; ask for JSON in "
                       "the prompt, or write a native Claude request",
    "seed": "Claude takes no seed",
    "presence_penalty": "Claude has no presence penalty",
    "frequency_penalty": "Claude has no frequency penalty",
    "logit_bias": "Claude has no logit bias",
    "stream": "batch requests do not stream",
    "stream_options": "batch requests do not stream",
    "store": "Claude does not store completions",
    "metadata": "Claude's metadata holds only a user id (set 'user' for that)",
    "reasoning_effort": "not converted to Claude's extended thinking: write a native Claude "
                        "request with 'thinking'",
    "service_tier": "Claude batches have no service tier",
    "modalities": "Claude answers with text only",
    "audio": "Claude answers with text only",
    "prediction": "Claude takes no predicted output",
    "web_search_options": "web search is not converted",
    "functions": "legacy 'functions' are not converted: use 'tools'",
    "function_call": "legacy 'function_call' is not converted: use 'tool_choice'",
    "verbosity": "Claude has no verbosity setting",
}


class ConversionProblem(NamedTuple):
    """One thing that could not be converted: where (``body.messages[2].role``) and why."""

    field: str
    reason: str


class ConversionError(ValueError):
    """A chat request that cannot become a Claude request; ``problems`` names each field."""

    def __init__(self, problems: list[ConversionProblem]) -> None:
        self.problems = problems
        # A line error names the first field; the message names the others too.
        reasons = [problems[0].reason] + [f"{p.field}: {p.reason}" for p in problems[1:]]
        super().__init__("cannot be converted to a Claude request: " + "; also ".join(reasons))

    @property
    def field(self) -> str:
        """The first field named (a line error points at one)."""
        return self.problems[0].field


def openai_model_on_claude(model: str) -> str | None:
    """Why ``model`` cannot run on a Claude profile (it is an OpenAI model), or None."""
    if not _OPENAI_MODEL.match(model):
        return None
    return (f"{model!r} is an OpenAI model, but the profile is a Claude (anthropic) profile: "
            "pass a Claude model (e.g. --model claude-haiku-4-5)")


def _is_default(key: str, value: Any) -> bool:
    """Whether a chat field holds OpenAI's default (``False`` is no ``0``, nor the reverse)."""
    if key not in _DEFAULTS:
        return False
    default = _DEFAULTS[key]
    if isinstance(default, bool) or isinstance(value, bool):
        return value is default
    return bool(value == default)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Converter:
    """One conversion: collects problems and notes while it walks the body."""

    def __init__(self, default_max_tokens: int) -> None:
        self.default_max_tokens = default_max_tokens
        self.problems: list[ConversionProblem] = []
        self.notes: list[str] = []

    def problem(self, field: str, reason: str) -> None:
        self.problems.append(ConversionProblem(field, reason))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- the body ------------------------------------------------------------------------------
    def convert(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            self.problem("body.model", "missing or empty model (or pass --model)")
        elif (why := openai_model_on_claude(model)) is not None:
            self.problem("body.model", why)
        else:
            out["model"] = model
        out["max_tokens"] = self.max_tokens(body)
        system, messages = self.messages(body.get("messages"))
        if system:
            out["system"] = system
        out["messages"] = messages
        handlers: dict[str, Callable[[Any, dict[str, Any]], None]] = {
            "temperature": self.temperature, "top_p": self.top_p, "stop": self.stop,
            "user": self.user, "tools": self.tools,
        }
        for key, value in body.items():
            if key in ("model", "messages", "max_tokens", "max_completion_tokens", "tool_choice",
                       "parallel_tool_calls") or value is None:
                continue
            handler = handlers.get(key)
            if handler is not None:
                handler(value, out)
            elif _is_default(key, value):
                continue  # OpenAI's default: leaving it out changes nothing
            else:
                self.problem(f"body.{key}", _UNSUPPORTED.get(
                    key, "not a chat-completions field that converts to a Claude request"))
        self.tool_choice(body, out)
        return out

    def max_tokens(self, body: dict[str, Any]) -> int:
        plain, newer = body.get("max_tokens"), body.get("max_completion_tokens")
        if plain is not None and newer is not None and plain != newer:
            self.problem("body.max_completion_tokens",
                         f"differs from body.max_tokens ({newer!r} vs {plain!r}): keep one")
        value, field = (newer, "max_completion_tokens") if newer is not None else \
            (plain, "max_tokens")
        if value is None:
            self.note("max_tokens from the import (the line sets none)")
            return self.default_max_tokens
        if type(value) is not int or value < 1:
            self.problem(f"body.{field}", f"must be a whole number of at least 1, got {value!r}")
            return self.default_max_tokens
        if field == "max_completion_tokens":
            self.note("max_tokens from max_completion_tokens")
        return value

    def temperature(self, value: Any, out: dict[str, Any]) -> None:
        if not _is_number(value) or value < 0:
            self.problem("body.temperature", f"must be a number from 0 to 1, got {value!r}")
        elif value > 1:
            self.problem("body.temperature",
                         f"{value} is above 1, the highest temperature Claude takes "
                         "(OpenAI's range goes to 2)")
        else:
            out["temperature"] = value

    def top_p(self, value: Any, out: dict[str, Any]) -> None:
        if not _is_number(value) or not 0 <= value <= 1:
            self.problem("body.top_p", f"must be a number from 0 to 1, got {value!r}")
        else:
            out["top_p"] = value

    def stop(self, value: Any, out: dict[str, Any]) -> None:
        stops = [value] if isinstance(value, str) else value
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            self.problem("body.stop", f"must be a string or a list of strings, got {value!r}")
            return
        if any(not s.strip() for s in stops):
            self.problem("body.stop", "Claude refuses stop sequences that are empty or only "
                                      "whitespace")
            return
        if stops:
            out["stop_sequences"] = stops
            self.note("stop → stop_sequences")

    def user(self, value: Any, out: dict[str, Any]) -> None:
        if not isinstance(value, str) or not value:
            self.problem("body.user", f"must be a non-empty string, got {value!r}")
            return
        out["metadata"] = {"user_id": value}
        self.note("user → metadata.user_id")

    # -- messages ------------------------------------------------------------------------------
    def messages(self, messages: Any) -> tuple[str, list[dict[str, Any]]]:
        """(system text, user/assistant messages)."""
        if not isinstance(messages, list) or not messages:
            self.problem("body.messages", "must be a non-empty list of messages")
            return "", []
        system: list[str] = []
        out: list[dict[str, Any]] = []
        last = len(messages) - 1
        for i, message in enumerate(messages):
            where = f"body.messages[{i}]"
            if not isinstance(message, dict):
                self.problem(where, "must be a message object")
                continue
            role = message.get("role")
            for key, value in message.items():
                if key in ("role", "content") or value is None or value == []:
                    continue
                reason = ("tool calls are not converted" if key in ("tool_calls", "function_call")
                          else "Claude messages have no name" if key == "name"
                          else "not converted")
                self.problem(f"{where}.{key}", reason)
            if role in ("system", "developer"):
                text = self.system_text(message.get("content"), f"{where}.content")
                if text:
                    system.append(text)
                self.note("system/developer messages → system")
            elif role in ("user", "assistant"):
                content = self.content(message.get("content"), f"{where}.content",
                                       may_be_empty=role == "assistant" and i == last)
                if content is not None:
                    out.append({"role": role, "content": content})
            elif role in ("tool", "function"):
                self.problem(f"{where}.role", f"role {role!r} (a tool result) is not converted")
            else:
                self.problem(f"{where}.role", f"unknown role {role!r}; expected system, "
                                              "developer, user or assistant")
        if not out and not self.problems:
            self.problem("body.messages", "no user or assistant message (Claude needs one)")
        return "\n\n".join(system), out

    def system_text(self, content: Any, where: str) -> str:
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = []
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") == "text" and \
                        isinstance(part.get("text"), str) and set(part) <= {"type", "text"}:
                    texts.append(part["text"])
                else:
                    self.problem(f"{where}[{j}]", "a system message may only hold text parts")
            return "\n\n".join(texts)
        self.problem(where, f"must be a string or a list of text parts, got {content!r}")
        return ""

    def content(self, content: Any, where: str, *, may_be_empty: bool) -> Any:
        if isinstance(content, str):
            if not content.strip() and not may_be_empty:
                self.problem(where, "is empty; Claude needs text in every message but a last "
                                    "assistant one")
                return None
            return content
        if not isinstance(content, list) or not content:
            self.problem(where, f"must be a string or a non-empty list of parts, got "
                                f"{content!r}")
            return None
        blocks = []
        for j, part in enumerate(content):
            block = self.part(part, f"{where}[{j}]")
            if block is not None:
                blocks.append(block)
        return blocks

    def part(self, part: Any, where: str) -> dict[str, Any] | None:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str) and set(part) <= {"type", "text"}:
            return {"type": "text", "text": part["text"]}
        if kind == "image_url" and set(part) <= {"type", "image_url"}:
            return self.image(part.get("image_url"), f"{where}.image_url")
        self.problem(where, f"content part of type {kind!r} is not converted (text and "
                            "image_url parts are)" if kind else "must be a content part object")
        return None

    def image(self, image: Any, where: str) -> dict[str, Any] | None:
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str) or not set(image) <= {"url", "detail"}:
            self.problem(where, "must be an object with a 'url'")
            return None
        if image.get("detail") not in (None, "auto"):
            self.problem(f"{where}.detail", "Claude has no image detail setting")
            return None
        self.note("image_url → image block")
        if url.startswith(("https://", "http://")):
            return {"type": "image", "source": {"type": "url", "url": url}}
        data = _DATA_URL.match(url)
        if data is None:
            self.problem(f"{where}.url", "must be an http(s) URL or a base64 data: URL")
            return None
        media_type = data.group(1).lower()
        if media_type not in IMAGE_TYPES:
            self.problem(f"{where}.url", f"image type {media_type} is not one Claude reads "
                                         f"({', '.join(IMAGE_TYPES)})")
            return None
        return {"type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data.group(2)}}

    # -- tools ---------------------------------------------------------------------------------
    def tools(self, tools: Any, out: dict[str, Any]) -> None:
        if not isinstance(tools, list):
            self.problem("body.tools", "must be a list of tools")
            return
        converted = []
        for i, tool in enumerate(tools):
            where = f"body.tools[{i}]"
            fn = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or \
                    not isinstance(fn, dict) or set(tool) - {"type", "function"}:
                self.problem(where, "only function tools are converted")
                continue
            name, params = fn.get("name"), fn.get("parameters")
            if not isinstance(name, str) or not name:
                self.problem(f"{where}.function.name", "missing tool name")
                continue
            if fn.get("strict"):
                self.problem(f"{where}.function.strict", "strict schemas are not converted")
                continue
            if set(fn) - {"name", "description", "parameters", "strict"}:
                self.problem(f"{where}.function", "has fields that are not converted")
                continue
            if params is None:
                params = {"type": "object", "properties": {}}
            if not isinstance(params, dict) or params.get("type") != "object":
                self.problem(f"{where}.function.parameters",
                             "must be a JSON schema of type object")
                continue
            claude_tool: dict[str, Any] = {"name": name}
            if isinstance(fn.get("description"), str) and fn["description"]:
                claude_tool["description"] = fn["description"]
            claude_tool["input_schema"] = params
            converted.append(claude_tool)
        if converted:
            out["tools"] = converted
            self.note("function tools → Claude tools")

    def tool_choice(self, body: dict[str, Any], out: dict[str, Any]) -> None:
        choice, parallel = body.get("tool_choice"), body.get("parallel_tool_calls")
        if choice is None and parallel in (None, True):
            return
        if not body.get("tools"):
            field = "body.tool_choice" if choice is not None else "body.parallel_tool_calls"
            self.problem(field, "set without tools")
            return
        if parallel not in (None, True, False):
            self.problem("body.parallel_tool_calls", f"must be true or false, got {parallel!r}")
            return
        fn = choice.get("function") if isinstance(choice, dict) else None
        claude: dict[str, Any]
        if choice is None or choice == "auto":
            claude = {"type": "auto"}
        elif choice == "required":
            claude = {"type": "any"}
        elif choice == "none":
            claude = {"type": "none"}
        elif isinstance(choice, dict) and choice.get("type") == "function" and \
                isinstance(fn, dict) and isinstance(fn.get("name"), str):
            claude = {"type": "tool", "name": fn["name"]}
        else:
            self.problem("body.tool_choice", f"cannot be converted: {choice!r}")
            return
        if parallel is False:
            if claude["type"] == "none":
                self.problem("body.parallel_tool_calls", "has no meaning with tool_choice none")
                return
            claude["disable_parallel_tool_use"] = True
        out["tool_choice"] = claude


def chat_to_messages(
    body: dict[str, Any], default_max_tokens: int = DEFAULT_MAX_TOKENS
) -> tuple[dict[str, Any], list[str]]:
    """Convert an OpenAI chat-completions body into Anthropic Messages params.

    Args:
        body: the chat body (``model``, ``messages``, ...); the model override, if any, is
            already applied.
        default_max_tokens: ``max_tokens`` when the body sets neither ``max_tokens`` nor
            ``max_completion_tokens``.

    Returns:
        (params, notes): the Claude request and what was moved or filled in, in short words
        ("system/developer messages → system"...) that callers count across lines.

    Raises:
        ConversionError: naming every field that cannot be converted.
    """
    converter = _Converter(default_max_tokens)
    params = converter.convert(body)
    if converter.problems:
        raise ConversionError(converter.problems)
    return params, converter.notes
