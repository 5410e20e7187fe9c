"""Numbers in words: plurals and sizes."""

from __future__ import annotations

from batcher_gui.domain.wording import plural, size_text


def test_plural() -> None:
    assert plural(1, "prompt") == "1 prompt"
    assert plural(0, "prompt") == "0 prompts"
    assert plural(1200, "prompt") == "1,200 prompts"
    assert plural(1, "batch", "batches") == "1 batch"
    assert plural(2, "batch", "batches") == "2 batches"


def test_size_text() -> None:
    assert size_text(0) == "0 bytes"
    assert size_text(1) == "1 byte"
    assert size_text(999) == "999 bytes"
    assert size_text(1000) == "1.0 KB"
    assert size_text(14_300) == "14 KB"
    assert size_text(1_400_000) == "1.4 MB"
    assert size_text(2_100_000_000) == "2.1 GB"
