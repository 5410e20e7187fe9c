"""How many tokens a request sends, and at most how many it can bring back — offline.

Input tokens are counted with the model's real tokenizer (tiktoken; ``o200k_base`` for the
GPT-4o/4.1/5 and o-series families, ``cl100k_base`` for GPT-4, GPT-3.5 and the embedding
models), with OpenAI's documented chat framing: 3 tokens per message, 1 more for a ``name``,
3 to prime the reply. What cannot be counted exactly is estimated, and the count says so
(``exact`` is False):

- a model Batcher has no tokenizer for: 1 token per 4 bytes of its text (``BYTES_PER_TOKEN``);
- an image: 85 tokens at ``detail: low``, else 765 (a 1024x1024 picture at high detail:
  OpenAI's 85 + 170 per 512-pixel tile); audio and files: 0;
- tool definitions and response formats: their JSON text, counted.

Claude models (Anthropic's Messages API) have no tokenizer available offline: their text is
counted with OpenAI's ``o200k_base`` and the count marked approximate (``exact`` False); the
estimate before a Claude run asks Anthropic's ``count_tokens`` for a sample instead, when it
can (:mod:`batcher_gui.engine.estimate`). An image in a Claude request counts as
``CLAUDE_IMAGE_TOKENS`` (Anthropic's ceiling for one picture at the largest size it keeps).

The output bound is what the request allows the model to write: ``max_completion_tokens``,
``max_tokens`` or ``max_output_tokens``, else the model's own ceiling (``DEFAULT_OUTPUT``),
times ``n`` (choices) for chat and completions. Embeddings and moderations write none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import tiktoken

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.tokens.vocab import encoding

#: Model-name prefix -> vocabulary (the longest matching prefix wins).
MODEL_ENCODINGS: dict[str, str] = {
    "gpt-4o": "o200k_base", "chatgpt-4o": "o200k_base", "gpt-4.1": "o200k_base",
    "gpt-4.5": "o200k_base", "gpt-5": "o200k_base", "gpt-oss": "o200k_base",
    "o1": "o200k_base", "o3": "o200k_base", "o4": "o200k_base",
    "omni-moderation": "o200k_base", "computer-use": "o200k_base", "codex": "o200k_base",
    "gpt-4": "cl100k_base", "gpt-3.5": "cl100k_base", "text-embedding-3": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base", "text-moderation": "cl100k_base",
    "davinci-002": "cl100k_base", "babbage-002": "cl100k_base",
}
#: Model-name prefix -> a vocabulary that only approximates the model's own (its counts are
#: never exact).
APPROXIMATE_ENCODINGS: dict[str, str] = {"claude": "o200k_base"}
#: Model-name prefix -> the most output tokens it writes when a request sets no limit.
DEFAULT_OUTPUT: dict[str, int] = {
    "gpt-4o": 16_384, "chatgpt-4o": 16_384, "gpt-4.1": 32_768, "gpt-4.5": 16_384,
    "gpt-5": 128_000, "o1": 100_000, "o3": 100_000, "o4": 100_000, "gpt-4-turbo": 4_096,
    "gpt-4": 8_192, "gpt-3.5": 4_096, "text-embedding": 0, "omni-moderation": 0,
    "text-moderation": 0, "davinci-002": 16, "babbage-002": 16, "claude": 64_000,
}
#: Output bound for a model in neither table.
UNKNOWN_OUTPUT = 4_096
#: The estimate for text of a model without a known tokenizer.
BYTES_PER_TOKEN = 4
TOKENS_PER_MESSAGE, TOKENS_PER_NAME, REPLY_PRIMING = 3, 1, 3
IMAGE_TOKENS_LOW, IMAGE_TOKENS_HIGH = 85, 765
#: About (width x height) / 750, for a picture of ~1.15 megapixels (Claude scales larger ones
#: down to that).
CLAUDE_IMAGE_TOKENS = 1_600
#: Legacy completions write 16 tokens when max_tokens is not given.
COMPLETIONS_DEFAULT_MAX = 16
NO_OUTPUT_ENDPOINTS = frozenset({"/v1/embeddings", "/v1/moderations"})


@dataclass(frozen=True, slots=True)
class RequestTokens:
    """One request's tokens: counted input, output bound, and whether both are exact."""

    input: int
    output_bound: int
    exact: bool = True


