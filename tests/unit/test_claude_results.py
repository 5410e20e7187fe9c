"""Claude (Anthropic Message Batches) results: each result type, usage, cache costs, answers."""

from __future__ import annotations

import orjson
import pytest

from batcher_gui.config.prices import price_table
from batcher_gui.domain.answers import answer_text, prompt_text
from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.pricing import PriceTable, parse_price
from batcher_gui.domain.results import Outcome, classify_line
from batcher_gui.domain.usage import CacheTokens, cache_tokens, cache_tokens_in


def _message(content: list[dict[str, object]] | None = None,
             **usage: object) -> dict[str, object]:
    return {"id": "msg_01", "type": "message", "role": "assistant",
            "model": "claude-sonnet-5-5", "stop_reason": "end_turn", "stop_sequence": None,
            "content": content if content is not None else [{"type": "text", "text": "Paris"}],
            "usage": usage or {"input_tokens": 12, "output_tokens": 3}}


def _errored(kind: str, message: str) -> dict[str, object]:
    """As Anthropic writes it: the error response object under result.error."""
    return {"custom_id": "p7", "result": {"type": "errored", "error": {
        "type": "error", "error": {"type": kind, "message": message}}}}


def test_succeeded_is_a_success_with_the_message_and_total_input() -> None:
    message = _message(input_tokens=10, output_tokens=5, cache_read_input_tokens=200,
                       cache_creation_input_tokens=30)
    line = classify_line({"custom_id": "p12", "result": {"type": "succeeded",
                                                         "message": message}})
    assert line is not None
    assert (line.custom_id, line.outcome, line.body, line.error) == (
        "p12", Outcome.SUCCESS, message, None)
    # input_tokens counts only the uncached part: the stored input is all three
    assert (line.input_tokens, line.output_tokens) == (240, 5)


def test_succeeded_without_usage_or_message() -> None:
    bare = {"type": "message", "content": []}
    line = classify_line({"custom_id": "p1", "result": {"type": "succeeded", "message": bare}})
    assert line is not None and line.outcome is Outcome.SUCCESS
    assert (line.input_tokens, line.output_tokens) == (None, None)
    broken = classify_line({"custom_id": "p1", "result": {"type": "succeeded"}})
    assert broken is not None and broken.outcome is Outcome.FAILED
    assert broken.error == "succeeded result has no message"


@pytest.mark.parametrize("kind", ["overloaded_error", "api_error"])
def test_overloaded_and_api_errors_are_sent_again(kind: str) -> None:
    line = classify_line(_errored(kind, "Overloaded"))
    assert line is not None
    assert (line.outcome, line.error, line.body) == (Outcome.RETRY, f"{kind}: Overloaded", None)
    assert (line.input_tokens, line.output_tokens) == (None, None)  # not billed


@pytest.mark.parametrize("kind", ["invalid_request_error", "authentication_error",
                                  "permission_error", "not_found_error", "billing_error",
                                  "request_too_large"])
def test_other_errors_fail_for_good_with_the_providers_words(kind: str) -> None:
    raw = _errored(kind, "max_tokens: Field required")
    line = classify_line(raw)
    assert line is not None
    assert line.outcome is Outcome.FAILED
    assert line.error == f"{kind}: max_tokens: Field required"
    assert line.body == raw["result"]["error"]  # type: ignore[index]
    # the inner object alone (as some SDK versions write it) reads the same
    flat = classify_line({"custom_id": "p7", "result": {"type": "errored", "error": {
        "type": kind, "message": "max_tokens: Field required"}}})
    assert flat is not None and (flat.outcome, flat.error) == (line.outcome, line.error)


def test_canceled_and_expired_were_not_run() -> None:
    canceled = classify_line({"custom_id": "p3", "result": {"type": "canceled"}})
    expired = classify_line({"custom_id": "p4", "result": {"type": "expired"}})
    assert canceled is not None and expired is not None
    assert canceled.outcome is expired.outcome is Outcome.NOT_RUN
    assert canceled.error is not None and canceled.error.startswith("request_cancelled")
    assert expired.error is not None and expired.error.startswith("batch_expired")
    assert canceled.body is expired.body is None


def test_unknown_result_type_and_non_results() -> None:
    odd = classify_line({"custom_id": "p5", "result": {"type": "vanished"}})
    assert odd is not None and odd.outcome is Outcome.FAILED
    assert odd.error == "unknown result type 'vanished'"
    assert classify_line({"result": {"type": "succeeded"}}) is None  # no custom_id
    no_response = classify_line({"custom_id": "p5", "result": "succeeded"})
    assert no_response is not None and no_response.error == "result line has no response"


def test_openai_lines_read_as_before() -> None:
    body = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}
    line = classify_line({"custom_id": "p1", "response": {"status_code": 200, "body": body},
                          "error": None})
    assert line is not None and (line.outcome, line.input_tokens, line.output_tokens) == (
        Outcome.SUCCESS, 7, 2)


