"""CLI commands that drive or steer the engine: submit, sync, cancel, retry, batches, profiles,
keys, config and the sandbox server."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import ProfileKind, ProfileLimits
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.paths import WorkspacePaths, resolve_workspace
from batcher_gui.sandbox import add_arguments as add_sandbox_arguments
from batcher_gui.sandbox import config_from_args
from batcher_gui.storage import Store, open_store
from batcher_gui.storage.lifecycle import Lifecycle

AddWorkspace = Callable[[argparse.ArgumentParser], None]
EXIT_OK, EXIT_PROBLEM = 0, 1


def open_workspace(args: argparse.Namespace) -> tuple[Store, WorkspacePaths]:
    """The workspace named by --data-dir (or the environment, or the default), opened."""
    paths = resolve_workspace(args.data_dir).create()
    return open_store(paths.database), paths


def register(subs: Any, workspace: AddWorkspace) -> None:
    def add(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
            ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = subs.add_parser(name, help=help_text)
        workspace(p)
        p.set_defaults(handler=handler)
        return p

    p = add("submit", "seal draft batches now so the next sync sends them", cmd_submit)
    p.add_argument("--run", help="only drafts holding this run's prompts")

    p = add("sync", "run the engine: send, poll, download and apply results", cmd_sync)
    p.add_argument("--wait", action="store_true", help="keep going until nothing is in flight")
    p.add_argument("--timeout", type=float, help="give up waiting after S seconds")

    p = add("cancel", "cancel a batch (results finished so far are kept)", cmd_cancel)
    p.add_argument("batch", type=int)

    p = add("retry", "restart failed batches; with --failed also retry failed prompts",
            cmd_retry)
    p.add_argument("--run", help="only this run")
    p.add_argument("--failed", action="store_true",
                   help="also send failed and expired prompts again, in new batches")

    p = add("deliver", "set where a run's results go as they finish", cmd_deliver)
    p.add_argument("run", help="run name or number")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--folder", help="write <run>.jsonl and <run>.csv into this folder")
    where.add_argument("--webhook", help="POST each result to this http(s) URL")
    where.add_argument("--none", action="store_true", help="no delivery (processed is the end)")

    p = add("redeliver", "deliver a run's results again", cmd_redeliver)
    p.add_argument("run", help="run name or number")
    p.add_argument("--failed", action="store_true", help="only results whose delivery failed")

    p = add("batches", "list batches with their state and progress", cmd_batches)
    p.add_argument("--json", action="store_true")

    p = add("profile", "provider profiles", cmd_profile)
    psubs = p.add_subparsers(dest="profile_command", required=True)
    pa = psubs.add_parser("add", help="add a provider profile")
    pa.add_argument("name")
    pa.add_argument("--kind", required=True, choices=[k.value for k in ProfileKind])
    pa.add_argument("--base-url", help="API base URL including /v1 (openai-compatible, azure)")
    pa.add_argument("--key-env", metavar="VAR", help="read the API key from this env variable")
    pa.add_argument("--max-requests", type=int, default=ProfileLimits().max_requests)
    pa.add_argument("--max-batch-bytes", type=int, default=ProfileLimits().max_batch_bytes)
    pa.add_argument("--default", action="store_true", help="make it the default profile")
    psubs.add_parser("list", help="list profiles and whether each has a key")

    p = add("keys", "API keys in the OS keyring", cmd_keys)
    ksubs = p.add_subparsers(dest="keys_command", required=True)
    ksubs.add_parser("set", help="store a key (read from stdin or a hidden prompt)").add_argument(
        "name")
    ksubs.add_parser("delete", help="remove a stored key").add_argument("name")

    p = add("config", "workspace settings", cmd_config)
    csubs = p.add_subparsers(dest="config_command", required=True)
    csubs.add_parser("list")
    cs = csubs.add_parser("set")
    cs.add_argument("key")
    cs.add_argument("value", help="a JSON value (number, true/false, list, \"text\")")

    p = subs.add_parser("sandbox", help="the local OpenAI-compatible sandbox provider")
    ssubs = p.add_subparsers(dest="sandbox_command", required=True)
    serve = ssubs.add_parser("serve", help="run the sandbox server in the foreground")
    add_sandbox_arguments(serve)
    serve.set_defaults(handler=cmd_sandbox_serve)


def cmd_submit(args: argparse.Namespace) -> int:
    store, _ = open_workspace(args)
    ids = None
    if args.run:
        run = store.find_run(args.run)
        with store.db.read() as conn:
            ids = [b for (b,) in conn.exec_driver_sql(
                "SELECT DISTINCT batch_id FROM prompts WHERE run_id = ? AND batch_id IS NOT NULL",
                (run.id,))]
    sealed = store.seal_drafts(ids)
    print(f"Sealed {len(sealed)} batch(es){': ' + ', '.join(map(str, sealed)) if sealed else ''}."
          " `batcher sync` sends them.")
    return EXIT_OK


async def _sync(args: argparse.Namespace) -> int:
    from batcher_gui.cli.runtime import Runtime
    from batcher_gui.engine.events import EngineEvent, EngineNotice

    store, paths = open_workspace(args)
    problems: list[EngineNotice] = []
    stop = asyncio.Event()

    def listen(event: EngineEvent) -> None:
        if isinstance(event, EngineNotice) and event.level == "error":
            problems.append(event)
            if event.needs_user:
                stop.set()  # waiting longer cannot help: the user has to act first

    async with Runtime(store, paths, listener=listen) as rt:
        if rt.uses_builtin_sandbox():
            await rt.start_sandbox()
        if not args.wait:
            if not rt.engine.life.acquire_lease(rt.settings.lease_ttl):
                print("Another Batcher is driving this workspace; it will do the work.")
                return EXIT_OK
            try:
                await rt.engine.tick()
            finally:
                rt.engine.life.release_lease()
            if problems:
                print(f"error: {problems[-1].message}", file=sys.stderr)
                return EXIT_PROBLEM
            return EXIT_OK
        idle = await rt.engine.run(until_idle=True, timeout=args.timeout, stop=stop)
    if stop.is_set():
        print(f"error: stopped, this needs you first: {problems[-1].message}", file=sys.stderr)
        return EXIT_PROBLEM
    if not idle:
        print(f"Still in flight after {args.timeout}s; run `batcher sync --wait` again.",
              file=sys.stderr)
        return EXIT_PROBLEM
    print("Nothing in flight.")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    return asyncio.run(_sync(args))


def cmd_cancel(args: argparse.Namespace) -> int:
    store, _ = open_workspace(args)
    print(Lifecycle(store).request_cancel(args.batch))
    if store.get_batch(args.batch).cancel_requested_at:
        print("`batcher sync` (or the open window) sends the cancellation to the provider.")
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    store, _ = open_workspace(args)
    life = Lifecycle(store)
    run_id = store.find_run(args.run).id if args.run else None
    restarted = 0
    for batch in store.list_batches([BatchState.FAILED]):
        if run_id is not None:
            with store.db.read() as conn:
                if not conn.exec_driver_sql("SELECT 1 FROM prompts WHERE batch_id = ? AND "
                                            "run_id = ? LIMIT 1", (batch.id, run_id)).first():
                    continue
        life.restart_batch(batch.id)
        restarted += 1
    retried = 0
    if args.failed:
        retried = life.retry_prompts(run_id, [PromptState.FAILED, PromptState.EXPIRED])
    print(f"Restarted {restarted} failed batch(es); {retried} prompt(s) will be sent again.")
    return EXIT_OK


def set_delivery(store: Store, run_ref: str, folder: str | None, webhook: str | None) -> str:
    """Point a run's results at a folder or webhook (or nowhere); returns a summary."""
    from batcher_gui.storage.delivery import DeliveryStore

    run = store.find_run(run_ref)
    ds = DeliveryStore(store)
    if webhook:
        if not webhook.startswith(("http://", "https://")):
            raise BatcherError(f"--webhook must be an http(s) URL, got {webhook!r}")
        ds.set_target(run.id, "webhook", webhook)
        return f"Results of run {run.name!r} will be POSTed to {webhook}."
    if folder:
        path = Path(folder).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        ds.set_target(run.id, "folder", str(path))
        return f"Results of run {run.name!r} will be written to {path}."
    ds.set_target(run.id, None, None)
    return f"Run {run.name!r} has no delivery target."


