"""Cancelling: finished results are kept, the rest is cancelled, nothing is sent needlessly."""

from __future__ import annotations

from batcher_gui.domain.events import BatchChanged, Event
from batcher_gui.domain.outcomes import BatchCancel, CancelKind
from batcher_gui.domain.states import BatchState
from batcher_gui.sandbox import FaultSpec
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.user_actions import UserActions
from tests.engine.conftest import Workspace, assert_all_settled, chat


def test_cancel_mid_flight_keeps_finished_results(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(10)])
    engine = ws.engine()
    # validating -> in_progress -> first progress step (half the requests done)
    ws.tick_until(engine, lambda: (ws.store.list_batches()[0].counts_completed or 0) > 0)
    (batch,) = ws.store.list_batches()
    assert batch.state is BatchState.IN_PROGRESS

    done = UserActions(ws.store.db).request_cancel(batch.id)
    # Half the requests are done at the provider, but none is applied yet: all 10 wait.
    assert done == BatchCancel(batch.id, CancelKind.REQUESTED, BatchState.IN_PROGRESS, 10)
    ws.tick_until(engine, lambda: ws.store.get_batch(batch.id).provider_status == "cancelling",
                  max_ticks=1)
    assert ws.run(engine) is True

    batch = ws.store.get_batch(batch.id)
    assert batch.state is BatchState.CANCELLED
    states = ws.prompt_states()
    assert states == {"processed": 5, "cancelled": 5}
    reasons = [t[3] for t in ws.store.batch_transitions(batch.id)]
    assert reasons[-1].startswith("results applied")
    assert ws.sandbox.stats()["batches_by_status"] == {"cancelled": 1}
    assert_all_settled(ws)


def test_cancel_before_the_batch_ran_cancels_every_prompt(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(3)])
    engine = ws.engine()
    ws.sandbox.config.steps_per_poll = 0  # the provider sits in validating
    ws.tick_until(engine, lambda: ws.batch_states() == {"validating": 1})
    (batch,) = ws.store.list_batches()
    UserActions(ws.store.db).request_cancel(batch.id)
    ws.sandbox.config.steps_per_poll = 1

    assert ws.run(engine) is True

    assert ws.store.get_batch(batch.id).state is BatchState.CANCELLED
    assert ws.prompt_states() == {"cancelled": 3}
    assert_all_settled(ws)


def test_cancel_a_sealed_batch_never_sends_it(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(3)])
    (batch_id,) = Drafts(ws.store.db).seal()
    UserActions(ws.store.db).request_cancel(batch_id)

    assert ws.run() is True

    assert ws.prompt_states() == {"cancelled": 3}
    assert ws.sandbox.stats()["requests"] == {}
    assert_all_settled(ws)


def test_cancel_while_uploading_never_creates_the_batch(ws: Workspace) -> None:
    ws.max_retries = 0
    ws.import_lines([chat(i) for i in range(3)])
    ws.sandbox.config.faults = {"batches.create": FaultSpec(rate=1.0, kinds=("500",))}
    engine = ws.engine()
    ws.tick_until(engine, lambda: ws.batch_states() == {"uploading": 1})
    (batch,) = ws.store.list_batches()
    assert batch.intent == "create" and batch.input_file_id is not None
    assert UserActions(ws.store.db).request_cancel(batch.id) == BatchCancel(
        batch.id, CancelKind.REQUESTED, BatchState.UPLOADING, 3)
    ws.sandbox.config.faults = {}

    assert ws.run(engine) is True

    assert ws.store.get_batch(batch.id).state is BatchState.CANCELLED
    assert ws.prompt_states() == {"cancelled": 3}
    stats = ws.sandbox.stats()
    assert stats["batches_total"] == 0
    assert stats["files_deleted"] == 1  # the uploaded input file
    assert_all_settled(ws)


def test_cancel_while_uploading_after_a_lost_create_cancels_at_the_provider(
        ws: Workspace) -> None:
    ws.max_retries = 0
    ws.import_lines([chat(i) for i in range(3)])
    ws.sandbox.config.faults = {"batches.create": FaultSpec(rate=1.0, kinds=("500_after",))}
    engine = ws.engine()
    ws.tick_until(engine, lambda: ws.batch_states() == {"uploading": 1})
    (batch,) = ws.store.list_batches()
    UserActions(ws.store.db).request_cancel(batch.id)
    ws.sandbox.config.faults = {}

    assert ws.run(engine) is True

    batch = ws.store.get_batch(batch.id)
    assert batch.state is BatchState.CANCELLED and batch.provider_batch_id is not None
    assert ws.prompt_states() == {"cancelled": 3}
    assert ws.sandbox.stats()["batches_by_status"] == {"cancelled": 1}
    assert_all_settled(ws)


def test_user_cancel_during_a_pass_does_not_stop_the_engine(ws: Workspace) -> None:
    ws.add_profile("small", max_requests=2)
    ws.import_lines([chat(i) for i in range(4)], profile="small")
    life = UserActions(ws.store.db)
    cancelled: list[int] = []

    def user(event: Event) -> None:
        # The window reacts to events on the engine's loop; the user clicks "cancel" on the
        # second batch while the engine, in the same pass, is about to send it.
        if (isinstance(event, BatchChanged) and event.batch_id == 1
                and event.state == "uploading" and not cancelled):
            life.request_cancel(2)
            cancelled.append(2)

    assert ws.run(ws.engine(listener=user)) is True

    assert cancelled == [2]
    assert [b.state.value for b in ws.store.list_batches()] == ["completed", "cancelled"]
    assert ws.prompt_states() == {"processed": 2, "cancelled": 2}
    assert ws.sandbox.stats()["batches_created"] == 1
    assert_all_settled(ws)
