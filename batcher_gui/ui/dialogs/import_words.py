"""The import dialog's words: a file's problems, the cost of its prompts and its first requests,
as the dialog shows them (rich text where a label takes it). No widgets here."""

from __future__ import annotations

import html

import orjson

from batcher_gui.domain.errors import BatcherError, LineError
from batcher_gui.domain.intake import FileEstimate
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.wording import plural
from batcher_gui.ui.dialogs import words

RED = "#c62828"


def escaped(text: str) -> str:
    """Text for a rich-text label (quotes stay quotes)."""
    return html.escape(text, quote=False)


def problems(exc: BatcherError) -> list[str]:
    """An error's problems in the dialog's words (at least one)."""
    errors: list[LineError] = getattr(exc, "errors", None) or []
    return ([words.import_problem(e) for e in errors] if errors
            else [words.plain(str(exc).splitlines()[0] if str(exc) else "unknown problem")])


def cost_text(estimate: FileEstimate, prices: PriceTable) -> str:
    """Tokens and what they cost (rich text); models without a known price are named, never
    priced at $0."""
    cost = estimate.cost
    assert cost is not None
    method = estimate.method
    about = "" if method == "counted" else "about "
    # Claude's tokens: scaled from the provider's count of a sample, or OpenAI's tokenizer's
    how = {"sampled": f" ({estimate.how_counted()})",
           "approximate": f", {estimate.how_counted()}"}.get(method, "")
    if method == "counted" and estimate.sampled:
        how = " (counted by the provider)"
    text = (f"{about}{estimate.input_tokens:,} input tokens{how}, at most "
            f"{estimate.output_bound:,} output")
    unpriced = prices.unpriced(estimate.models)
    if unpriced:
        names = " or ".join(f"“{escaped(m)}”" for m in unpriced[:3])
        names += f" and {plural(len(unpriced) - 3, 'more model')}" if len(unpriced) > 3 else ""
        missing = f"<span style='color:{RED}'>no price known for {names}</span>"
    if unpriced and len(unpriced) == len(estimate.models):
        return f"{text} · {missing}, so no cost can be shown"
    others = " for the other models" if unpriced else ""
    text += (f" · <b>{words.money_range(cost.low, cost.high)}</b> at batch prices{others} "
             f"(live calls: up to {words.money(cost.live_high)})")
    return f"{text} · {missing}" if unpriced else text


def examples_text(examples: list[tuple[str, bytes] | LineError]) -> str:
    """The first requests as they will be sent (pretty JSON), or why a line cannot be."""
    if not examples:
        return "(the file has no prompts)"
    parts = []
    for example in examples:
        if isinstance(example, LineError):
            parts.append(f"✖ {words.import_problem(example)}")
        else:
            custom_id, body = example
            pretty = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
            parts.append(f"custom_id: {custom_id}\n{pretty}")
    return "\n\n".join(parts)