def _longest_prefix(table: dict[str, Any], model: str) -> Any:
    name = model.lower()
    best = None
    for prefix, value in table.items():
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, value)
    return None if best is None else best[1]


def encoding_name(model: str) -> str | None:
    """The vocabulary of ``model`` (None: unknown, its count is estimated)."""
    found = _longest_prefix(MODEL_ENCODINGS, model)
    return None if found is None else str(found)


def vocabulary_of(model: str) -> tuple[str | None, bool]:
    """(the vocabulary to count ``model``'s text with, whether it is the model's own)."""
    own = encoding_name(model)
    if own is not None:
        return own, True
    found = _longest_prefix(APPROXIMATE_ENCODINGS, model)
    return (None if found is None else str(found)), False


def default_output(model: str) -> int:
    found = _longest_prefix(DEFAULT_OUTPUT, model)
    return UNKNOWN_OUTPUT if found is None else int(found)


class _Parts:
    """What one request contributes: texts to encode, and tokens already known."""

    __slots__ = ("texts", "fixed", "exact")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.fixed = 0
        self.exact = True

    def text(self, value: Any) -> None:
        if isinstance(value, str):
            if value:
                self.texts.append(value)
        elif value is not None:
            self.json(value)

    def json(self, value: Any) -> None:
        self.exact = False  # framing of tools/schemas is the provider's own
        self.texts.append(orjson.dumps(value).decode())

    def content(self, content: Any) -> None:
        """A message's content: a string or a list of parts (text, image, audio, file)."""
        if isinstance(content, str) or content is None:
            self.text(content)
            return
        if not isinstance(content, list):
            self.json(content)
            return
        for part in content:
            if not isinstance(part, dict):
                self.text(part)
                continue
            kind = part.get("type")
            if kind in ("text", "input_text", "output_text"):
                self.text(part.get("text"))
            elif kind in ("image_url", "input_image"):
                self.exact = False
                image = part.get("image_url")
                detail = (image.get("detail") if isinstance(image, dict) else None) \
                    or part.get("detail")
                self.fixed += IMAGE_TOKENS_LOW if detail == "low" else IMAGE_TOKENS_HIGH
            elif kind == "refusal":
                self.text(part.get("refusal"))
            elif kind == "image":  # Claude's image block
                self.exact = False
                self.fixed += CLAUDE_IMAGE_TOKENS
            elif kind == "tool_use":  # Claude's: a call the assistant made
                self.text(part.get("name"))
                self.json(part.get("input", {}))
            elif kind == "tool_result":  # Claude's: what the call gave back
                self.content(part.get("content"))
            elif kind == "thinking":
                self.text(part.get("thinking"))
            else:  # audio, files: not counted
                self.exact = False

    def messages(self, messages: Any) -> None:
        if not isinstance(messages, list):
            self.text(messages)
            return
        for message in messages:
            if not isinstance(message, dict):
                self.text(message)
                continue
            if "role" not in message and message.get("type") not in (None, "message"):
                self.json(message)  # responses items: function calls and their outputs
                continue
            self.fixed += TOKENS_PER_MESSAGE
            self.text(message.get("role"))
            self.content(message.get("content"))
            if message.get("name"):
                self.fixed += TOKENS_PER_NAME
                self.text(message["name"])
            if message.get("tool_calls"):
                self.json(message["tool_calls"])
        self.fixed += REPLY_PRIMING

    def inputs(self, value: Any) -> None:
        """Embeddings/completions/moderations input: text, texts, or token ids."""
        if isinstance(value, list):
            if value and all(isinstance(v, int) for v in value):
                self.fixed += len(value)  # already tokens
                return
            for item in value:
                self.inputs(item)
            return
        if isinstance(value, dict):  # moderations: {"type": "text", "text": ...} parts
            self.content([value])
            return
        self.text(value)


