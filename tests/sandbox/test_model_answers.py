"""The sandbox's answers: the same model answers a prompt the same way every time; two models
agree on most prompts, not all (so Compare has something to find); an instruction to answer with
one of a few words is answered with one of them (so a labels check can pass)."""

from __future__ import annotations

from batcher_gui.sandbox.responder import answer

SAMPLE_SYSTEM = "Answer with one word: positive, negative or mixed."


def _text(model: str, user: str, system: str | None = None) -> str:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}]
    body = {"model": model, "messages": messages}
    return str(answer("/v1/chat/completions", body, 0, "req_x").body["choices"][0]["message"]
               ["content"])


def test_one_model_answers_the_same_prompt_alike_and_two_models_mostly_agree() -> None:
    prompts = [f"question {i}" for i in range(400)]
    mini = [_text("gpt-4o-mini", p) for p in prompts]
    assert mini == [_text("gpt-4o-mini", p) for p in prompts]
    other = [_text("gpt-4o", p) for p in prompts]
    differ = sum(a != b for a, b in zip(mini, other, strict=True))
    assert 0.2 * len(prompts) < differ < 0.6 * len(prompts), differ
    assert all(a.endswith(f"You asked: {p}") for a, p in zip(other, prompts, strict=True))


def test_an_instruction_to_answer_with_one_word_is_answered_with_one_of_them() -> None:
    words = {_text(m, f"Review {i}: fine.", SAMPLE_SYSTEM) for i in range(60)
             for m in ("gpt-4o-mini", "gpt-4o")}
    assert words == {"positive", "negative", "mixed"}
    assert _text("gpt-4o-mini", "Review: fine.", "Answer in one word: the city").startswith(
        "Sandbox reply ")
