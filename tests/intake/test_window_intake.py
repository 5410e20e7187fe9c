"""The intake API in the window: off by default; Preferences → Intake API makes a token (shown
once), turns the API on at an address (the status bar says where it listens), and off again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp
import orjson
from pytestqt.qtbot import QtBot

from batcher_gui.ui.window.main_window import MainWindow
from tests.intake.conftest import line
from tests.ui.conftest import await_task, make_window, qloop  # noqa: F401  (fixtures)

WAIT = 30_000


async def _post(url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "X-Batcher-Profile": "sandbox"}
    async with aiohttp.ClientSession(base_url=url, headers=headers) as client:
        async with client.post("/api/requests", data=orjson.dumps(line("win-1"))) as r:
            return r.status


def test_preferences_turn_the_intake_api_on_and_off(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:  # noqa: F811
    window = make_window()
    switch = window.intake_api
    assert not switch.label.isVisible() and window.session.intake_api is None  # off by default
    dialog = window.intake.open_settings("intake")
    assert dialog is not None
    page = dialog.intake
    qtbot.waitUntil(lambda: dialog.tasks.idle, timeout=WAIT)
    assert page.empty.isVisibleTo(page) and "Create token" in page.empty.text()

    page.name.setText("window script")
    page.create.click()
    qtbot.waitUntil(lambda: page.list.count() == 1, timeout=WAIT)
    assert not page.empty.isVisibleTo(page)
    token = page.shown_token.text()
    assert token.startswith("btk_") and page.shown_token.isReadOnly() and page.copy.isEnabled()
    assert "window script" in page.list.item(0).text()

    # a non-loopback address needs the explicit box
    page.enabled.setChecked(True)
    page.address.setText("0.0.0.0:0")
    page.apply.click()
    qtbot.waitUntil(lambda: "not listening" in page.status.text(), timeout=WAIT)
    assert "other machines" in page.status.text()
    assert window.session.intake_api is None

    page.address.setText("127.0.0.1:0")
    page.apply.click()
    qtbot.waitUntil(lambda: "listening on http://127.0.0.1:" in switch.label.text(),
                    timeout=WAIT)
    assert page.status.text() == switch.label.text()
    url = switch.label.text().rsplit(" ", 1)[1]
    assert await_task(qtbot, _post(url, token)) == 202
    assert await_task(qtbot, _post(url, token + "x")) == 401

    page.enabled.setChecked(False)
    page.apply.click()
    qtbot.waitUntil(lambda: window.session.intake_api is None and page.status.text() == "Off",
                    timeout=WAIT)
    assert not switch.label.isVisible()
    # the choice is this machine's: kept in the window's settings
    assert window.settings.value("intake_api/enabled", True, bool) is False
    dialog.reject()


def test_the_window_starts_it_with_the_workspace_and_stops_it_on_close(
        qtbot: QtBot, make_window: Callable[..., MainWindow],  # noqa: F811
        tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    memory = QSettings(str(tmp_path / "window0.ini"), QSettings.Format.IniFormat)
    memory.setValue("intake_api/enabled", True)
    memory.setValue("intake_api/address", "127.0.0.1:0")
    memory.sync()
    window = make_window()
    switch = window.intake_api
    qtbot.waitUntil(lambda: "listening on" in switch.label.text(), timeout=WAIT)
    url = switch.label.text().rsplit(" ", 1)[1]
    _, token = await_task(qtbot, _token(window))
    assert await_task(qtbot, _post(url, token)) == 202
    window.close()
    qtbot.waitUntil(window.closed.done, timeout=WAIT)
    assert await_task(qtbot, _refused(url))


async def _token(window: MainWindow) -> tuple[object, str]:
    from batcher_gui.app.intake import Intake

    assert window.service is not None
    return await Intake(window.service).create_token("t")


async def _refused(url: str) -> bool:
    try:
        async with aiohttp.ClientSession(base_url=url) as client:
            async with client.get("/api/requests/x"):
                return False
    except aiohttp.ClientConnectionError:
        return True
