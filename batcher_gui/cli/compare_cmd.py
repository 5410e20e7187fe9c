"""``batcher compare A B``: two runs side by side — pairing, agreement, cost — and the pairs
to a file."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from batcher_gui.cli.common import EXIT_INVALID, EXIT_OK, AddCommand, bar, say
from batcher_gui.config.prices import price_table
from batcher_gui.domain.compare import CompareFilter, PairRule, RunSide
from batcher_gui.domain.money import usd
from batcher_gui.domain.wording import plural

if TYPE_CHECKING:
    from batcher_gui.app import Service

RUN_HELP = "run number (#3) or name"
_RULES = {"id": PairRule.CUSTOM_ID, "line": PairRule.LINE, "text": PairRule.TEXT}


def register(add: AddCommand) -> None:
    p = add("compare", "compare two runs: pair their prompts, count where the answers agree, "
                       "show cost and failures side by side, write the pairs", cmd_compare)
    p.add_argument("run_a", metavar="A", help=f"the first run ({RUN_HELP})")
    p.add_argument("run_b", metavar="B", help=f"the second run ({RUN_HELP})")
    p.add_argument("--out", metavar="FILE",
                   help="write the pairs to FILE (.jsonl or .csv): key, same or not, both "
                        "answers, tokens, cost, labels and checks of each side")
    p.add_argument("--only", choices=[f.value for f in CompareFilter if f.value != "all"],
                   help="write only these pairs (default: all)")
    p.add_argument("--by", choices=list(_RULES),
                   help="pair by custom_id, source line or request text (default: custom_id "
                        "when the runs share them, else line when the files are as long, "
                        "else text)")
    p.set_defaults(interrupted="no file was written")


def side_line(name: str, side: RunSide) -> str:
    return (f"{name}: run {side.label}: {plural(side.prompts, 'prompt')}, "
            f"{side.answered:,} answered, {side.failed:,} failed; tokens "
            f"{side.input_tokens:,} in / {side.output_tokens:,} out; "
            f"{usd(side.cost, 'cost unknown')}"
            + (f" ({', '.join(side.models)})" if side.models else ""))


async def cmd_compare(args: argparse.Namespace, service: Service) -> int:
    from batcher_gui.app.compare import Comparison, check_out
    from batcher_gui.app.reader import data_location

    run_a = await service.find_run(args.run_a)
    run_b = await service.find_run(args.run_b)
    if run_a.id == run_b.id:
        say(f"error: run {run_a.label} compared with itself agrees with itself: name two "
            "different runs", err=True)
        return EXIT_INVALID
    if args.out:
        check_out(args.out)
    comparison = await Comparison.open(data_location(service.paths), run_a.id, run_b.id,
                                       price_table(service.settings.prices))
    try:
        with bar(run_a.prompt_count + run_b.prompt_count, "pair", "comparing") as progress:
            summary = await comparison.build(
                lambda done, _total: progress.update(done - progress.n),
                _RULES[args.by] if args.by else None)
        assert comparison.sides is not None
        say(side_line("A", comparison.sides[0]))
        say(side_line("B", comparison.sides[1]))
        for line in summary.lines():
            say(line)
        counts = ", ".join(f"{f.label} {summary.counts.get(f, 0):,}" for f in CompareFilter)
        say(f"Pairs: {counts}")
        if args.out:
            only = CompareFilter(args.only) if args.only else CompareFilter.ALL
            written = await comparison.write(only, args.out)
            say(f"Wrote {plural(written, 'pair')} ({only.label.lower()}) to {args.out}")
    finally:
        await comparison.aclose()
    return EXIT_OK
