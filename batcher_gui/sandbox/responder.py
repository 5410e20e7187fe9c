"""Deterministic, realistically shaped answers for each batch endpoint.

The same request body always produces the same answer (hash-derived text, vectors and
ids), so tests and benchmarks can compare runs byte for byte. Token counts are a rough
"4 characters per token" estimate so usage totals scale with the prompt like real ones.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Final

import orjson

from .errors import SERVER_ERROR_MESSAGE

SUPPORTED_ENDPOINTS: Final = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
)
DEFAULT_EMBEDDING_DIMS: Final = 8
MODERATION_CATEGORIES: Final = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# Shared constant sub-objects: answers are serialised right away and never mutated.
_PROMPT_DETAILS: Final = {"cached_tokens": 0, "audio_tokens": 0}
_COMPLETION_DETAILS: Final = {
    "reasoning_tokens": 0,
    "audio_tokens": 0,
    "accepted_prediction_tokens": 0,
    "rejected_prediction_tokens": 0,
}
_SKIP_KEYS: Final = frozenset({"role", "type", "name", "id", "detail", "url", "image_url"})


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    input_tokens: int
    output_tokens: int


def digest(*parts: str, length: int = 32) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def request_hash(batch_id: str, custom_id: str) -> str:
    """64 hex chars; every id of one output line is a slice of it (one hash per request)."""
    return hashlib.sha256(f"{batch_id}\x1f{custom_id}".encode()).hexdigest()


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def collect_text(value: Any) -> list[str]:
    """Every prompt string inside messages / input items, skipping structural fields."""
    if isinstance(value, list):
        fast: list[str] = []
        for item in value:  # fast path for plain chat messages: {"role", "content": str}
            content = item.get("content") if isinstance(item, dict) else None
            if not isinstance(content, str) or len(item) > 2:
                break
            fast.append(content)
        else:
            return fast
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in collect_text(item)]
    if isinstance(value, dict):
        return [t for k, v in value.items() if k not in _SKIP_KEYS for t in collect_text(v)]
    return []


#: "Answer with one word: positive, negative or mixed." (the sample's instruction): the
#: sandbox answers one of the words, so a labels check and Compare have something to show.
_ONE_WORD = re.compile(r"one word:\s*([\w -]+(?:,\s*[\w -]+)*)", re.IGNORECASE)


def _differs(prompt: str, model: str | None) -> bool:
    """Whether this model answers this prompt its own way: about one prompt in four, so two
    runs on two models agree mostly, not wholly, as real models do (the same model always
    answers the same prompt the same way)."""
    return bool(model) and zlib.crc32(f"{model}\n{prompt}".encode()) % 4 == 0


def _one_word(prompt: str, model: str | None) -> str | None:
    found = _ONE_WORD.search(prompt)
    if found is None:
        return None
    words = [w.strip() for w in re.split(r",|\bor\b", found.group(1)) if w.strip()]
    if len(words) < 2:
        return None
    pick = zlib.crc32(prompt.encode()) % len(words)
    if _differs(prompt, model):
        pick = (pick + 1) % len(words)
    return words[pick]


def _reply(prompt: str, limit: int | None, model: str | None = None) -> tuple[str, bool]:
    """(answer text, truncated?) for a prompt, cut to `limit` tokens when given."""
    word = _one_word(prompt, model)
    if word is not None:
        return word, False
    # crc32, not sha256: this runs 50,000 times per big batch and only needs to be stable.
    snippet = prompt[:80].replace("\n", " ")
    seed = f"{model}\n{prompt}" if _differs(prompt, model) else prompt
    text = f"Sandbox reply {zlib.crc32(seed.encode()):08x}. You asked: {snippet}"
    if limit is not None and tokens(text) > limit:
        return text[: max(limit, 0) * 4], True
    return text, False


def _fake_from_schema(schema: Any, name: str = "value") -> Any:
    """A minimal instance of a JSON schema, so structured-output parsers get valid JSON."""
    if not isinstance(schema, dict):
        return name
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: _fake_from_schema(sub, key) for key, sub in props.items()}
    if kind == "array":
        return [_fake_from_schema(schema.get("items"), name)]
    defaults = {"integer": 1, "number": 1.0, "boolean": True, "null": None}
    return defaults.get(str(kind), f"sandbox {name}")


def _structured(fmt: Any, text: str) -> str:
    """Answer text honouring response_format / text.format (json_object, json_schema)."""
    if not isinstance(fmt, dict):
        return text
    if fmt.get("type") == "json_object":
        return orjson.dumps({"answer": text}).decode()
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
        return orjson.dumps(_fake_from_schema(schema)).decode()
    return text


def _chat(body: dict[str, Any], created: int, rid: str) -> Answer:
    prompt = "\n".join(collect_text(body.get("messages")))
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    text, cut = _reply(prompt, limit if isinstance(limit, int) else None, body.get("model"))
    text = text if cut else _structured(body.get("response_format"), text)
    n_raw = body.get("n")
    n = n_raw if isinstance(n_raw, int) and n_raw > 0 else 1
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text,
        "refusal": None,
        "annotations": [],
    }
    choices = [
        {
            "index": i,
            "message": message,
            "logprobs": None,
            "finish_reason": "length" if cut else "stop",
        }
        for i in range(n)
    ]
    prompt_tokens, completion_tokens = tokens(prompt) + 7, tokens(text) * n
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        # "#cached" in a prompt: half of it was read from the prompt cache (as a long shared
        # prefix would be), for testing costs that count cached input below the input price.
        "prompt_tokens_details": ({"cached_tokens": prompt_tokens // 2, "audio_tokens": 0}
                                  if "#cached" in prompt else _PROMPT_DETAILS),
        "completion_tokens_details": _COMPLETION_DETAILS,
    }
    answer = {
        "id": f"chatcmpl-{rid[3:32]}",
        "object": "chat.completion",
        "created": created,
        "model": body.get("model"),
        "choices": choices,
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    }
    return Answer(answer, prompt_tokens, completion_tokens)


def _responses(body: dict[str, Any], created: int, rid: str) -> Answer:
    prompt = "\n".join(collect_text([body.get("instructions"), body.get("input")]))
    limit = body.get("max_output_tokens")
    text, cut = _reply(prompt, limit if isinstance(limit, int) else None, body.get("model"))
    text_raw = body.get("text")
    text_cfg: dict[str, Any] = text_raw if isinstance(text_raw, dict) else {}
    text = text if cut else _structured(text_cfg.get("format"), text)
    input_tokens, output_tokens = tokens(prompt) + 7, tokens(text)
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    message = {
        "type": "message",
        "id": f"msg_{rid[16:64]}",
        "status": "incomplete" if cut else "completed",
        "role": "assistant",
        "content": content,
    }
    answer = {
        "id": f"resp_{rid[:48]}",
        "object": "response",
        "created_at": created,
        "status": "incomplete" if cut else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": limit,
        "model": body.get("model"),
        "output": [message],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": text_cfg.get("format", {"type": "text"}), "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "user": None,
        "metadata": body.get("metadata") or {},
    }
    return Answer(answer, input_tokens, output_tokens)


def embedding_vector(text: str, dims: int) -> list[float]:
    """A unit vector derived from the text's hash: same text, same vector."""
    raw = struct.unpack(f"<{dims}h", hashlib.shake_256(text.encode()).digest(dims * 2))
    scale = 1.0 / (math.hypot(*raw) or 1.0)
    return [v * scale for v in raw]


