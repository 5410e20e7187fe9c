"""Exporting what the prompts table shows: the view's filters (state, model, errors, search
text) select exactly the matching prompts, and each line is byte for byte the line a whole
export writes for that prompt (real service, SQLite workspace, sandbox with failures)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptQuery, PromptSort
from batcher_gui.sandbox import SandboxConfig
from tests.app.conftest import OpenService, run, write_chat


def _mixed(path: Path, n: int) -> Path:
    """Prompts of two models; every fifth one mentions a needle (in varying case)."""
    return write_chat(path, n, lambda i: "gpt-4o" if i % 3 == 0 else "gpt-4o-mini", prefix="q-",
                      text=lambda i: f"question {i}" + (" about the NeedLe" if i % 5 == 0 else ""))


Keep = Callable[[dict[str, Any]], bool]


def _has(text: str) -> Keep:
    def keep(line: dict[str, Any]) -> bool:
        haystack = (line["custom_id"] + orjson.dumps(line["request"]["body"]).decode()
                    + (orjson.dumps(line["response"]).decode() if line["response"] else ""))
        return text.lower() in haystack.lower()

    return keep


CASES: list[tuple[str, PromptQuery, Keep]] = [
    ("failed", PromptQuery(states=(PromptState.FAILED,)),
     lambda line: line["state"] == "failed"),
    ("one model", PromptQuery(model="gpt-4o"),
     lambda line: line["request"]["body"]["model"] == "gpt-4o"),
    ("only with errors", PromptQuery(has_error=True),
     lambda line: line["error"] is not None or line["delivery_error"] is not None),
    ("search", PromptQuery(text="needle"), _has("needle")),
    ("all at once", PromptQuery(states=(PromptState.PROCESSED,), model="gpt-4o-mini",
                                text="NEEDLE", sort=PromptSort.CUSTOM_ID, descending=True),
     lambda line: (line["state"] == "processed" and _has("needle")(line)
                   and line["request"]["body"]["model"] == "gpt-4o-mini")),
]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_of_a_filtered_view_writes_exactly_the_matching_prompts(
        open_service: OpenService, tmp_path: Path, fmt: str) -> None:
    data = _mixed(tmp_path / "p.jsonl", 60)

    async def scenario() -> None:
        service = await open_service(sandbox_config=SandboxConfig(instant=True,
                                                                  request_error_rate=0.3))
        try:
            other = await service.import_file(_mixed(tmp_path / "o.jsonl", 10), ImportOptions(),
                                              profile="sandbox", name="other")
            summary = await service.import_file(data, ImportOptions(), profile="sandbox")
            await service.submit()
            assert await service.sync(timeout=60)
            counts = await service.run_counts(summary.run.id)
            assert counts.get(PromptState.FAILED) and counts.get(PromptState.PROCESSED)

            whole = tmp_path / "whole.jsonl"
            assert await service.export_run(summary.run.id, whole) == 60
            lines = whole.read_bytes().splitlines(keepends=True)
            parsed = [orjson.loads(line) for line in lines]
            whole_csv = tmp_path / "whole.csv"
            await service.export_run(summary.run.id, whole_csv)
            with whole_csv.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))

            for name, query, keep in CASES:
                wanted = [i for i, line in enumerate(parsed) if keep(line)]
                assert 0 < len(wanted) < 60, name  # a real filter, not all or nothing
                query = PromptQuery(**{**{f: getattr(query, f) for f in (
                    "states", "model", "has_error", "text", "sort", "descending")},
                    "run_id": other.run.id})  # a view's run: the exported one counts
                assert await service.count_for_export(summary.run.id, query) == len(wanted)
                out = tmp_path / f"{name}.{fmt}"
                written = await service.export_run(summary.run.id, out, only=query)
                assert written == len(wanted), name
                if fmt == "jsonl":  # byte for byte the whole export's lines, in its order
                    assert out.read_bytes() == b"".join(lines[i] for i in wanted), name
                else:
                    with out.open(newline="", encoding="utf-8") as fh:
                        got = list(csv.reader(fh))
                    assert got == [rows[0]] + [rows[i + 1] for i in wanted], name

            # No filter (only an order or a run): the whole run, as before.
            plain = tmp_path / f"plain.{fmt}"
            assert await service.export_run(summary.run.id, plain, only=PromptQuery(
                run_id=summary.run.id, sort=PromptSort.MODEL)) == 60
            if fmt == "jsonl":
                assert plain.read_bytes() == whole.read_bytes()
            # Nothing matches: an empty file (CSV: its header), not an error.
            none = tmp_path / f"none.{fmt}"
            assert await service.export_run(summary.run.id, none,
                                            only=PromptQuery(text="no such words")) == 0
            assert none.read_bytes() == (b"" if fmt == "jsonl"
                                         else whole_csv.read_bytes().splitlines(True)[0])
        finally:
            await service.close()

    run(scenario())
