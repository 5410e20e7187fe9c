"""``batcher intake token create|list|revoke``: the intake API's bearer tokens.

A token is printed once, when it is made; the workspace keeps only its SHA-256, so a lost
token cannot be shown again (revoke it and make another). The API itself runs with
``batcher serve --intake HOST:PORT`` or from the window's Preferences.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

import orjson

from batcher_gui.cli.common import EXIT_OK, AddCommand, say

if TYPE_CHECKING:
    from batcher_gui.app import Service
    from batcher_gui.storage.intake_rows import StoredToken


def register(add: AddCommand) -> None:
    p = add("intake", "the intake API's bearer tokens (run the API with `batcher serve "
                      "--intake HOST:PORT`)", cmd_intake)
    isubs = p.add_subparsers(dest="intake_command", required=True, metavar="ACTION")
    tp = isubs.add_parser("token", help="create, list or revoke bearer tokens")
    tsubs = tp.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    tc = tsubs.add_parser("create", help="make a token and print it ONCE (only its hash is "
                                         "kept)")
    tc.add_argument("name", help="what the token is for (e.g. the script's name)")
    tc.add_argument("--json", action="store_true", help="machine-readable output")
    tl = tsubs.add_parser("list", help="tokens with when they were made, used, revoked "
                                       "(never the token)")
    tl.add_argument("--json", action="store_true", help="machine-readable output")
    tsubs.add_parser("revoke", help="stop a token working (at once, in every process)"
                     ).add_argument("name", help="the token's name")


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _row(token: StoredToken) -> dict[str, object]:
    return {"name": token.name, "created_at": token.created_at,
            "last_used_at": token.last_used_at, "revoked_at": token.revoked_at}


async def cmd_intake(args: argparse.Namespace, service: Service) -> int:
    from batcher_gui.app.intake import Intake

    intake = Intake(service)
    action = args.token_command
    if action == "create":
        stored, token = await intake.create_token(args.name)
        if args.json:
            say(orjson.dumps({**_row(stored), "token": token}).decode())
        else:
            say(f"intake token {stored.name!r} (shown once; only its hash is kept):")
            say(token)
            say("use it as: Authorization: Bearer <token>")
    elif action == "list":
        tokens = await intake.tokens()
        if args.json:
            say(orjson.dumps([_row(t) for t in tokens]).decode())
        elif not tokens:
            say("no intake tokens (`batcher intake token create NAME` makes one)")
        else:
            say(f"{'NAME':24} {'CREATED':16} {'LAST USED':16} REVOKED")
            for t in tokens:
                say(f"{t.name:24} {_when(t.created_at):16} {_when(t.last_used_at):16} "
                    f"{_when(t.revoked_at)}")
    else:
        stored = await intake.revoke_token(args.name)
        say(f"intake token {stored.name!r} revoked")
    return EXIT_OK
