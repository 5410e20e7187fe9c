"""``batcher estimate FILE``: tokens and cost of a prompt file before importing it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import orjson

from batcher_gui.cli.common import EXIT_INVALID, EXIT_OK, AddCommand, bar, say
from batcher_gui.cli.data_cmds import add_file_options, file_size, import_options
from batcher_gui.config.prices import prices_date
from batcher_gui.domain.money import usd
from batcher_gui.domain.wording import plural

if TYPE_CHECKING:
    from batcher_gui.app import Service


def register(add: AddCommand) -> None:
    p = add("estimate", "count a prompt file's tokens and price it, without importing it",
            cmd_estimate)
    add_file_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--offline", action="store_true",
                   help="count only offline: Claude requests are not sent to Anthropic's "
                        "token counter (their count is then approximate)")
    p.set_defaults(interrupted="nothing was written")


async def cmd_estimate(args: argparse.Namespace, service: Service) -> int:
    options = import_options(args)
    if options is None:
        return EXIT_INVALID
    with bar(file_size(args.file), "B", "counting") as progress:
        estimate = await service.estimate_file(
            args.file, options, profile=args.profile,
            progress=lambda done, _total: progress.update(done - progress.n),
            offline=args.offline)
    cost = estimate.cost
    assert cost is not None
    if args.json:
        say(orjson.dumps({
            "file": args.file, "requests": estimate.requests, "invalid": estimate.invalid,
            "exact": estimate.exact, "input_tokens": estimate.input_tokens,
            "input_tokens_method": estimate.method, "sampled_requests": estimate.sampled,
            "sample_problem": estimate.sample_problem,
            "first_problem": estimate.first_problem,
            "output_tokens_max": estimate.output_bound, "prices_of": prices_date(),
            "cost_batch_min": cost.low, "cost_batch_max": cost.high,
            "cost_live_max": cost.live_high, "all_models_priced": cost.priced,
            "models": {model: {"requests": m.requests, "input_tokens": m.input,
                               "output_tokens_max": m.output_bound,
                               "sampled_requests": m.sampled,
                               "approximate": m.approximate}
                       for model, m in sorted(estimate.models.items())},
        }, option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    bad = f"; {plural(estimate.invalid, 'invalid line')} left out" if estimate.invalid else ""
    say(f"{args.file}: {plural(estimate.requests, 'request')}{bad}")
    if estimate.first_problem:
        say(f"first: {estimate.first_problem}", err=True)
    for model, m in sorted(estimate.models.items()):
        say(f"  {model:<28} {m.requests:>10,} req  {m.input:>14,} input tokens  "
            f"up to {m.output_bound:>14,} output")
    how = estimate.how_counted()
    how += " (see README: Tokens)" if estimate.method == "estimated" else ""
    about = "" if estimate.method == "counted" else "about "
    how = f", {how}" if estimate.method == "approximate" else f" ({how})"  # no (( ))
    say(f"Input tokens: {about}{estimate.input_tokens:,}{how}; output at most "
        f"{estimate.output_bound:,}")
    if estimate.sample_problem:
        say(f"note: the provider could not count a sample ({estimate.sample_problem}); "
            "Claude requests were counted with OpenAI's tokenizer", err=True)
    say(f"Cost at batch prices: {usd(cost.low)} to {usd(cost.high)} "
        f"(live calls: up to {usd(cost.live_high)}; prices of {prices_date()})")
    if not cost.priced:
        say("warning: some models have no known price and are left out of the cost; "
            "add them with `batcher config set prices`", err=True)
    return EXIT_OK
