"""Commands that set Batcher up: profiles, keys, settings, and the sandbox server."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batcher_gui.cli.common import EXIT_OK, AddCommand, say
from batcher_gui.config.presets import PRESETS
from batcher_gui.config.profiles import ProfileFields, default_limits
from batcher_gui.config.secrets import default_key_env
from batcher_gui.config.settings import SPECS
from batcher_gui.domain.budget import MONTH_CAP, RUN_CAP
from batcher_gui.domain.capacity import DEFAULT_ANTHROPIC_TIER, TIER_OPTION, queue_limit
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.models import ProfileKind, ProfileLimits
from batcher_gui.paths import resolve_workspace
from batcher_gui.sandbox import add_arguments as add_sandbox_arguments
from batcher_gui.sandbox import config_from_args, token_from_args

if TYPE_CHECKING:
    from batcher_gui.app import Service


def register(add: AddCommand, subs: Any) -> None:
    p = add("profile", "provider profiles: add, edit, remove, list", cmd_profile)
    psubs = p.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    pa = psubs.add_parser("add", help="add a provider profile")
    pa.add_argument("name", help="profile name (letters, digits, . _ -)")
    pa.add_argument("--kind", choices=[k.value for k in ProfileKind],
                    help="openai, openai-compatible (any server speaking the OpenAI batch API), "
                         "azure or anthropic (Claude) (default: openai-compatible with "
                         "--base-url, else openai)")
    pa.add_argument("--preset", choices=list(PRESETS),
                    help="fill in the kind, base URL, limits and key variable of a provider "
                         "with an OpenAI-compatible batch API: " + "; ".join(
                             f"{p.key}: {p.label}" for p in PRESETS.values())
                         + " (other options given override it)")
    _profile_options(pa)
    pe = psubs.add_parser("edit", help="change a provider profile")
    pe.add_argument("name", help="the profile to change")
    pe.add_argument("--rename", metavar="NEW", help="a new name")
    _profile_options(pe)
    psubs.add_parser("remove", help="remove a profile no run uses").add_argument(
        "name", help="the profile to remove")
    psubs.add_parser("list", help="list profiles and whether each has a key (never the key)")

    p = add("keys", "API keys in the OS keyring", cmd_keys)
    ksubs = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    ksubs.add_parser("set", help="store a key (read from stdin or a hidden prompt, never "
                                 "from the command line)").add_argument("name", help="profile")
    ksubs.add_parser("delete", help="remove a stored key").add_argument("name", help="profile")

    p = add("config", "workspace settings: list, set, unset", cmd_config)
    csubs = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    csubs.add_parser("list", help="every setting with its value, default and meaning")
    cs = csubs.add_parser("set", help="change a setting (checked before it is stored)")
    cs.add_argument("key", help=f"one of: {', '.join(SPECS)}")
    cs.add_argument("value", help="a number, true/false, a list (300,600) or JSON (prices)")
    csubs.add_parser("unset", help="back to the default").add_argument(
        "key", help="the setting to reset")

    p = subs.add_parser("sandbox", help="the local OpenAI-compatible sandbox provider")
    ssubs = p.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    serve = ssubs.add_parser("serve", help="run the sandbox server in the foreground")
    add_sandbox_arguments(serve)
    serve.set_defaults(plain_fn=cmd_sandbox_serve, interrupted="sandbox stopped")


def _profile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="API root including /v1 (openai-compatible), the "
                                      "resource endpoint (azure), or for anthropic the API "
                                      "root without /v1 (default https://api.anthropic.com)")
    p.add_argument("--key-env", metavar="VAR",
                   help="read the API key from this environment variable (where no keyring "
                        "is; openai profiles also read OPENAI_API_KEY, anthropic ones "
                        "ANTHROPIC_API_KEY)")
    p.add_argument("--tier", metavar="TIER",
                   help="anthropic only: start, build or scale, or a number of requests that "
                        "may wait in Anthropic's processing queue (default start: 200,000)")
    p.add_argument("--max-requests", type=int,
                   help="requests per batch (OpenAI: 50000, Anthropic: 100000)")
    p.add_argument("--max-batch-bytes", type=int,
                   help="bytes per batch (OpenAI: 200000000, Anthropic: 256000000)")
    p.add_argument("--poll-interval", type=float, metavar="S",
                   help="seconds between status checks of this profile's batches")
    p.add_argument("--budget-run", type=float, metavar="USD",
                   help="most a single run may cost before Batcher asks (0: no cap)")
    p.add_argument("--budget-month", type=float, metavar="USD",
                   help="most this profile may spend per calendar month before Batcher asks "
                        "(0: no cap)")
    p.add_argument("--default", action="store_true", help="make it the default profile")


async def cmd_profile(args: argparse.Namespace, service: Service) -> int:
    if args.profile_command == "list":
        return await _list_profiles(service)
    if args.profile_command == "remove":
        await service.remove_profile(args.name)
        say(f"Removed profile {args.name!r}.")
        return EXIT_OK
    if args.profile_command == "add":
        return await _add_profile(args, service)
    profile = await service.profile(args.name)
    limits, options = _limits_and_options(args, profile.limits, dict(profile.options))
    changes: dict[str, Any] = {"limits": limits, "options": options}
    if args.rename:
        changes["name"] = args.rename
    if args.base_url is not None:
        changes["base_url"] = args.base_url
    if args.key_env is not None:
        changes["key_env"] = args.key_env
    profile = await service.edit_profile(args.name, **changes)
    if args.default:
        await service.set_setting("default_profile", profile.name)
    say(f"Updated profile {profile.name!r}.")
    return EXIT_OK


async def _add_profile(args: argparse.Namespace, service: Service) -> int:
    chosen = PRESETS[args.preset] if args.preset else None
    if chosen is not None and args.kind and ProfileKind(args.kind) is not chosen.kind:
        raise InvalidInput(f"the preset {chosen.key} is of kind {chosen.kind.value}, not "
                           f"{args.kind}: drop --kind or --preset")
    if args.kind:
        kind = ProfileKind(args.kind)
    elif chosen is not None:
        kind = chosen.kind
    else:
        kind = ProfileKind.OPENAI_COMPATIBLE if args.base_url else ProfileKind.OPENAI
    start = chosen.limits if chosen is not None else default_limits(kind)
    limits, options = _limits_and_options(args, start, {})
    base_url = args.base_url or (chosen.base_url if chosen is not None else None)
    key_env = args.key_env or (chosen.key_env if chosen is not None else None)
    profile = await service.add_profile(
        ProfileFields(args.name, kind, base_url, key_env, limits, options),
        make_default=args.default)
    say(f"Added profile {profile.name!r} ({profile.kind.value}).")
    if chosen is not None:
        say(chosen.verified)
    if profile.kind is ProfileKind.ANTHROPIC:
        say(f"Its {_tier(profile.options)}.")
    if not await service.has_key(profile):
        var = profile.key_env or default_key_env(profile.kind)
        also = f", or set {var}" if var else " (or --key-env VAR)"
        say(f"Give it a key: `batcher keys set {profile.name}`{also}.")
    return EXIT_OK


def _limits_and_options(args: argparse.Namespace, limits: ProfileLimits,
                        options: dict[str, Any]) -> tuple[ProfileLimits, dict[str, Any]]:
    """The limits and options the flags change (checked when the profile is stored)."""
    if args.max_requests is not None:
        limits = dataclasses.replace(limits, max_requests=args.max_requests)
    if args.max_batch_bytes is not None:
        limits = dataclasses.replace(limits, max_batch_bytes=args.max_batch_bytes)
    if args.poll_interval is not None:
        options["poll_interval_seconds"] = args.poll_interval
    if args.tier is not None:
        options[TIER_OPTION] = args.tier
    for flag, key in ((args.budget_run, RUN_CAP), (args.budget_month, MONTH_CAP)):
        if flag is not None:
            if flag:
                options[key] = flag
            else:
                options.pop(key, None)
    return limits, options


async def _list_profiles(service: Service) -> int:
    default = service.settings.default_profile
    for profile in await service.profiles():
        if profile.is_builtin_sandbox:
            key = "built-in, no key needed"
        elif await service.has_key(profile):
            key = "key available"
        else:
            key = f"no key (batcher keys set {profile.name})"
        mark = "*" if profile.name == default else " "
        say(f"{mark} {profile.name:<16} {profile.kind.value:<18} "
            f"{profile.base_url or '(default URL)':<32} {key}")
        if profile.kind is ProfileKind.ANTHROPIC and not profile.is_builtin_sandbox:
            say(f"    {_tier(profile.options)}")
    say("(* marks the default profile)")
    return EXIT_OK


def _tier(options: dict[str, Any]) -> str:
    """A Claude profile's tier and what it lets wait: "tier build: 300,000 requests may
    wait in Anthropic's queue"."""
    tier = options.get(TIER_OPTION, DEFAULT_ANTHROPIC_TIER)
    name = "custom" if isinstance(tier, int) else f"{tier}"
    said = "" if TIER_OPTION in options else " (the default; --tier sets it)"
    return (f"tier {name}: {queue_limit(options):,} requests may wait in Anthropic's "
            f"queue{said}")