def _as_inputs(value: Any) -> list[str]:
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [" ".join(map(str, value))]  # a single pre-tokenised input
    if isinstance(value, list):
        return [v if isinstance(v, str) else " ".join(collect_text(v)) for v in value]
    return [value if isinstance(value, str) else " ".join(collect_text(value))]


def _embeddings(body: dict[str, Any], created: int, rid: str) -> Answer:
    dims = body.get("dimensions")
    dims = dims if isinstance(dims, int) and 0 < dims <= 4096 else DEFAULT_EMBEDDING_DIMS
    b64 = body.get("encoding_format") == "base64"
    data = []
    inputs = _as_inputs(body.get("input"))
    for index, text in enumerate(inputs):
        vector = embedding_vector(text, dims)
        encoded: Any = (
            base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if b64 else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    used = sum(tokens(t) for t in inputs)
    answer = {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": used, "total_tokens": used},
    }
    return Answer(answer, used, 0)


def _completions(body: dict[str, Any], created: int, rid: str) -> Answer:
    prompts = _as_inputs(body.get("prompt", ""))
    limit = body.get("max_tokens", 16)  # the legacy endpoint's real default
    choices, prompt_tokens, completion_tokens = [], 0, 0
    for index, prompt in enumerate(prompts):
        text, cut = _reply(prompt, limit if isinstance(limit, int) else None, body.get("model"))
        choices.append(
            {
                "text": text,
                "index": index,
                "logprobs": None,
                "finish_reason": "length" if cut else "stop",
            }
        )
        prompt_tokens += tokens(prompt)
        completion_tokens += tokens(text)
    answer = {
        "id": f"cmpl-{rid[3:32]}",
        "object": "text_completion",
        "created": created,
        "model": body.get("model"),
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_sandbox",
    }
    return Answer(answer, prompt_tokens, completion_tokens)


def _moderations(body: dict[str, Any], created: int, rid: str) -> Answer:
    results = []
    for text in _as_inputs(body.get("input")):
        flagged = "#flag" in text  # content trigger so tests can see a flagged result
        score = int(digest(text, length=4), 16) / 0xFFFF / 100
        results.append(
            {
                "flagged": flagged,
                "categories": {c: flagged and c == "harassment" for c in MODERATION_CATEGORIES},
                "category_scores": {
                    c: (0.97 if flagged and c == "harassment" else score)
                    for c in MODERATION_CATEGORIES
                },
                "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES},
            }
        )
    answer = {
        "id": f"modr-{rid[:32]}",
        "model": body.get("model") or "omni-moderation-latest",
        "results": results,
    }
    return Answer(answer, 0, 0)


_HANDLERS: Final = {
    "/v1/chat/completions": _chat,
    "/v1/responses": _responses,
    "/v1/embeddings": _embeddings,
    "/v1/completions": _completions,
    "/v1/moderations": _moderations,
}


def answer(endpoint: str, body: dict[str, Any], created: int, rid: str) -> Answer:
    return _HANDLERS[endpoint](body, created, rid)


# ---------------------------------------------------------------- output lines
# `rid` is request_hash(batch_id, custom_id): the line id and request id are its halves.


def _line(rid: str, custom_id: str, response: Any, error: Any) -> bytes:
    line = {"id": f"batch_req_{rid[:32]}", "custom_id": custom_id, "response": response}
    line["error"] = error
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)


def success_line(rid: str, custom_id: str, result: Answer) -> bytes:
    response = {"status_code": 200, "request_id": f"req_{rid[32:]}", "body": result.body}
    return _line(rid, custom_id, response, None)


def http_error_line(rid: str, custom_id: str, status: int, message: str) -> bytes:
    """An error-file line for a request the model endpoint rejected (4xx) or crashed on (5xx)."""
    error_type = "server_error" if status >= 500 else "invalid_request_error"
    error = {"message": message, "type": error_type, "param": None, "code": None}
    response = {"status_code": status, "request_id": f"req_{rid[32:]}", "body": {"error": error}}
    return _line(rid, custom_id, response, None)


def server_error_line(rid: str, custom_id: str) -> bytes:
    return http_error_line(rid, custom_id, 500, SERVER_ERROR_MESSAGE)


def unexecuted_line(rid: str, custom_id: str, code: str, message: str) -> bytes:
    """An error-file line for a request never run (batch_expired / batch_cancelled)."""
    return _line(rid, custom_id, None, {"code": code, "message": message})