def cmd_deliver(args: argparse.Namespace) -> int:
    store, _ = open_workspace(args)
    print(set_delivery(store, args.run, args.folder, args.webhook))
    return EXIT_OK


def cmd_redeliver(args: argparse.Namespace) -> int:
    from batcher_gui.storage.delivery import DeliveryStore

    store, _ = open_workspace(args)
    run = store.find_run(args.run)
    n = DeliveryStore(store).redeliver(run.id, failed_only=args.failed)
    print(f"{n} result(s) of run {run.name!r} will be delivered again by the next sync.")
    return EXIT_OK


def cmd_batches(args: argparse.Namespace) -> int:
    store, _ = open_workspace(args)
    rows = [
        {"id": b.id, "state": b.state.value, "endpoint": b.endpoint, "model": b.model,
         "requests": b.request_count, "bytes": b.bytes, "provider_batch_id": b.provider_batch_id,
         "provider_status": b.provider_status, "completed": b.counts_completed,
         "failed": b.counts_failed, "input_tokens": b.input_tokens,
         "output_tokens": b.output_tokens, "waiting": b.wait_reason, "error": b.error}
        for b in store.list_batches()
    ]
    if args.json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    if not rows:
        print("No batches yet. Import a file: batcher import prompts.jsonl")
    for r in rows:
        progress = (f" {r['completed'] or 0}+{r['failed'] or 0}/{r['requests']}"
                    if r["provider_batch_id"] else f" {r['requests']} requests")
        note = r["waiting"] or r["error"] or ""
        print(f"#{r['id']:<5} {r['state']:<17} {r['model']:<22} {r['endpoint']:<22}{progress}"
              f"  {r['provider_batch_id'] or ''} {note}".rstrip())
    return EXIT_OK


