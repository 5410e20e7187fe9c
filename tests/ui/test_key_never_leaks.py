"""An API key typed into Preferences reaches the OS keyring and nothing else on disk.

A child process with a private HOME, D-Bus session and gnome-keyring (as in
tests/config/test_real_keyring.py) runs the real window offscreen: the key is typed into the
settings dialog, tested, and used for a run on a provider that accepts only it; the run is
exported. Then this process reads every file Batcher wrote (workspace, database and its WAL,
logs, QSettings, the app's log, the export) and looks for the key's bytes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.app.conftest import FAST
from tests.real_keyring import run_with_keyring

#: Distinctive, and long enough that no file holds it by chance.
KEY = "sk-leaktest-7Hq2Vn9XcR4pLw8ZtY3bKm6Fd1Sa5Ge0"

CHILD = textwrap.dedent(
    """
    import asyncio, json, logging, shutil, sys
    from pathlib import Path

    import keyring
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QComboBox, QListWidget, QWidget

    from batcher_gui.config.secrets import SERVICE
    from batcher_gui.domain.models import ImportOptions, ProfileKind
    from batcher_gui.domain.states import PromptState
    from batcher_gui.paths import WorkspacePaths
    from batcher_gui.sandbox import SandboxConfig
    from batcher_gui.sandbox.host import SandboxThread
    from batcher_gui.ui.base.crash import start_app_log
    from batcher_gui.ui.base.loop import AppEventLoop
    from batcher_gui.ui.window.main_window import MainWindow
    from batcher_gui.ui.dialogs.settings_dialog import SettingsDialog

    # Not from tests.app.conftest: it imports tests.fakes, whose in-memory keyring would then
    # win keyring's choice of backend (every KeyringBackend subclass is a candidate).
    FAST = %(fast)r
    KEY = sys.stdin.readline().strip()  # not argv: other users can read a command line
    work = Path.cwd()
    out = {}

    def texts(dialog):
        found = [dialog.windowTitle()]
        for w in dialog.findChildren(QWidget):
            for name in ("text", "displayText", "placeholderText", "toolTip", "accessibleName",
                         "title", "currentText"):
                value = getattr(w, name, None)
                value = value() if callable(value) else None
                if isinstance(value, str):
                    found.append(value)
            if isinstance(w, (QListWidget, QComboBox)):
                found += [w.item(i).text() if isinstance(w, QListWidget) else w.itemText(i)
                          for i in range(w.count())]
        return "\\n".join(found)

    async def until(test, seconds=60):
        for _ in range(int(seconds / 0.02)):
            if test():
                return
            await asyncio.sleep(0.02)  # not processEvents(): that would re-enter qasync
        raise TimeoutError("waited in vain")

    async def click(dialog, button):
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.tasks.idle)

    def snap(moment):
        # The database while open, WAL included: checkpoints empty the WAL now and then, and
        # closing removes it, so it is copied at several moments.
        folder = work / "snapshots" / moment
        folder.mkdir(parents=True)
        for suffix in ("", "-wal"):
            source = Path(str(work / "ws" / "batcher.sqlite3") + suffix)
            if source.exists():
                shutil.copyfile(source, folder / source.name)

    async def main():
        # A provider that accepts this key only: a run that completes used it.
        provider = SandboxThread(work / "provider", SandboxConfig(api_keys=(KEY,), instant=True))
        url = provider.start()
        paths = WorkspacePaths(work / "ws", work / "ws" / "batcher.sqlite3").create()
        # Batcher's own debug logging too (the app writes INFO): no key at any level.
        debug = logging.FileHandler(paths.log_dir / "debug.log", encoding="utf-8")
        debug.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(debug)
        logging.getLogger("batcher_gui").setLevel(logging.DEBUG)
        settings = QSettings(str(work / "window.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, {"engine_overrides": FAST, "sandbox_host": SandboxThread,
                                       "sandbox_config": SandboxConfig(instant=True)})
        window.show()
        await window.open_workspace(paths)
        service = window.service

        dialog = SettingsDialog(service, parent=window)
        dialog.open()
        await until(lambda: dialog.profiles.list.count() > 0 and dialog.tasks.idle)
        page, keys = dialog.profiles, dialog.keys
        await click(dialog, page.add_button)
        QTest.keyClicks(page.name, "leaky")
        page.kind.setCurrentIndex(page.kind.findData(ProfileKind.OPENAI_COMPATIBLE.value))
        QTest.keyClicks(page.base_url, url)
        await click(dialog, page.save_button)
        out["saved"] = page.message.text()
        QTest.keyClicks(keys.edit, KEY)
        await click(dialog, keys.save_button)
        out["status"] = keys.status.text()
        out["field_after_save"] = keys.edit.text()
        await click(dialog, keys.test_button)  # with the stored key (the field is empty)
        out["verdict"] = keys.verdict.text()
        out["key_in_dialog"] = KEY in texts(dialog)
        snap("key-stored")
        dialog.close()

        questions = work / "questions.jsonl"
        questions.write_text("".join(json.dumps({
            "custom_id": f"q{i}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q {i}"}]},
        }) + "\\n" for i in range(6)))
        summary = await service.import_file(questions, ImportOptions(), profile="leaky")
        snap("imported")
        await service.submit(summary.run.id)
        for _ in range(1500):
            counts = await service.run_counts(summary.run.id)
            if counts.get(PromptState.PROCESSED) == 6:
                break
            await asyncio.sleep(0.04)
        out["counts"] = {str(state): n for state, n in counts.items()}
        snap("processed")
        out["exported"] = await service.export_run(summary.run.id, work / "export.jsonl")
        snap("exported")
        window.close()
        await window.closed
        provider.stop()
        out["keyring_holds_it"] = keyring.get_password(SERVICE, "leaky") == KEY
        out["backend"] = type(keyring.get_keyring()).__module__
        out["workspace"] = str(paths.root)

    app = QApplication([])
    app.setOrganizationName("BatcherLeakTest")
    app.setApplicationName("batcher-gui")
    out["app_log"] = str(start_app_log())
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main())
    print("RESULT " + json.dumps(out))
    """
) % {"fast": FAST}


def _holding(needles: list[bytes], files: list[Path]) -> list[str]:
    return [str(path) for path in files if any(n in path.read_bytes() for n in needles)]


@pytest.mark.keyring
def test_the_key_reaches_the_keyring_and_no_file(tmp_path: Path) -> None:
    env = {"QT_QPA_PLATFORM": "offscreen", "NO_PROXY": "127.0.0.1,localhost"}
    out, _ = run_with_keyring(tmp_path, CHILD, stdin=KEY + "\n", env=env, timeout=240)

    # It really went through the dialog, the keyring and the provider.
    assert out["backend"] == "keyring.backends.SecretService"
    assert "Added the profile “leaky”" in out["saved"]
    assert "Key stored in the OS keyring" in out["status"], out["status"]
    assert out["field_after_save"] == "" and out["key_in_dialog"] is False
    assert out["verdict"].startswith("✔ Works"), out["verdict"]
    assert out["counts"] == {"processed": 6} and out["exported"] == 6
    assert out["keyring_holds_it"] is True

    workspace, app_log = Path(out["workspace"]), Path(out["app_log"])
    export, ini = tmp_path / "export.jsonl", tmp_path / "window.ini"
    snapshots = sorted((tmp_path / "snapshots").rglob("batcher.sqlite3*"))
    assert len(snapshots) >= 5 and any(
        p.name.endswith("-wal") and p.stat().st_size for p in snapshots), snapshots
    files = {
        "database": [workspace / "batcher.sqlite3", *snapshots],
        "workspace logs": sorted((workspace / "logs").glob("*.log*")),
        "QSettings": [ini],
        "app log": sorted(app_log.parent.glob("*")),
        "export": [export],
        "everything else in the workspace": [p for p in workspace.rglob("*") if p.is_file()],
    }
    for what, paths in files.items():  # each was written, so finding nothing means something
        assert paths and all(p.is_file() for p in paths), (what, paths)
        assert what.startswith(("everything", "database")) or all(
            p.stat().st_size for p in paths), what
    assert b"[preferences]" in ini.read_bytes()  # the dialog wrote there too
    assert b"batch 1 -> completed 6 ok" in (workspace / "logs" / "batcher.log").read_bytes()
    assert b"stored API key for profile 'leaky'" in (workspace / "logs" / "debug.log").read_bytes()
    assert b"Sandbox reply" in export.read_bytes()
    # The whole key, its middle (a cut-off copy), and Qt's UTF-16 (QSettings, QString dumps).
    needles = [KEY.encode(), KEY[6:-6].encode(), KEY.encode("utf-16-le")]
    leaks = {what: _holding(needles, paths) for what, paths in files.items()}
    assert leaks == {what: [] for what in files}
