"""A mixed workspace for window and export tests: one OpenAI run and one Claude run, answered.

Both runs are imported for real; their answers are written as applying a batch's results
writes them (the prompt's state, raw response body and tokens, the batch's end and usage), with
the bodies each provider really returns: a chat completion for OpenAI, Anthropic's raw
``message`` (text, tool_use, thinking blocks, usage with the prompt cache) for Claude.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from batcher_gui.domain.models import ImportOptions, ProfileKind
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import open_store
from batcher_gui.storage.store import Store

CLAUDE = "claude-sonnet-4-5"
GPT = "gpt-4o-mini"
THINKING = "The user asks about Paris. I should look the weather up before answering."
CLAUDE_TEXT = "Let me check the weather in Paris."
TOOL_INPUT = {"city": "Paris", "unit": "celsius"}
#: Usage of every Claude answer: stored input = input + cache read + cache write.
CLAUDE_USAGE = {"input_tokens": 21, "output_tokens": 87, "cache_read_input_tokens": 1500,
                "cache_creation_input_tokens": 300,
                "cache_creation": {"ephemeral_5m_input_tokens": 100,
                                   "ephemeral_1h_input_tokens": 200}}
CLAUDE_INPUT_TOTAL = 21 + 1500 + 300
#: The provider's error of the last Claude prompt (an errored result that is not resent).
INVALID = "invalid_request_error: messages.0.content: text content blocks must be non-empty"


def claude_request(i: int) -> dict[str, Any]:
    """A Messages ``params`` object as a Claude prompt stores it."""
    return {"model": CLAUDE, "max_tokens": 1024,
            "system": [{"type": "text", "text": "You are a weather assistant.",
                        "cache_control": {"type": "ephemeral"}}],
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "tools": [{"name": "get_weather", "description": "Current weather",
                       "input_schema": {"type": "object",
                                        "properties": {"city": {"type": "string"}}}}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": f"What is the weather in Paris? (question {i})"}]}]}


def claude_message(i: int) -> dict[str, Any]:
    """Anthropic's raw ``message`` of a succeeded result: thinking, text, a tool call."""
    return {"id": f"msg_{i:04d}", "type": "message", "role": "assistant", "model": CLAUDE,
            "content": [
                {"type": "thinking", "thinking": THINKING, "signature": "EqQBCgIYAhIM"},
                {"type": "text", "text": CLAUDE_TEXT},
                {"type": "tool_use", "id": f"toolu_{i:04d}", "name": "get_weather",
                 "input": TOOL_INPUT}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": CLAUDE_USAGE}


def openai_answer(i: int) -> dict[str, Any]:
    return {"id": f"chatcmpl-{i}", "object": "chat.completion", "model": GPT, "choices": [
        {"index": 0, "message": {"role": "assistant", "content": f"answer {i}"},
         "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15,
                  "prompt_tokens_details": {"cached_tokens": 0}}}


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def _answer(store: Store, run_id: int, bodies: list[bytes | None], tokens: tuple[int, int],
            errors: dict[int, str], batch_id: str) -> None:
    """The run's prompts answered (``errors``: position -> the provider's error instead), its
    batch completed with the usage of its answers."""
    now = time.time()
    with store.db.write() as conn:
        ids = [i for (i,) in conn.exec_driver_sql(
            "SELECT id FROM prompts WHERE run_id = ? ORDER BY id", (run_id,)).all()]
        batch = conn.exec_driver_sql("SELECT id FROM batches WHERE run_id = ?",
                                     (run_id,)).scalar()
        for n, (pid, body) in enumerate(zip(ids, bodies, strict=True)):
            if n in errors:
                conn.exec_driver_sql(
                    "UPDATE prompts SET state = 'failed', error = ?, batch_id = ?, "
                    "attempts = 1, updated_at = ? WHERE id = ?", (errors[n], batch, now, pid))
            else:
                conn.exec_driver_sql(
                    "UPDATE prompts SET state = 'processed', response = ?, input_tokens = ?, "
                    "output_tokens = ?, batch_id = ?, attempts = 1, updated_at = ? "
                    "WHERE id = ?", (body, *tokens, batch, now, pid))
        done = len(ids) - len(errors)
        conn.exec_driver_sql(
            "UPDATE batches SET state = 'completed', provider_batch_id = ?, "
            "counts_total = ?, counts_completed = ?, counts_failed = ?, input_tokens = ?, "
            "output_tokens = ?, updated_at = ? WHERE id = ?",
            (batch_id, len(ids), done, len(errors), tokens[0] * done, tokens[1] * done, now,
             batch))


def build_mixed(folder: Path, n: int = 3) -> Path:
    """A workspace at ``folder/ws`` with run #1 (OpenAI: profile "openai", chat prompts) and
    run #2 (Claude: profile "claude", kind anthropic), each of ``n`` prompts, answered (the
    last Claude prompt failed: INVALID); returns the database path."""
    (folder / "ws").mkdir(parents=True, exist_ok=True)
    db = folder / "ws" / "batcher.sqlite3"
    store = open_store(db)
    try:
        store.add_profile("claude", ProfileKind.ANTHROPIC)
        chat = _write(folder / "questions.jsonl", [
            {"custom_id": f"o{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": GPT, "messages": [{"role": "user", "content": f"q {i}"}]}}
            for i in range(n)])
        messages = _write(folder / "weather.jsonl", [
            {"custom_id": f"k{i}", "method": "POST", "url": "/v1/messages",
             "body": claude_request(i)} for i in range(n)])
        openai_run = import_file(store, chat, ImportOptions(), profile_name="openai").run.id
        claude_run = import_file(store, messages, ImportOptions(), profile_name="claude").run.id
        _answer(store, openai_run, [orjson.dumps(openai_answer(i)) for i in range(n)],
                (12, 3), {}, "batch_openai_1")
        _answer(store, claude_run, [orjson.dumps(claude_message(i)) for i in range(n)],
                (CLAUDE_INPUT_TOTAL, 87),
                {n - 1: INVALID}, "msgbatch_01claude")
    finally:
        store.db.close()
    return db
