"""``batcher label`` and ``batcher labels``: the reviewer's labels and notes from a script.

    batcher label RUN CUSTOM_ID good [--note TEXT]   label a prompt (none: take it off)
    batcher labels                                   the label names, and how many have each
    batcher labels 4 "off topic"                     name (or rename) label 4
    batcher labels 4 --remove                        delete label 4 (its prompts lose it)
    batcher labels --run RUN                         a run's labelled or noted prompts
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import orjson

from batcher_gui.cli.common import EXIT_INVALID, EXIT_OK, AddCommand, say
from batcher_gui.domain.wording import plural

if TYPE_CHECKING:
    from batcher_gui.app import Service


def register(add: AddCommand) -> None:
    p = add("label", "put a label (and/or a note) on a run's prompt, found by its custom_id",
            cmd_label)
    p.add_argument("run", help="the run: #id or name")
    p.add_argument("custom_id", help="the prompt's custom_id")
    p.add_argument("label", nargs="?", help="a label's name or key (1-9); none takes it off")
    p.add_argument("--note", help="a note on the prompt (\"\" removes it)")
    p = add("labels", "list the label names, name one (KEY NAME), remove one (KEY --remove), "
            "or list a run's labelled prompts (--run RUN)", cmd_labels)
    p.add_argument("key", nargs="?", type=int, help="a label key, 1-9")
    p.add_argument("name", nargs="?", help="its new name")
    p.add_argument("--remove", action="store_true", help="delete label KEY")
    p.add_argument("--run", help="list this run's labelled or noted prompts")
    p.add_argument("--json", action="store_true", help="machine-readable output")


async def cmd_label(args: argparse.Namespace, service: Service) -> int:
    if args.label is None and args.note is None:
        say("error: give a label (or none), --note TEXT, or both", err=True)
        return EXIT_INVALID
    if args.label is not None:
        _, key = await service.label_by_custom_id(args.run, args.custom_id, args.label)
        names = await service.label_names()
        said = "no label" if key is None else f"label {names.get(key, key)}"
        say(f"{args.custom_id}: {said}")
    if args.note is not None:
        await service.note_by_custom_id(args.run, args.custom_id, args.note)
        say(f"{args.custom_id}: " + ("note removed" if not args.note.strip() else "note saved"))
    return EXIT_OK


async def cmd_labels(args: argparse.Namespace, service: Service) -> int:
    if args.run is not None:
        return await _run_labels(args, service)
    if args.key is not None:
        if args.remove:
            lost = await service.remove_label(args.key)
            say(f"label {args.key} removed" + (f"; {plural(lost, 'prompt')} lost it"
                                               if lost else ""))
        elif args.name is not None:
            await service.name_label(args.key, args.name)
            say(f"label {args.key}: {args.name.strip()}")
        else:
            say("error: give the label's new name (batcher labels KEY NAME) or --remove",
                err=True)
            return EXIT_INVALID
        return EXIT_OK
    names = await service.label_names()
    counts: dict[int, int] = {}
    for per_run in (await service.label_counts()).values():
        for key, n in per_run.items():
            counts[key] = counts.get(key, 0) + n
    if args.json:
        say(orjson.dumps([{"key": k, "name": n, "prompts": counts.get(k, 0)}
                          for k, n in names.items()]).decode())
        return EXIT_OK
    for key, name in names.items():
        say(f"{key}  {name:<24} {plural(counts.get(key, 0), 'prompt')}")
    return EXIT_OK


async def _run_labels(args: argparse.Namespace, service: Service) -> int:
    rows = await service.reviewed(args.run)
    if args.json:
        say(orjson.dumps([{"custom_id": c, "label": lab or None, "note": note or None}
                          for c, lab, note in rows]).decode())
        return EXIT_OK
    if not rows:
        say("no prompt of this run has a label or a note yet")
    for custom_id, label, note in rows:
        say(f"{custom_id}\t{label}\t{note}")
    return EXIT_OK