def test_cache_tokens_of_a_claude_message() -> None:
    usage = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 200,
             "cache_creation_input_tokens": 300,
             "cache_creation": {"ephemeral_5m_input_tokens": 100,
                                "ephemeral_1h_input_tokens": 200}}
    message = _message(**usage)
    assert cache_tokens(message) == CacheTokens(read=200, written=300, written_1h=200)
    assert cache_tokens_in(orjson.dumps(message)) == cache_tokens(message)
    # older messages have no split: every write is a 5-minute one
    plain = _message(input_tokens=1, output_tokens=1, cache_creation_input_tokens=40)
    assert cache_tokens(plain) == cache_tokens_in(orjson.dumps(plain)) == (0, 40, 0)
    # no cache at all
    assert cache_tokens(_message()) == cache_tokens_in(orjson.dumps(_message())) == (0, 0, 0)


def test_cache_costs_five_minute_and_one_hour_writes() -> None:
    price = parse_price({"input": 3.0, "output": 15.0, "cached_input": 0.3,
                         "cache_write": 3.75, "cache_write_1h": 6.0})
    assert price is not None and price.cache_write_1h == 6.0
    table = PriceTable({"claude-x": price})
    # 1M total input: 100k plain, 200k read, 300k written (200k of them for an hour); 10k out
    cost = table.cost("claude-x", 600_000, 10_000, cached_input=200_000, cache_write=300_000,
                      cache_write_1h=200_000, batch=False)
    plain, read, five, hour, out = 100_000 * 3.0, 200_000 * 0.3, 100_000 * 3.75, \
        200_000 * 6.0, 10_000 * 15.0
    assert cost == pytest.approx((plain + read + five + hour + out) / 1_000_000)
    batch = table.cost("claude-x", 600_000, 10_000, cached_input=200_000,
                       cache_write=300_000, cache_write_1h=200_000)
    assert batch == pytest.approx(cost / 2)
    # without a 1-hour price, hour-long writes cost what 5-minute ones do
    no_hour = PriceTable({"m": parse_price({"input": 3.0, "output": 15.0,
                                            "cache_write": 3.75})})  # type: ignore[dict-item]
    assert no_hour.cost("m", 100, 0, cache_write=100, cache_write_1h=100, batch=False) \
        == pytest.approx(100 * 3.75 / 1_000_000)


def test_built_in_claude_prices_read_with_their_cache_rates() -> None:
    prices = price_table()
    sonnet = prices.model_price("claude-sonnet-5-5")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output, sonnet.cache_write, sonnet.cache_write_1h) == (
        2.0, 10.0, 2.5, 4.0)
    assert sonnet.batch == (1.0, 5.0)
    # a dated model id finds its family's row; an older family its own
    assert prices.model_price("claude-haiku-4-5-20251001") == prices.model_price(
        "claude-haiku-4-5")
    opus4 = prices.model_price("claude-opus-4-20250514")
    assert opus4 is not None and opus4.input == 15.0
    # for every Claude row: 5-minute writes above input, 1-hour writes above those
    for model in prices.known_models():
        found = prices.model_price(model)
        assert found is not None
        if model.startswith("claude"):
            assert found.cache_write is not None and found.cache_write_1h is not None
            assert found.input < found.cache_write < found.cache_write_1h, model
            assert found.cached_input is not None and found.cached_input < found.input, model
            assert found.batch_discount == 0.5


def test_answer_text_of_a_claude_message() -> None:
    content = [
        {"type": "thinking", "thinking": "The user wants the capital.", "signature": "abc"},
        {"type": "redacted_thinking", "data": "EmwKAhgB"},
        {"type": "text", "text": "The capital is "},
        {"type": "text", "text": "Paris.", "citations": []},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
         "input": {"city": "Paris", "unit": "°C"}},
        {"type": "text", "text": "Checking the weather."},
    ]
    text = answer_text(MESSAGES_ENDPOINT, _message(content))
    assert text == ("The capital is Paris.\n"
                    '[tool_use get_weather {"city":"Paris","unit":"°C"}]\n'
                    "Checking the weather.")
    assert "user wants" not in text and "EmwK" not in text  # thinking is not the answer
    assert answer_text(MESSAGES_ENDPOINT, _message([])) == ""
    assert answer_text(MESSAGES_ENDPOINT, {"content": "odd"}) == "odd"
    assert answer_text(MESSAGES_ENDPOINT, {"error": {"type": "overloaded_error"}}) == ""
    assert answer_text(MESSAGES_ENDPOINT, None) == ""


def test_prompt_text_of_a_messages_request() -> None:
    body = {"model": "claude-sonnet-5-5", "max_tokens": 100, "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": [{"type": "text", "text": "an answer"}]},
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": "iVBOR"}},
                    {"type": "text", "text": "What is in"},
                    {"type": "text", "text": "this picture?"}]},
            ]}
    assert prompt_text(body) == "What is in this picture?"
    assert prompt_text({"model": "m", "max_tokens": 1, "messages": [
        {"role": "user", "content": "plain"}]}) == "plain"
