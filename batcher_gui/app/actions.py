"""What the user can ask of a workspace: runs, batches, delivery, profiles, keys, settings.

Every method is async and checks its input first: a bad value is refused with a message saying
what to do, and changes nothing. After a change the engine is woken, so it acts now.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from batcher_gui.app.jobs import run_stoppable
from batcher_gui.app.parts import ServiceParts
from batcher_gui.config import settings as settings_model
from batcher_gui.config.prices import price_table
from batcher_gui.config.profiles import ProfileFields, check_profile
from batcher_gui.config.secrets import MissingApiKey, SecretStore, resolve_api_key
from batcher_gui.config.settings import WorkspaceSettings
from batcher_gui.domain.errors import BatcherError, InvalidInput, OverBudget
from batcher_gui.domain.events import RunsChanged
from batcher_gui.domain.intake import ExampleRequest, FileEstimate, FilePreview, ValidationReport
from batcher_gui.domain.models import (
    Batch,
    ImportOptions,
    Profile,
    ProfileKind,
    ProfileLimits,
    Run,
)
from batcher_gui.domain.outcomes import (
    CancelOutcome,
    DeleteOutcome,
    DeliveryOutcome,
    RetryOutcome,
    RunFailures,
    SubmitOutcome,
)
from batcher_gui.domain.progress import GroupCounts
from batcher_gui.domain.secrecy import mask
from batcher_gui.domain.states import PromptState
from batcher_gui.engine import driver_waits
from batcher_gui.engine.driver_waits import DriverWaits
from batcher_gui.engine.estimate import RequestSample, TokenCount, count_sample, estimate_file
from batcher_gui.importing import preview
from batcher_gui.storage import WorkspaceStatus
from batcher_gui.storage.delivery import DeliveryStore
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.token_book import TokenBook
from batcher_gui.storage.user_actions import UserActions
from batcher_gui.storage.wake import WakeCalls

T = TypeVar("T")


class Actions(ServiceParts):
    """User commands and queries (mixed into :class:`batcher_gui.app.service.Service`)."""

    secrets: SecretStore

    def _apply_settings(self, settings: WorkspaceSettings) -> None:
        raise NotImplementedError

    async def _acted(self) -> None:
        """A user's change is committed: the engine acts on it now — this process's, and the
        one driving the workspace from another process (a wake-up call it notices within a
        second; it reads the settings and profiles again then)."""
        self.engine.wake()
        self.engine.pause.own_call()
        count: int | None = None
        try:
            count = await self.write(WakeCalls(self.store.db).call)
        finally:
            self.engine.pause.own_call_done(count)

    @property
    def _actions(self) -> UserActions:
        return UserActions(self.store.db)

    # -- queries ---------------------------------------------------------------------------
    async def find_run(self, ref: int | str) -> Run:
        """A run by id (int, or text ``#3``) or name; ambiguous text is refused."""
        return await self.read(self.store.find_run, ref)

    async def runs(self) -> list[Run]:
        return await self.read(self.store.list_runs)

    async def status(self) -> WorkspaceStatus:
        return await self.read(self.store.status)

    async def batches(self, run_ref: int | str | None = None) -> list[Batch]:
        run_id = (await self.find_run(run_ref)).id if run_ref is not None else None
        return await self.read(self.store.list_batches, run_id=run_id)

    async def run_counts(self, run_id: int) -> dict[PromptState, int]:
        return await self.read(self.store.run_counts, run_id)

    async def batch(self, batch_id: int) -> Batch:
        return await self.read(self.store.get_batch, batch_id)

    async def status_report(self) -> dict[str, Any]:
        """Runs with prompt counts by state and by state group, tokens and cost; batches by
        state.

        The cost is :meth:`PriceTable.usage_cost` of the tokens the provider reported, as the
        window's runs list prices them.
        """
        status = await self.read(self.store.status)
        usage = await self.read(self.store.usage_by_run)
        cache = await self.read(self.store.cache_by_run)
        deliveries = await self.read(self.store.delivery_failures)
        prices = price_table(self.settings.prices)
        runs = []
        for r in status.runs:
            rows = usage.get(r.run.id, [])
            cost = prices.usage_cost(rows, cache.get(r.run.id, {}))
            groups = GroupCounts.of({PromptState(s): n for s, n in r.prompts_by_state.items()})
            runs.append({
                "id": r.run.id, "name": r.run.name, "prompts": r.run.prompt_count,
                "source": r.run.source_path, "by_state": r.prompts_by_state,
                "groups": groups.as_dict(),
                "delivery_failures": deliveries.get(r.run.id, 0),
                "input_tokens": sum(x[1] for x in rows),
                "output_tokens": sum(x[2] for x in rows),
                "cost_usd": None if cost is None else round(cost, 6),
                "unpriced_models": prices.unpriced(m for m, _, _ in rows),
            })
        waits = await self.driver_waits()
        workspace = (self.store.db.shown_name if self.store.db.url
                     else str(self.store.db.path.parent))
        return {"workspace": workspace, "runs": runs,
                "batches": status.batches_by_state,
                "waiting_profiles": {} if waits is None else {
                    name: {"kind": w.kind.value, "detail": w.detail, "driver_host": waits.host,
                           "driver_pid": waits.pid}
                    for name, w in waits.profiles.items()}}

    async def failure_mark(self) -> int:
        return await self.read(self.store.failure_mark)

    async def failures_since(self, mark: int) -> list[RunFailures]:
        """What failed after ``mark`` and still is: per run and state (failed, expired)."""
        return [RunFailures(run.id, run.label, PromptState(state), n, deliveries)
                for run, state, n, deliveries
                in await self.read(self.store.failures_since, mark)]

    async def driver_waits(self) -> DriverWaits | None:
        """Profiles whose batches the driving engine (maybe on another machine, with keys
        of its own) parks for the user, and why; None when none wait or nobody drives."""
        waits = await self.read(driver_waits.read, self.store)
        if waits is None:
            return None
        if waits.holder != self.engine.claim.holder:  # said by another process: still there?
            driver = await self.read(self.engine.claim.current_driver)
            if driver is None or driver.holder != waits.holder:
                return None  # a driver that stopped or died said it
        return waits

    async def current_driver(self) -> str:
        """Who drives the workspace, in words."""
        from batcher_gui.engine.engine import other_driver_text

        driver = await self.read(self.engine.claim.current_driver)
        return other_driver_text(driver.holder if driver else None)

    # -- runs and batches ------------------------------------------------------------------
    async def submit(self, run_ref: int | str | None = None, *,
                     allow_over_budget: bool = False) -> SubmitOutcome:
        """Seal drafts now (of one run, or all) so the engine sends them at once.

        Raises OverBudget (nothing sealed; its ``refusal`` has the figures) when a run would
        pass its profile's spending cap, unless ``allow_over_budget``: then the run is marked
        as allowed, and goes."""
        runs = [await self.find_run(run_ref)] if run_ref is not None else await self.runs()
        allowed = []
        for run in runs:
            profile = await self.read(self.store.get_profile_by_id, run.profile_id)
            refusal = await self.engine.gate.budget_problem(run.id, profile)
            if refusal is None:
                continue
            if not allow_over_budget:
                raise OverBudget(dataclasses.replace(refusal, run_label=run.label))
            await self.write(TokenBook(self.store.db).approve_budget, run.id, time.time())
            allowed.append(run.id)
        run_id = runs[0].id if run_ref is not None else None
        sealed = await self.write(Drafts(self.store.db).seal, run_id=run_id)
        await self._acted()
        return SubmitOutcome(tuple(sealed), tuple(allowed))

    async def cancel_batch(self, batch_id: int) -> CancelOutcome:
        """Cancel one batch: at once if it never left the machine, else at the provider."""
        done = await self.write(self._actions.request_cancel, batch_id)
        await self._acted()
        return CancelOutcome((done,))

    async def cancel_run(self, run_ref: int | str) -> CancelOutcome:
        """Cancel every batch of a run that has not ended (empty: nothing left to cancel)."""
        run = await self.find_run(run_ref)
        outcome = await self.write(self._actions.cancel_run, run.id)
        await self._acted()
        return outcome

    async def restart_batch(self, batch_id: int) -> int:
        """Send a failed batch again; returns how many prompts it will send."""
        count = await self.write(self._actions.restart_batch, batch_id)
        await self._acted()
        return count

    async def retry(self, run_ref: int | str | None = None, *,
                    prompts_too: bool = False) -> RetryOutcome:
        """Restart failed batches; with ``prompts_too`` resend failed and expired prompts."""
        run_id = (await self.find_run(run_ref)).id if run_ref is not None else None
        outcome = await self.write(self._actions.retry, run_id, prompts_too=prompts_too)
        await self._acted()
        return outcome

    async def delete_run(self, run_ref: int | str) -> DeleteOutcome:
        """Delete a run with its prompts, results and batches (refused while any of it is at
        the provider)."""
        run = await self.find_run(run_ref)
        prompts, batches = await self.write(self._actions.delete_run, run.id)
        self._emit(RunsChanged(f"deleted run #{run.id}"))
        return DeleteOutcome(run.id, run.label, prompts, batches)

    # -- delivery ----------------------------------------------------------------------------
    async def set_delivery(self, run_ref: int | str, *, folder: str | None = None,
                           webhook: str | None = None) -> DeliveryOutcome:
        """Point a run's results at a folder or a webhook (neither: no delivery)."""
        run = await self.find_run(run_ref)
        ds = DeliveryStore(self.store.db)
        if webhook:
            if not webhook.startswith(("http://", "https://")):
                raise InvalidInput(f"the webhook must be an http(s) URL, got {webhook!r}")
            outcome = DeliveryOutcome(run.id, run.label, "webhook", webhook)
        elif folder:
            path = await self.read(_results_folder, folder)
            outcome = DeliveryOutcome(run.id, run.label, "folder", str(path))
        else:
            outcome = DeliveryOutcome(run.id, run.label)
        await self.write(ds.set_target, run.id, outcome.kind, outcome.target)
        await self._acted()
        return outcome

    async def redeliver(self, run_ref: int | str, *, failed_only: bool) -> int:
        run = await self.find_run(run_ref)
        if run.delivery_kind is None:
            raise BatcherError(f"run {run.label} has no delivery target; set one first "
                               f"(`batcher deliver #{run.id} --folder DIR`)")
        count = await self.write(DeliveryStore(self.store.db).redeliver, run.id,
                                 failed_only=failed_only)
        await self._acted()
        return count

    # -- before an import: a peek, examples, a dry run, an estimate ---------------------------
    async def preview_file(self, path: str | os.PathLike[str], options: ImportOptions
                           ) -> FilePreview:
        """The format, header and first rows of a file (reads only its start), in a worker
        thread. Raises ImportValidationError for a file no options could import; cancelling
        the caller stops the read within a fraction of a second."""
        cancel = threading.Event()
        return await run_stoppable(functools.partial(
            preview.peek, path, options, should_stop=cancel.is_set), cancel)

    async def example_requests(self, path: str | os.PathLike[str], options: ImportOptions,
                               profile_name: str | None = None) -> list[ExampleRequest]:
        """The first requests exactly as the import would build them with the profile's
        limits (the default profile's without ``profile_name``), in a worker thread;
        cancelling the caller stops it."""
        chosen = await self.profile(profile_name or self.settings.default_profile)
        cancel = threading.Event()
        return await run_stoppable(functools.partial(
            preview.render_examples, path, options, chosen.limits, should_stop=cancel.is_set,
            kind=chosen.kind), cancel)

    async def check_file(self, path: str | os.PathLike[str], options: ImportOptions,
                         profile_name: str | None = None, *,
                         cancel: threading.Event | None = None,
                         progress: Callable[[int, int], None] | None = None
                         ) -> ValidationReport:
        """A dry run: what importing the file with the profile would do, writing nothing.

        Runs in a worker thread; ``progress`` gets (bytes read, file size) there. Setting
        ``cancel`` stops it (raises Cancelled); cancelling the caller stops it too."""
        chosen = await self.profile(profile_name or self.settings.default_profile)
        cancel = cancel or threading.Event()
        return await run_stoppable(functools.partial(
            preview.validate, path, options, chosen.limits, should_stop=cancel.is_set,
            progress=progress, kind=chosen.kind), cancel)

    async def estimate_file(self, path: str | os.PathLike[str], options: ImportOptions, *,
                            profile: str | None = None, cancel: threading.Event | None = None,
                            progress: Callable[[int, int], None] | None = None,
                            offline: bool = False) -> FileEstimate:
        """Tokens and cost of a file's requests, as they would be imported (nothing written).

        Counted offline in a worker thread; ``cancel`` (or cancelling the caller) stops it.
        Claude requests have no offline tokenizer: unless ``offline``, an Anthropic profile's
        provider counts a sample of them (``estimate.method`` says "sampled"); without one
        (or its key) they stay counted with OpenAI's tokenizer ("approximate")."""
        chosen = await self.profile(profile or self.settings.default_profile)
        cancel = cancel or threading.Event()
        prices = price_table(self.settings.prices)
        sample = None if offline else RequestSample()
        estimate = await run_stoppable(functools.partial(
            estimate_file, path, options, chosen.limits, prices,
            should_stop=cancel.is_set, progress=progress, sample=sample, kind=chosen.kind),
            cancel)
        if sample is not None and sample.requests:
            try:
                count_tokens = await self._token_counter(chosen)
            except BatcherError as exc:  # no key, a bad URL: the offline count stands
                estimate.sample_problem = mask(str(exc))
            else:
                await count_sample(estimate, sample, count_tokens, prices)
        return estimate

    async def _token_counter(self, profile: Profile) -> TokenCount | None:
        """The profile's provider's token counting (Anthropic's count_tokens), if it has one
        (raises BatcherError when the provider cannot be made now: no key...)."""
        if ProfileKind(profile.kind) is not ProfileKind.ANTHROPIC:
            return None
        provider = await self.engine.providers.get(profile)
        count: TokenCount | None = getattr(provider, "count_tokens", None)
        return count if callable(count) else None

    # -- profiles and keys -------------------------------------------------------------------
    async def profiles(self) -> list[Profile]:
        return await self.read(self.store.list_profiles)

    async def profile(self, name: str) -> Profile:
        return await self.read(self.store.get_profile, name)

    async def add_profile(self, fields: ProfileFields, *, make_default: bool = False
                          ) -> Profile:
        checked = check_profile(fields)
        profile = await self.write(
            self.store.add_profile, checked.name, checked.kind, checked.base_url,
            checked.key_env, checked.limits, checked.options or None)
        if make_default:
            await self.set_setting("default_profile", profile.name)
        return profile

    async def edit_profile(self, profile_name: str, /, **changes: Any) -> Profile:
        """Change some fields of a profile (``name``, ``base_url``, ``key_env``, ``limits``...)."""
        profile = await self.read(self.store.get_profile, profile_name)
        if profile.is_builtin_sandbox and ({"kind", "base_url"} & set(changes)):
            raise InvalidInput("the built-in sandbox's kind and URL cannot be changed")
        current = ProfileFields(profile.name, profile.kind, profile.base_url, profile.key_env,
                                profile.limits, dict(profile.options))
        checked = check_profile(dataclasses.replace(current, **changes))
        updated = await self.write(self.store.update_profile, Profile(
            profile.id, checked.name, checked.kind, checked.base_url, checked.key_env,
            checked.limits or profile.limits, checked.options))
        if updated.name != profile.name and self.settings.default_profile == profile.name:
            await self.set_setting("default_profile", updated.name)
        self.engine.profile_changed(profile.id)
        await self._acted()
        return updated

    async def remove_profile(self, name: str) -> None:
        profile = await self.read(self.store.get_profile, name)
        if profile.name == self.settings.default_profile:
            raise BatcherError(f"{name!r} is the default profile; make another one the "
                               "default first (`batcher config set default_profile NAME`)")
        if profile.id in await self.read(self.store.profiles_in_use):
            raise BatcherError(f"profile {name!r} has batches in flight; cancel them or let "
                               "them finish first")
        await self.write(self.store.remove_profile, profile.id)
        self.engine.profile_changed(profile.id)
        await self._acted()

    async def has_key(self, profile: Profile) -> bool:
        try:
            await self.read(resolve_api_key, profile, self.secrets)
        except MissingApiKey:
            return False
        return True

    async def set_key(self, name: str, key: str) -> None:
        """Store a profile's key in the OS keyring; the next call uses it."""
        profile = await self.read(self.store.get_profile, name)
        await asyncio.get_running_loop().run_in_executor(None, self.secrets.set, profile.name,
                                                         key)
        self.engine.profile_changed(profile.id)
        await self._acted()

    async def delete_key(self, name: str) -> bool:
        profile = await self.read(self.store.get_profile, name)
        gone = await asyncio.get_running_loop().run_in_executor(None, self.secrets.delete,
                                                                profile.name)
        self.engine.profile_changed(profile.id)
        await self._acted()
        return gone

    # -- settings ----------------------------------------------------------------------------
    async def set_setting(self, key: str, value: Any) -> Any:
        """Change a setting: ``value`` as typed by the user (text) or as a JSON value."""
        checked = (settings_model.parse(key, value) if isinstance(value, str)
                   and settings_model.spec_for(key).kind != "str"
                   else settings_model.check(key, value))
        if key == "default_profile":
            await self.read(self.store.get_profile, checked)  # must exist
        updated = self.settings.with_value(key, checked)
        await self.write(self.store.set_setting, key, updated.stored_value(key))
        self._apply_settings(updated)
        await self._acted()
        return checked

    async def unset_setting(self, key: str) -> None:
        """Back to the default."""
        spec = settings_model.spec_for(key)
        await self.write(self.store.delete_setting, key)
        self._apply_settings(self.settings.with_value(key, spec.default))
        await self._acted()


def _results_folder(folder: str) -> Path:
    path = Path(folder).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{path} is a file; results go into a folder (it is made if needed)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot make the folder {path}: {exc.strerror or exc}") from None
    return path


__all__ = ["Actions", "ProfileFields", "ProfileKind", "ProfileLimits"]
