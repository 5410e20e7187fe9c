"""Draft packing respects request and byte limits and fills existing drafts first."""

from __future__ import annotations

import itertools

from batcher_gui.domain.models import ProfileLimits
from batcher_gui.domain.packing import DraftPacker, LineSizer, OpenDraft


def _packer(limits: ProfileLimits, existing: list[OpenDraft] | None = None) -> DraftPacker:
    ids = itertools.count(100)
    return DraftPacker(limits, existing or [], lambda _key: next(ids))


def test_splits_on_request_count() -> None:
    packer = _packer(ProfileLimits(max_requests=50_000))
    placed = [packer.place(("/v1/chat/completions", "m"), 100) for _ in range(120_000)]
    assert [d.count for d in packer.touched] == [50_000, 50_000, 20_000]
    assert placed[0] == 100 and placed[50_000] == 101 and placed[-1] == 102


def test_splits_on_bytes_and_groups_by_endpoint_and_model() -> None:
    packer = _packer(ProfileLimits(max_requests=1000, max_batch_bytes=1000))
    a = [packer.place(("/v1/chat/completions", "a"), 300) for _ in range(4)]
    b = packer.place(("/v1/chat/completions", "b"), 300)
    e = packer.place(("/v1/embeddings", "a"), 300)
    assert a == [100, 100, 100, 101]
    assert len({b, e, 100, 101}) == 4
    assert all(d.bytes <= 1000 for d in packer.touched)


def test_fills_existing_draft_first() -> None:
    existing = [OpenDraft(7, ("/v1/chat/completions", "m"), 49_999, 10)]
    packer = _packer(ProfileLimits(), existing)
    assert packer.place(("/v1/chat/completions", "m"), 10) == 7
    assert packer.place(("/v1/chat/completions", "m"), 10) == 100
    assert [d.created for d in packer.touched] == [False, True]



def test_last_is_the_draft_just_used() -> None:
    packer = _packer(ProfileLimits(max_requests=2))
    key = ("/v1/embeddings", "e")
    ids = [packer.place(key, 10) for _ in range(3)]
    assert ids == [100, 100, 101]
    assert packer.last.batch_id == 101 and packer.last.count == 1


def test_a_group_switch_returns_to_its_open_draft() -> None:
    packer = _packer(ProfileLimits(max_requests=3))
    chat, emb = ("/v1/chat/completions", "m"), ("/v1/embeddings", "e")
    ids = [packer.place(key, 10) for key in (chat, emb, chat, emb, chat, chat)]
    assert ids == [100, 101, 100, 101, 100, 102]
    assert [(d.batch_id, d.count, d.bytes) for d in packer.touched] == [
        (100, 3, 30), (101, 2, 20), (102, 1, 10)]


def test_line_sizes_grow_a_byte_at_each_power_of_ten() -> None:
    # {"custom_id":"p<id>","method":"POST","url":"<url>","body":<body>}\n
    def line(prompt_id: int) -> int:
        return len(f'{{"custom_id":"p{prompt_id}","method":"POST","url":"/u","body":{{}}}}\n')

    sizer = LineSizer(8)
    sizes = [sizer.size("/u", b"{}") for _ in range(4)]  # ids 8, 9, 10, 11
    assert sizes == [line(8), line(9), line(10), line(11)] == [56, 56, 57, 57]
    assert sizer.next_id == 12
    big = LineSizer(99_999)
    assert [big.size("/u", b"{}") for _ in range(2)] == [line(99_999), line(100_000)]
