"""HTTP faults at the provider: nothing lost, nothing done twice, nothing left behind."""

from __future__ import annotations

import pytest
from keyring.backends.fail import Keyring as NoKeyring

from batcher_gui.config import SecretStore, resolve_api_key
from batcher_gui.domain.events import BatchChanged, Event, Notice, NoticeLevel
from batcher_gui.domain.models import Profile, ProfileKind
from batcher_gui.domain.remote import Provider, RemoteBatch
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.engine import Engine
from batcher_gui.providers import make_provider
from batcher_gui.sandbox import FaultSpec
from tests.engine.conftest import (
    FAST,
    Workspace,
    assert_all_settled,
    chat,
    embeddings,
    responses,
)

KINDS = ("429", "500", "timeout", "drop")


def test_faults_on_every_route_lose_nothing(ws: Workspace) -> None:
    ws.timeout = 1.0
    ws.max_retries = 2
    ws.add_profile("small", max_requests=6)
    ws.import_lines([chat(i) for i in range(18)], profile="small")
    ws.import_lines([responses(i) for i in range(4)] + [embeddings(i) for i in range(4)])
    ws.sandbox.config.timeout_seconds = 1.3  # longer than the client waits
    ws.sandbox.config.faults = {"*": FaultSpec(rate=0.3, kinds=KINDS)}

    assert ws.run(timeout=150) is True

    ws.sandbox.config.faults = {}
    stats = ws.sandbox.stats()
    injected = stats["faults_injected"]
    assert {k.split(":")[1] for k in injected} == set(KINDS)
    # Spread over the routes (which calls draw a fault depends on timing: polls vary).
    assert len({k.split(":")[0] for k in injected}) >= 4
    assert ws.prompt_states() == {"processed": 26}
    batches = ws.store.list_batches()
    assert len(batches) == 5 and {b.state.value for b in batches} == {"completed"}
    # exactly one provider batch per local batch: no duplicate ever created
    assert stats["batches_created"] == stats["batches_total"] == len(batches)
    assert len({b.provider_batch_id for b in batches}) == len(batches)
    assert all(r["attempts"] == 1 for r in ws.prompts())
    assert_all_settled(ws)


@pytest.mark.parametrize("kind", ["500", "drop", "timeout"])
def test_lost_create_answer_reattaches_instead_of_creating_again(ws: Workspace,
                                                                  kind: str) -> None:
    ws.timeout = 1.0
    ws.add_profile("small", max_requests=3)
    ws.import_lines([chat(i) for i in range(6)], profile="small")
    # Every create is applied at the provider, and every answer is lost.
    ws.sandbox.config.faults = {"batches.create": FaultSpec(rate=1.0, kinds=(kind,))}
    ws.sandbox.config.fault_after_apply = True
    ws.sandbox.config.timeout_seconds = 1.3

    assert ws.run() is True

    stats = ws.sandbox.stats()
    assert stats["faults_injected"] == {f"batches.create:{kind}_after": 2}
    assert stats["batches_created"] == stats["batches_total"] == 2
    assert ws.prompt_states() == {"processed": 6}
    assert all(r["attempts"] == 1 for r in ws.prompts())
    assert_all_settled(ws)


def test_lost_upload_answer_reuses_the_uploaded_file(ws: Workspace) -> None:
    ws.max_retries = 0  # the engine, not the SDK, deals with the lost answer
    ws.import_lines([chat(i) for i in range(3)])
    ws.sandbox.config.faults = {
        "files.create": FaultSpec(rate=1.0, kinds=("500_after",), max_count=1)}

    assert ws.run() is True

    stats = ws.sandbox.stats()
    assert stats["faults_injected"] == {"files.create:500_after": 1}
    assert stats["files_created"] == 1
    assert ws.prompt_states() == {"processed": 3}
    assert_all_settled(ws)


