"""Masking API keys in text from providers and exceptions (domain rule and the log filter)."""

from __future__ import annotations

import logging

import pytest

from batcher_gui.app.logs import MaskSecrets
from batcher_gui.domain.secrecy import SecretRegistry, mask_secrets, show_key

PROJECT_KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789wxyz"


@pytest.mark.parametrize(("text", "masked"), [
    (f"Incorrect API key provided: Bearer {PROJECT_KEY}.",
     "Incorrect API key provided: Bearer sk-proj-…wxyz."),
    (f"Authorization: Bearer {PROJECT_KEY}", "Authorization: Bearer sk-proj-…wxyz"),
    ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789-1234 refused",
     "key sk-ant-api03-…1234 refused"),
    ("legacy sk-0123456789abcdefghijklmnopqrstuvWXYZ", "legacy sk-…WXYZ"),
    ("api-key: zq9XKpLmN0rTuVw7", "api-key: …uVw7"),
    ('{"x-api-key": "zq9XKpLmN0rTuVw7"}', '{"x-api-key": "…uVw7"}'),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9", "Authorization: Bearer …NiJ9"),
    ("Authorization=abc123def456", "Authorization=…"),  # short: nothing of it shown
])
def test_key_shaped_strings_are_masked(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked
    assert mask_secrets(masked) == masked  # idempotent


@pytest.mark.parametrize("text", [
    "risk-free", "task-1", "a desk-lamp", "sk-learn", "ask-0123456789abcdefghijklmnop",
    "Bearer of bad news", "Bearer authentication is required",
    "Authorization: Bearer YOUR_KEY", "Authorization header missing", "api_key=None",
    "the api-key is wrong", "Token 12 of 40", "model gpt-4o-mini, task-12345678901234567890",
])
def test_ordinary_words_are_left_alone(text: str) -> None:
    assert mask_secrets(text) == text


def test_known_secrets_of_any_shape_are_masked() -> None:
    registry = SecretRegistry()
    registry.remember("zq9ECHO500SECRETxK7p")
    registry.remember("short")  # too short to look for: it would mask ordinary words
    registry.remember(None)
    text = "credentials zq9ECHO500SECRETxK7p rejected; a short answer"
    assert registry.mask(text) == "credentials …xK7p rejected; a short answer"
    assert "short" not in registry


def test_show_key_keeps_the_prefix_and_last_four() -> None:
    assert show_key(PROJECT_KEY) == "sk-proj-…wxyz"
    assert show_key("sk-abc") == "sk-…"
    assert show_key("0123456789") == "…"


def test_the_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    try:
        raise ValueError(f"Error code: 401 - Incorrect API key provided: {PROJECT_KEY}")
    except ValueError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "refused: %s", (exc,),
                                   (type(exc), exc, exc.__traceback__))
    assert MaskSecrets().filter(record)
    line = logging.Formatter("%(message)s").format(record)
    assert PROJECT_KEY not in line and PROJECT_KEY[:-4] not in line
    assert line.count("sk-proj-…wxyz") == 2 and "Traceback" in line


@pytest.mark.parametrize(("text", "masked"), [
    ("postgres://user:hunter2@db.example:5432/app", "postgres://user:***@db.example:5432/app"),
    ("could not reach redis://:pw@cache/0 now", "could not reach redis://:***@cache/0 now"),
    ("postgres://user@db/app", "postgres://user@db/app"),  # no password: nothing to hide
    ("https://example.com/a:b@c", "https://example.com/a:b@c"),  # '@' in the path
])
def test_passwords_in_urls_are_hidden(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_exports_mask_keys_stored_before_masking_existed() -> None:
    """A workspace written before masking may hold an echoed key in a prompt's error: neither
    export format carries it out (the answer's own text stays exact)."""
    from batcher_gui.config.prices import price_table
    from batcher_gui.engine.export import csv_row, jsonl_line

    key = "sk-proj-" + "A1b2C3d4" * 6
    row = (1, "c1", 1, "failed", "/v1/chat/completions", "gpt-4o-mini", b"{}", None,
           f"401: Incorrect API key provided: Bearer {key}", None, None, 1,
           f"webhook said: api-key={key}", None, None)
    prices = price_table()
    line = jsonl_line(row, prices).decode()
    cells = " ".join(str(cell) for cell in csv_row(row, prices))
    for text in (line, cells):
        assert key not in text and "…" in text
