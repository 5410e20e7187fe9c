"""The intake's storage on both databases: a group commit writes each call all or none, a
refused call does not stop the others, drafts fill within the profile's limits, deleting a run
frees its custom_ids."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import ProfileLimits
from batcher_gui.storage import Store
from batcher_gui.storage.import_session import remove_run_rows
from batcher_gui.storage.intake_rows import DuplicateIds, IntakeConflict, IntakeRows, Landed
from batcher_gui.storage.tables import batches


def _item(cid: str, model: str = "gpt-4o-mini") -> tuple[str, str, str, bytes]:
    body = orjson.dumps({"model": model, "messages": [{"role": "user", "content": cid}]})
    return cid, "/v1/chat/completions", model, body


def test_group_commit_each_call_all_or_none(store: Store) -> None:
    rows = IntakeRows(store.db)
    profile = dataclasses.replace(store.get_profile("sandbox"),
                                  limits=ProfileLimits(max_requests=3))
    other = store.get_profile("openai")
    results = rows.add_groups([
        ("day", profile, [_item("a"), _item("b")], None, None),
        ("day", profile, [_item("c"), _item("a")], None, None),  # a is taken: refused whole
        ("day", other, [_item("d")], None, None),  # another profile: refused
        ("hooked", profile, [_item("e")], "http://hook:9/x", None),
        ("day", profile, [_item(f"f{i}") for i in range(4)], None, None),
    ])
    assert isinstance(results[0], Landed) and results[0].count == 2
    assert isinstance(results[1], DuplicateIds) and results[1].custom_ids == ["a"]
    assert isinstance(results[2], IntakeConflict)
    assert isinstance(results[3], Landed) and isinstance(results[4], Landed)
    assert results[4].full  # 2 + 4 requests in drafts of 3: the first is filled up
    for cid in ("c", "d"):
        assert rows.find(cid) is None
    day = store.find_run("day")
    assert day.prompt_count == 6 and day.source_format == "intake"
    assert store.find_run("hooked").delivery_target == "http://hook:9/x"
    with store.db.read() as conn:
        counts = sorted(r.request_count for r in conn.execute(
            batches.select().where(batches.c.run_id == day.id)))
    assert counts == [3, 3]
    found = rows.find("f3")
    assert found is not None and found["run"]["name"] == "day"
    assert found["batch"]["state"] == "draft" and found["state"] == "pending"
    # another import's prompts and an intake's ids never collide (ids continue after both)
    remove_run_rows(store.db, day.id)
    assert rows.find("a") is None
    again = rows.add_requests("day", profile, [_item("a")], None, None)
    assert again.count == 1 and rows.find("a") is not None


def test_tokens_hashed_named_once_and_revoked(store: Store) -> None:
    rows = IntakeRows(store.db)
    made = rows.add_token("ci", "ab" * 32)
    with pytest.raises(BatcherError, match="already exists"):
        rows.add_token("ci", "cd" * 32)
    assert rows.token_by_hash("ab" * 32) == (made.id, "ab" * 32, None)
    revoked = rows.revoke_token("ci")
    assert revoked is not None and revoked.revoked_at is not None
    found = rows.token_by_hash("ab" * 32)
    assert found is not None and found[2] == revoked.revoked_at
    assert rows.revoke_token("nobody") is None


def test_intake_tokens_are_masked_in_messages() -> None:
    from batcher_gui.domain.secrecy import mask

    token = "btk_dHcKLDmvFE_-q3QzsfKsktQBUW56pb4wuhJyI95gO1s"
    for text in (f"failed with {token}", f"Authorization: Bearer {token}", f"token={token}"):
        masked = mask(text)
        assert token not in masked and "btk_" in masked and mask(masked) == masked