def cmd_profile(args: argparse.Namespace) -> int:
    store, _ = open_workspace(args)
    if args.profile_command == "add":
        profile = store.add_profile(
            args.name, ProfileKind(args.kind), base_url=args.base_url, key_env=args.key_env,
            limits=ProfileLimits(max_requests=args.max_requests,
                                 max_batch_bytes=args.max_batch_bytes))
        if args.default:
            store.set_setting("default_profile", profile.name)
        print(f"Added profile {profile.name!r} ({profile.kind.value}).")
        return EXIT_OK
    from batcher_gui.config import MissingApiKey, SecretStore, is_sandbox, resolve_api_key

    secrets = SecretStore()
    default = store.get_setting("default_profile", "openai")
    for profile in store.list_profiles():
        try:
            resolve_api_key(profile, secrets)
            key = "built-in" if is_sandbox(profile) else "key available"
        except MissingApiKey:
            key = "no key (batcher keys set " + profile.name + ")"
        mark = "*" if profile.name == default else " "
        print(f"{mark} {profile.name:<16} {profile.kind.value:<18} "
              f"{profile.base_url or '(default URL)':<32} {key}")
    return EXIT_OK


def cmd_keys(args: argparse.Namespace) -> int:
    from batcher_gui.config import SecretStore, read_key_interactively  # keyring: only here

    store, _ = open_workspace(args)
    profile = store.get_profile(args.name)
    secrets = SecretStore()
    if args.keys_command == "set":
        secrets.set(profile.name, read_key_interactively(sys.stdin))
        print(f"Stored the API key for {profile.name!r} in the OS keyring.")
    elif secrets.delete(profile.name):
        print(f"Removed the API key for {profile.name!r}.")
    else:
        print(f"No stored key for {profile.name!r}.")
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    store, _ = open_workspace(args)
    if args.config_command == "set":
        try:
            value = orjson.loads(args.value)
        except orjson.JSONDecodeError:
            value = args.value
        store.set_setting(args.key, value)
    with store.db.read() as conn:
        for key, value in conn.exec_driver_sql("SELECT key, value FROM settings ORDER BY key"):
            print(f"{key} = {value}")
    return EXIT_OK


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    paths = resolve_workspace(args.data_dir)
    state_dir = args.state_dir or str(paths.root / "sandbox-server")
    from batcher_gui.sandbox import serve_forever

    serve_forever(Path(state_dir), config_from_args(args), args.host, args.port)
    return EXIT_OK