def _parts(endpoint: str, body: dict[str, Any]) -> _Parts:
    parts = _Parts()
    if endpoint == "/v1/chat/completions":
        parts.messages(body.get("messages"))
    elif endpoint == "/v1/responses":
        if body.get("instructions"):
            parts.fixed += TOKENS_PER_MESSAGE
            parts.text(body["instructions"])
        value = body.get("input")
        if isinstance(value, str):
            parts.messages([{"role": "user", "content": value}])
        else:
            parts.messages(value)
    elif endpoint == "/v1/completions":
        parts.inputs(body.get("prompt"))
    elif endpoint == MESSAGES_ENDPOINT:  # Claude: the system prompt stands beside the turns
        system = body.get("system")
        if system:
            parts.fixed += TOKENS_PER_MESSAGE
            parts.content(system)
        parts.messages(body.get("messages"))
    elif endpoint in ("/v1/embeddings", "/v1/moderations"):
        parts.inputs(body.get("input"))
    else:  # images, videos: priced per picture, not per token
        parts.text(body.get("prompt"))
        parts.exact = False
    for extra in ("tools", "functions", "response_format"):
        if body.get(extra):
            parts.json(body[extra])
    text_format = body.get("text")
    if isinstance(text_format, dict) and text_format.get("format"):
        parts.json(text_format["format"])
    return parts


def output_bound(endpoint: str, model: str, body: dict[str, Any]) -> int:
    if endpoint in NO_OUTPUT_ENDPOINTS:
        return 0
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            limit = value
            break
    else:
        limit = (COMPLETIONS_DEFAULT_MAX if endpoint == "/v1/completions"
                 else default_output(model))
    choices = body.get("n") if endpoint in ("/v1/chat/completions", "/v1/completions") else 1
    if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
        limit *= choices
    return limit


class TokenCounter:
    """Counts requests, many at a time (one call per text: tiktoken's Rust encoder runs with
    the GIL released; its thread-pool ``encode_batch`` is ~10x slower on short texts)."""

    def count(self, endpoint: str, model: str, body: dict[str, Any] | bytes) -> RequestTokens:
        return self.count_many([(endpoint, model, body)])[0]

    def count_many(self, requests: Iterable[tuple[str, str, dict[str, Any] | bytes]]
                   ) -> list[RequestTokens]:
        """``(endpoint, model, body)`` -> their tokens, in order. Bodies may be JSON bytes."""
        sums: list[int] = []
        bounds: list[int] = []
        exact: list[bool] = []
        # texts per vocabulary, with the index of the request each belongs to
        pending: dict[str, tuple[list[str], list[int]]] = {}
        for endpoint, model, raw in requests:
            body = orjson.loads(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
            if not isinstance(body, dict):
                body = {}
            parts = _parts(endpoint, body)
            bounds.append(output_bound(endpoint, model, body))
            vocabulary, own = vocabulary_of(model)
            if vocabulary is None:
                sums.append(parts.fixed + sum(math.ceil(len(t.encode()) / BYTES_PER_TOKEN)
                                              for t in parts.texts))
                exact.append(False)
                continue
            texts, owners = pending.setdefault(vocabulary, ([], []))
            texts.extend(parts.texts)
            owners.extend([len(sums)] * len(parts.texts))
            sums.append(parts.fixed)
            exact.append(parts.exact and own)
        for vocabulary, (texts, owners) in pending.items():
            for owner, length in zip(owners, self._lengths(encoding(vocabulary), texts),
                                     strict=True):
                sums[owner] += length
        return [RequestTokens(*values) for values in zip(sums, bounds, exact, strict=True)]

    def _lengths(self, enc: tiktoken.Encoding, texts: Sequence[str]) -> list[int]:
        encode = enc.encode_ordinary
        return [len(encode(text)) for text in texts]
