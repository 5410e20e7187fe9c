"""A profile without a key: said once, in the window's words, with the button that fixes it;
the status line stays one line and says the others go on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from batcher_gui.domain.events import EngineState, EngineStateChanged, Notice
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT, await_task


def test_a_missing_key_is_said_once_with_add_key_and_the_others_go_on(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    # The engine retries the keyless profile every 50 ms here (a real one: every minute).
    window = make_window()
    service = window.service
    assert service is not None
    keyless = await_task(qtbot, service.import_file(
        write_chat(tmp_path / "k.jsonl", 3), ImportOptions(), profile="openai", name="keyless"))
    await_task(qtbot, service.submit(keyless.run.id))
    banner = window.banner
    qtbot.waitUntil(lambda: banner.isVisible() and banner.button.text() == "Add Key…",
                    timeout=WAIT)
    text = banner.label.text()
    assert text == ("Profile “openai” has no API key, so its batches wait; the others go on.")
    for internal in ("batcher ", "--key-env", "Error", "keyring"):
        assert internal not in text
    # Its button opens the key field of that profile.
    banner.button.click()
    session = window.session
    assert session is not None
    (dialog,) = session.dialogs()
    qtbot.waitUntil(lambda: dialog.keys.profile is not None
                    and dialog.keys.profile.name == "openai", timeout=WAIT)
    dialog.reject()
    qtbot.waitUntil(lambda: not session.dialogs(), timeout=WAIT)
    # Only the keyless batch is left: nothing can go on, so the engine waits for the user.
    qtbot.waitUntil(lambda: window.engine_status.state is EngineState.PAUSED, timeout=WAIT)
    # Dismissed, it stays away while the engine keeps finding the key missing — and while
    # other profiles' batches go (other news, such as a finished run, may still be said).
    said: list[str] = []
    show_message = banner.show_message
    banner.show_message = lambda text, *a, **k: (said.append(text), show_message(text, *a, **k))
    retries: list[Notice] = []
    stop_counting = service.subscribe(
        lambda e: retries.append(e) if isinstance(e, Notice) and e.needs_user else None)
    banner.close_button.click()
    assert not banner.isVisible()
    qtbot.waitUntil(lambda: len(retries) >= 5, timeout=WAIT)  # the key found missing again
    stop_counting()
    assert not banner.isVisible()
    states: list[EngineState] = []
    unsubscribe = service.subscribe(
        lambda e: states.append(e.state) if isinstance(e, EngineStateChanged) else None)
    # The sandbox's batches are sent meanwhile: driving again, saying both, on one line.
    sandbox = await_task(qtbot, service.import_file(
        write_chat(tmp_path / "s.jsonl", 4), ImportOptions(), profile="sandbox", name="s"))
    await_task(qtbot, service.submit(sandbox.run.id))
    qtbot.waitUntil(lambda: (r := window.runs_model.find(sandbox.run.id)) is not None
                    and r.count(PromptState.PROCESSED) == 4, timeout=WAIT)
    unsubscribe()
    assert EngineState.DRIVING in states  # not "paused" while the sandbox's batches went
    status = window.engine_status
    assert "“openai” has no API key" in status.text.text()
    assert "\n" not in status.text.text()
    assert status.height() <= status.fontMetrics().height() * 2  # one line, not five
    qtbot.wait(1500)
    assert not any("no API key" in text for text in said), said
    del banner.show_message