async def cmd_keys(args: argparse.Namespace, service: Service) -> int:
    from batcher_gui.config import read_key_interactively

    profile = await service.profile(args.name)
    if args.keys_command == "set":
        await service.set_key(profile.name, read_key_interactively(sys.stdin))
        say(f"Stored the API key for {profile.name!r} in the OS keyring.")
    elif await service.delete_key(profile.name):
        say(f"Removed the API key for {profile.name!r}.")
    else:
        say(f"No stored key for {profile.name!r}.")
    return EXIT_OK


async def cmd_config(args: argparse.Namespace, service: Service) -> int:
    if args.config_command == "set":
        await service.set_setting(args.key, args.value)
    elif args.config_command == "unset":
        await service.unset_setting(args.key)
    current = service.settings
    for key, spec in SPECS.items():
        value = getattr(current, key)
        default = "" if value == spec.default else f"   (default {spec.shown(spec.default)})"
        say(f"{key} = {spec.shown(value)}{default}")
        if args.config_command == "list":
            say(f"    {spec.help}")
    return EXIT_OK


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    paths = resolve_workspace(args.data_dir, database=getattr(args, "database", None))
    state_dir = args.state_dir or str(paths.root / "sandbox-server")
    from batcher_gui.sandbox import serve_forever

    serve_forever(Path(state_dir), config_from_args(args), args.host, args.port,
                  token_from_args(args), args.token_file)
    return EXIT_OK