def test_lost_upload_answer_is_not_uploaded_again_even_with_sdk_retries(ws: Workspace) -> None:
    ws.max_retries = 2  # the SDK must not repeat the upload; the engine finds it by name
    ws.import_lines([chat(i) for i in range(3)])
    ws.sandbox.config.faults = {
        "files.create": FaultSpec(rate=1.0, kinds=("500_after",), max_count=1)}

    assert ws.run() is True

    stats = ws.sandbox.stats()
    assert stats["files_created"] == 1
    assert ws.prompt_states() == {"processed": 3}
    assert_all_settled(ws)


def test_cleanup_faults_are_retried_before_idle(ws: Workspace) -> None:
    ws.max_retries = 0
    ws.import_lines([chat(i) for i in range(3)])
    ws.sandbox.config.faults = {"files.delete": FaultSpec(rate=1.0, kinds=("500",),
                                                          max_count=3)}

    assert ws.run() is True

    assert ws.sandbox.stats()["faults_injected"] == {"files.delete:500": 3}
    assert_all_settled(ws)


@pytest.mark.expect_log
def test_missing_api_key_waits_instead_of_crashing(ws: Workspace,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOKEY_TEST_KEY", raising=False)
    ws.store.add_profile("nokey", ProfileKind.OPENAI_COMPATIBLE, base_url=ws.sandbox.base_url,
                         key_env="NOKEY_TEST_KEY")
    ws.import_lines([chat(i) for i in range(2)], profile="nokey")
    secrets = SecretStore(backend=NoKeyring())
    notices: list[Event] = []

    def provider_for(profile: Profile) -> Provider:  # how the app builds providers
        return make_provider(profile, resolve_api_key(profile, secrets),
                             base_url=ws.sandbox.base_url, timeout=3)

    engine = Engine(ws.store, provider_for, ws.batches_dir, ws.results_dir, FAST,
                    notices.append)
    assert ws.run(engine, timeout=0.3) is False  # no key: nothing can be sent, no crash

    errors = [e for e in notices if isinstance(e, Notice) and e.level is NoticeLevel.ERROR]
    assert errors and "NOKEY_TEST_KEY" in errors[0].message
    assert ws.sandbox.stats()["requests"] == {}
    monkeypatch.setenv("NOKEY_TEST_KEY", ws.sandbox.token)  # the key the sandbox answers
    assert ws.run(engine) is True
    assert ws.prompt_states() == {"processed": 2}
    assert_all_settled(ws)


class Exploding:
    """A provider whose status checks raise a bug-like error the first ``times`` times."""

    def __init__(self, inner: Provider, times: int) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.left = times

    async def retrieve_batch(self, batch_id: str) -> RemoteBatch:
        if self.left > 0:
            self.left -= 1
            raise ZeroDivisionError("a bug in one batch's step")
        return await self.inner.retrieve_batch(batch_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.expect_log
def test_an_unexpected_error_in_one_batch_retries_it_and_the_others_go_on(
        ws: Workspace) -> None:
    ws.add_profile("flaky", max_requests=50)
    ws.import_lines([chat(i) for i in range(4)])
    ws.import_lines([chat(i) for i in range(4)], profile="flaky")
    events: list[Event] = []

    def provider_for(profile: Profile) -> Provider:
        inner = ws.provider_for(profile)
        return Exploding(inner, 3) if profile.name == "flaky" else inner  # type: ignore

    engine = Engine(ws.store, provider_for, ws.batches_dir, ws.results_dir, FAST,
                    events.append)
    completed_first: list[int] = []

    def watch(event: Event) -> None:
        events.append(event)
        if isinstance(event, BatchChanged) and event.state is BatchState.COMPLETED:
            completed_first.append(event.batch_id)

    engine.listener = watch
    assert ws.run(engine) is True

    assert ws.prompt_states() == {"processed": 8}
    sb, flaky = ws.store.list_batches()
    assert completed_first[0] == sb.id  # the healthy batch did not wait for the broken one
    problems = [e for e in events if isinstance(e, Notice) and "unexpected error" in e.message]
    assert len(problems) == 3 and all(p.batch_id == flaky.id for p in problems)
    assert flaky.problem is None  # cleared once its step worked again
    assert_all_settled(ws)
