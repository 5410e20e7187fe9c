"""`make screenshots`: the window on a demo workspace, one PNG per view, in docs/screenshots/.

Usage: python tools/screenshots.py OUT_DIR [--scheme light|dark] [--work DIR]

The demo workspace has a few runs on the built-in sandbox: one finished with some failed
prompts, one of embeddings, one still in flight, one delivering to a folder; and a Claude run
whose answers (Anthropic's raw messages) are written as applying its results would. Run it
under Xvfb (`make screenshots` does) to see the platform's real window; offscreen works too.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from batcher_gui.app import Service  # noqa: E402
from batcher_gui.domain.checks import CheckRules  # noqa: E402
from batcher_gui.domain.models import ImportOptions, InputFormat  # noqa: E402
from batcher_gui.paths import WorkspacePaths  # noqa: E402
from batcher_gui.sandbox import SandboxConfig  # noqa: E402

#: Batches created with this config stay in progress for minutes (one step per 2 s, 150 steps).
SLOW = SandboxConfig(steps_per_poll=0, step_seconds=2.0, progress_steps=150)
REVIEWS = [
    ("r-101", "Battery lasts two days, screen is sharp. Would buy again."),
    ("r-102", "Arrived broken and support never answered. #fail"),
    ("r-103", "Does what it says. Nothing more, nothing less."),
    ("r-104", "The <b>best</b> headphones I have owned; noise cancelling is superb."),
    ("r-105", "Returned it after a week: too heavy for daily use."),
]


def _reviews_csv(path: Path, n: int) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review_id", "review"])
        for i in range(n):
            rid, text = REVIEWS[i % len(REVIEWS)]
            writer.writerow([f"{rid}-{i}", text if i < 40 or "#fail" not in text
                             else text.replace(" #fail", "")])
    return path


def _embeddings(path: Path, n: int) -> Path:
    with path.open("wb") as fh:
        for i in range(n):
            fh.write(orjson.dumps({"custom_id": f"doc-{i}", "method": "POST",
                                   "url": "/v1/embeddings",
                                   "body": {"model": "text-embedding-3-small",
                                            "input": f"Paragraph {i} of the handbook."}}) + b"\n")
    return path


def _eval(path: Path, n: int) -> Path:
    with path.open("wb") as fh:
        for i in range(n):
            fh.write(orjson.dumps({
                "custom_id": f"eval-{i:04d}", "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "gpt-4.1-mini", "messages": [
                    {"role": "system", "content": "Answer with one word."},
                    {"role": "user", "content": f"Is {i} a prime number?"}]}}) + b"\n")
    return path


CLAUDE = "claude-sonnet-4-5"
CITIES = ("Paris", "Oslo", "Lima", "Kyoto", "Nairobi", "Perth")


def _claude_requests(path: Path) -> Path:
    """Messages requests (a system prompt kept in the cache, a tool, extended thinking)."""
    with path.open("wb") as fh:
        for i, city in enumerate(CITIES * 5):
            fh.write(orjson.dumps({"custom_id": f"wx-{i:03d}", "method": "POST",
                                   "url": "/v1/messages", "body": {
                "model": CLAUDE, "max_tokens": 2048,
                "system": [{"type": "text", "text": "You are a concise travel assistant.",
                            "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "tools": [{"name": "get_weather", "description": "Today's weather in a city",
                           "input_schema": {"type": "object", "properties": {
                               "city": {"type": "string"}}, "required": ["city"]}}],
                "messages": [{"role": "user", "content": [{"type": "text", "text":
                    f"Should I pack an umbrella for {city} this week?"}]}]}}) + b"\n")
    return path


def _claude_answer(i: int) -> bytes:
    """Anthropic's raw ``message`` of a succeeded result, as the engine stores it."""
    city = CITIES[i % len(CITIES)]
    return orjson.dumps({
        "id": f"msg_01demo{i:03d}", "type": "message", "role": "assistant", "model": CLAUDE,
        "content": [
            {"type": "thinking", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA", "thinking":
             f"The user travels to {city}. Rain depends on this week's forecast, so I should "
             "call the weather tool rather than guess from the climate."},
            {"type": "text", "text": f"I'll check this week's forecast for {city} first."},
            {"type": "tool_use", "id": f"toolu_01demo{i:03d}", "name": "get_weather",
             "input": {"city": city, "days": 7}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 48, "output_tokens": 96 + i, "cache_read_input_tokens": 1830,
                  "cache_creation_input_tokens": 0,
                  "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                     "ephemeral_1h_input_tokens": 0}}})


def _claude_run(paths: WorkspacePaths, work: Path) -> None:
    """A Claude run on a "claude" profile, answered as applying its batch's results would
    (Anthropic's raw messages stored as they came), two of them errored."""
    import time

    from batcher_gui.domain.models import ProfileKind
    from batcher_gui.engine.run_import import import_file
    from batcher_gui.storage import open_store

    store = open_store(paths.database)
    try:
        store.add_profile("claude", ProfileKind.ANTHROPIC, key_env="ANTHROPIC_API_KEY")
        run = import_file(store, _claude_requests(work / "weather-claude.jsonl"),
                          ImportOptions(), profile_name="claude").run
        now = time.time()
        with store.db.write() as conn:
            batch = conn.exec_driver_sql("SELECT id FROM batches WHERE run_id = ?",
                                         (run.id,)).scalar()
            ids = [i for (i,) in conn.exec_driver_sql(
                "SELECT id FROM prompts WHERE run_id = ? ORDER BY id", (run.id,))]
            for n, pid in enumerate(ids):
                if n in (7, 19):
                    conn.exec_driver_sql(
                        "UPDATE prompts SET state = 'failed', attempts = 2, batch_id = ?, "
                        "error = 'overloaded_error: Overloaded', updated_at = ? WHERE id = ?",
                        (batch, now, pid))
                    continue
                conn.exec_driver_sql(
                    "UPDATE prompts SET state = 'processed', response = ?, input_tokens = ?, "
                    "output_tokens = ?, attempts = 1, batch_id = ?, updated_at = ? "
                    "WHERE id = ?", (_claude_answer(n), 48 + 1830, 96 + n, batch, now, pid))
            done = len(ids) - 2
            conn.exec_driver_sql(
                "UPDATE batches SET state = 'completed', provider_batch_id = ?, "
                "provider_status = 'ended', counts_total = ?, counts_completed = ?, "
                "counts_failed = 2, input_tokens = ?, output_tokens = ?, "
                "cached_input_tokens = ?, updated_at = ? WHERE id = ?",
                ("msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d", len(ids), done, done * 1878,
                 sum(96 + n for n in range(len(ids)) if n not in (7, 19)), done * 1830, now,
                 batch))
    finally:
        store.db.close()


def _differ(paths: WorkspacePaths, run_id: int) -> None:
    """One answer in three of ``run_id`` changed (in place, as another model would answer)."""
    import sqlite3

    conn = sqlite3.connect(paths.database)
    conn.execute("UPDATE prompts SET response = CAST(json_set(CAST(response AS TEXT), "
                 "'$.choices[0].message.content', 'Negative. The reviewer returned it: ' || "
                 "user_custom_id) AS BLOB) WHERE run_id = ? AND response IS NOT NULL AND "
                 "id % 3 = 0", (run_id,))
    conn.commit()
    conn.close()


async def build_demo(work: Path) -> WorkspacePaths:
    paths = WorkspacePaths(work / "demo", work / "demo" / "batcher.sqlite3")
    if paths.database.exists():
        return paths
    fast = SandboxConfig(steps_per_poll=1, progress_steps=1)
    service = await Service.open(paths, sandbox_config=fast, engine_overrides={
        "sandbox_poll_interval": 0.1, "quiet_seconds": 3600})
    try:
        reviews = await service.import_file(
            _reviews_csv(work / "reviews-nov.csv", 240), ImportOptions(
                format=InputFormat.CSV, model="gpt-4o-mini", template="Sentiment of: {review}",
                system="Answer positive, negative or neutral.", id_column="review_id"),
            profile="sandbox")
        embeddings = await service.import_file(_embeddings(work / "handbook.jsonl", 80),
                                               ImportOptions(), profile="sandbox")
        # The same reviews on another model: the Compare screenshot (answers made to differ
        # below: the sandbox answers both models alike).
        other = await service.import_file(
            work / "reviews-nov.csv", ImportOptions(
                format=InputFormat.CSV, model="gpt-4o", template="Sentiment of: {review}",
                system="Answer positive, negative or neutral.", id_column="review_id"),
            profile="sandbox", name="reviews-nov-4o")
        await service.set_delivery(reviews.run.id, folder=str(work / "delivered"))
        # Checks on its answers (the sandbox's "Sandbox reply <hex>..."): a demo regex that
        # about half of them meet, and a length.
        await service.set_checks(reviews.run.id, CheckRules(regex=r"^Sandbox reply [0-7]",
                                                            max_chars=400))
        await service.submit(reviews.run.id)
        await service.submit(embeddings.run.id)
        await service.submit(other.run.id)
        await service.sync(timeout=300)
        # A reviewer's pass: labels and a note (the Label column and the facets show them).
        for i in range(24):
            rid = REVIEWS[i % len(REVIEWS)][0]
            label = "good" if i % 5 in (0, 2, 3) else "wrong" if i % 5 == 1 else "unsure"
            await service.label_by_custom_id(reviews.run.id, f"{rid}-{i}", label)
        await service.note_by_custom_id(reviews.run.id, "r-102-1", "angry, but about delivery")
        _differ(paths, other.run.id)
    finally:
        await service.close()
    service = await Service.open(paths, sandbox_config=SLOW, engine_overrides={
        "sandbox_poll_interval": 0.5, "quiet_seconds": 3600})
    try:
        flying = await service.import_file(_eval(work / "eval-gpt41.jsonl", 150),
                                           ImportOptions(), profile="sandbox")
        await service.submit(flying.run.id)
        await service.sync(timeout=15)  # sent, still in progress when this stops
    finally:
        await service.close()
    _claude_run(paths, work)
    return paths


async def shoot(paths: WorkspacePaths, out: Path, scheme: str, work: Path) -> None:
    from PySide6.QtCore import QSettings, QUrl
    from PySide6.QtWidgets import QWidget

    from batcher_gui.domain.states import BatchState, PromptState
    from batcher_gui.ui.models.facets import FacetRole
    from batcher_gui.ui.window.main_window import MainWindow

    suffix = "" if scheme == "light" else "-dark"
    settings = QSettings(str(work / f"shots-{scheme}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, {"sandbox_config": SLOW,
                                   "engine_overrides": {"sandbox_poll_interval": 1.0}})
    window.resize(1600, 940)
    window.show()
    await window.open_workspace(paths)

    async def settle(seconds: float = 1.5) -> None:
        # Only sleep: processEvents() here would run other tasks inside this one (qasync).
        await asyncio.sleep(seconds)

    def save_widget(widget: QWidget, name: str) -> None:
        path = out / f"{name}{suffix}.png"
        widget.grab().save(str(path))
        print(f"saved {path}")

    def save(name: str) -> None:
        save_widget(window, name)

    async def select_run(name: str) -> None:
        for row in range(window.runs_model.rowCount()):
            item = window.runs_model.item(row)
            if item is not None and item.run.name == name:
                window.runs.selectRow(row)
        await settle()

    async def select_prompt(predicate: Callable[[object], bool]) -> None:
        model = window.prompts.model
        for row in range(min(model.rowCount(), 200)):
            item = model.row_at(row)
            if item is not None and predicate(item):
                window.prompts.table.selectRow(row)
                window.prompts.table.scrollTo(model.index(row, 0))
                break
        await settle()

    await settle(3)
    await select_run("reviews-nov")
    await select_prompt(lambda r: r.state is PromptState.DELIVERED)  # type: ignore[attr-defined]
    save("prompts")
    # Checks: a failed check in the detail, and the Run → Checks… dialog.
    await select_prompt(lambda r: r.check is False)  # type: ignore[attr-defined]
    save("check-failed")
    from batcher_gui.ui.dialogs.checks_dialog import open_checks

    checks = open_checks(window, window.live, window.session)
    assert checks is not None
    await settle(2)
    save_widget(checks, "checks")
    checks.reject()
    window.prompts.state.setCurrentIndex(window.prompts.state.findData(PromptState.FAILED))
    await settle()
    await select_prompt(lambda r: True)
    save("failed-prompt")
    window.prompts.state.setCurrentIndex(0)
    await settle()
    facets = window.prompts.facets  # the facets beside the table, label "good" chosen
    for row in range(facets.model.rowCount()):
        if facets.model.data(facets.model.index(row), FacetRole) == ("labels", 1):
            facets.list.clicked.emit(facets.model.index(row))
    await settle()
    await select_prompt(lambda r: True)
    save("facets")
    facets.model.clear()
    await select_run("weather-claude")  # a Claude answer: text, a tool call, folded thinking
    await select_prompt(lambda r: r.custom_id == "wx-001")  # type: ignore[attr-defined]
    save("claude-prompt")
    window.detail.prompt.conversation.anchorClicked.emit(QUrl("fold:0"))  # thinking opened
    await settle()
    save_widget(window.detail, "claude-thinking")
    await select_run("eval-gpt41")
    window.tabs.setCurrentWidget(window.batches)
    await settle()
    for row in range(window.batches_model.rowCount()):
        batch = window.batches_model.item(row)
        if batch is not None and batch.state is not BatchState.COMPLETED:
            window.batches.selectRow(row)
    await settle()
    save("batches")
    window.runs.clearSelection()
    window.tabs.setCurrentWidget(window.spend)
    await settle(2)
    save("spend")
    window.tabs.setCurrentWidget(window.prompts)
    window.runs.clearSelection()
    window.prompts.search.setText("headphones")
    window.prompts.apply_filters()
    await settle()
    await select_prompt(lambda r: True)
    save("search")
    window.prompts.search.setText("")

    # Compare: the reviews on two models, the different ones, one pair's diff.
    from batcher_gui.domain.compare import CompareFilter

    ids = {item.run.name: item.run.id for item in window.runs_model.items()}
    view = window.open_compare(ids["reviews-nov"], ids["reviews-nov-4o"])
    assert view is not None
    await settle(3)
    view.set_filter(CompareFilter.DIFFERENT)
    await settle()
    view.table.selectRow(0)
    await settle()
    save("compare")
    view.close_button.click()

    # The import dialog on the shipped CSV sample, with a template picked from its header.
    dialog = window.intake.open_import_dialog(
        [str(ROOT / "resources" / "sample" / "sample-reviews.csv")])
    await settle(2)
    dialog.form.template.setPlainText("Classify the sentiment of this review of {product} as "
                                      "positive, negative or neutral: {review}")
    dialog.form.system.setText("Answer with one word.")
    await settle(2.5)
    save_widget(dialog, "import-csv")
    dialog.reject()

    settings = window.intake.open_settings("profiles", profile="openai")
    assert settings is not None
    await settle(2)
    save_widget(settings, "settings-profiles")
    settings.open_page("workspace")
    await settle()
    save_widget(settings, "settings-workspace")
    settings.open_page("intake")
    await settle(2)
    save_widget(settings, "settings-intake")
    settings.reject()

    await window.open_workspace(WorkspacePaths(work / "empty", work / "empty" / "batcher.sqlite3"
                                               ).create())
    await settle(2)
    save("welcome")
    window.close()
    await window.closed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--scheme", choices=["light", "dark"], default="light")
    parser.add_argument("--work", help="where the demo workspace is made (and reused)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="batcher-shots-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = asyncio.run(build_demo(work))

    from PySide6.QtWidgets import QApplication

    from batcher_gui.ui.base.loop import AppEventLoop
    from batcher_gui.ui.base.theme import apply_color_scheme

    app = QApplication([])
    app.setOrganizationName("BatcherScreenshots")
    app.setApplicationName("batcher-gui")
    apply_color_scheme(app, args.scheme)
    os.environ["BATCHER_COLOR_SCHEME"] = args.scheme
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot(paths, out, args.scheme, work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
