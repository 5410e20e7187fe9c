"""Token counts against tiktoken's own encodings, on a fixed corpus."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
import tiktoken_ext.openai_public as openai_public

from batcher_gui.tokens import vocab
from batcher_gui.tokens.counting import (
    IMAGE_TOKENS_HIGH,
    IMAGE_TOKENS_LOW,
    RequestTokens,
    TokenCounter,
    encoding_name,
)
from batcher_gui.tokens.vocab import encoding

CHAT = "/v1/chat/completions"


def test_the_shipped_vocabularies_are_tiktokens(monkeypatch: pytest.MonkeyPatch) -> None:
    # tiktoken's own definitions, without their download: same pattern, same special tokens.
    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *_a, **_k: {})
    for name in ("o200k_base", "cl100k_base"):
        theirs = getattr(openai_public, name)()
        assert vocab.VOCABULARIES[name].pattern == theirs["pat_str"]
        assert vocab.VOCABULARIES[name].special_tokens == theirs["special_tokens"]
        assert encoding(name).n_vocab == max(theirs["special_tokens"].values()) + 1
    # Token ids everyone knows (the files' SHA-256 is checked on load as well).
    assert encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert encoding("o200k_base").encode("hello world") == [24912, 2375]


def test_a_damaged_vocabulary_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    (tmp_path / "tokenizers").mkdir()
    (tmp_path / "tokenizers" / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(b"aGk= 0\n"))
    monkeypatch.setattr(vocab, "resource", lambda *parts: tmp_path.joinpath(*parts))
    with pytest.raises(vocab.VocabularyMissing, match="damaged"):
        vocab._load("o200k_base")
    with pytest.raises(vocab.VocabularyMissing, match="cannot be read"):
        vocab._load("cl100k_base")


def _n(text: str, name: str = "o200k_base") -> int:
    return len(encoding(name).encode_ordinary(text))


UNICODE = "Ünïcödé — 日本語のテキスト, emoji 🎉🧪, עברית and \u200b zero width"


def _chat_reference(messages: list[dict[str, Any]], name: str = "o200k_base") -> int:
    # OpenAI's cookbook formula, written out independently of the counter.
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            total += _n(value, name)
            if key == "name":
                total += 1
    return total


CORPUS: list[tuple[str, str, dict[str, Any], int]] = [
    (CHAT, "gpt-4o-mini", {"messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "hello world"}]}, 17),  # 3+1+4 + 3+1+2 + 3
]


def test_chat_with_several_roles_names_and_unicode() -> None:
    messages = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "name": "alice", "content": UNICODE},
        {"role": "assistant", "content": "Positive."},
        {"role": "user", "content": "And this one?\n\n  Indented\ttabs\r\nCRLF"},
    ]
    counter = TokenCounter()
    for model, name in (("gpt-4o-mini", "o200k_base"), ("gpt-4-turbo", "cl100k_base")):
        got = counter.count(CHAT, model, {"model": model, "messages": messages})
        assert got == RequestTokens(_chat_reference(messages, name), got.output_bound, True)
    assert counter.count(*CORPUS[0][:3]).input == CORPUS[0][3]


def test_content_parts_and_images() -> None:
    body = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}
    got = TokenCounter().count(CHAT, "gpt-4.1", body)
    expected = 3 + _n("user") + _n("What is in this picture?") + IMAGE_TOKENS_LOW \
        + IMAGE_TOKENS_HIGH + 3
    assert got.input == expected and got.exact is False  # images are estimates


def test_responses_string_list_and_instructions() -> None:
    counter = TokenCounter()
    plain = counter.count("/v1/responses", "gpt-5-mini", {"input": UNICODE})
    assert plain.input == 3 + _n("user") + _n(UNICODE) + 3
    listed = counter.count("/v1/responses", "gpt-5-mini", {
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi there"}]}],
        "max_output_tokens": 300})
    assert listed == RequestTokens(3 + _n("Be brief.") + 3 + _n("user") + _n("Hi there") + 3,
                                   300, True)


def test_embeddings_lists_token_arrays_and_no_output() -> None:
    counter = TokenCounter()
    texts = ["first paragraph", UNICODE, ""]
    got = counter.count("/v1/embeddings", "text-embedding-3-small", {"input": texts})
    assert got == RequestTokens(sum(_n(t, "cl100k_base") for t in texts), 0, True)
    ids = counter.count("/v1/embeddings", "text-embedding-3-small",
                        {"input": [[1, 2, 3], [4, 5]]})
    assert ids.input == 5


def test_output_bounds() -> None:
    counter = TokenCounter()
    msg = {"messages": [{"role": "user", "content": "x"}]}
    assert counter.count(CHAT, "gpt-4o-mini", {**msg, "max_tokens": 50}).output_bound == 50
    assert counter.count(CHAT, "gpt-4o-mini",
                         {**msg, "max_completion_tokens": 70, "n": 3}).output_bound == 210
    assert counter.count(CHAT, "gpt-4o-mini", msg).output_bound == 16_384
    assert counter.count(CHAT, "gpt-4.1-nano", msg).output_bound == 32_768
    assert counter.count("/v1/completions", "davinci-002", {"prompt": "x"}).output_bound == 16
    assert counter.count(CHAT, "my-local-llama", msg).output_bound == 4_096


def test_an_unknown_model_is_estimated_and_says_so() -> None:
    got = TokenCounter().count(CHAT, "llama-3-70b", {"messages": [
        {"role": "user", "content": "a" * 40}]})
    # 3 framing + "user" (4 bytes: 1) + 40 bytes (10) + 3 priming
    assert got == RequestTokens(3 + 1 + 10 + 3, 4_096, False)
    assert encoding_name("llama-3-70b") is None
    assert encoding_name("GPT-4o-2024-08-06") == "o200k_base"
    assert encoding_name("gpt-4-0613") == "cl100k_base"


def test_many_at_once_equal_one_by_one() -> None:
    counter = TokenCounter()
    requests = [(CHAT, "gpt-4o-mini" if i % 3 else "gpt-4", {
        "messages": [{"role": "user", "content": f"question {i} {UNICODE * (i % 4)}"}]})
        for i in range(300)]
    assert counter.count_many(requests) == [counter.count(*r) for r in requests]
    raw = [(e, m, orjson.dumps(b)) for e, m, b in requests[:5]]
    assert counter.count_many(raw) == counter.count_many(requests[:5])
