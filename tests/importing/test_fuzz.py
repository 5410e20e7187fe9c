"""Property tests: whatever the file holds, a reader yields requests and line errors, or raises
ImportValidationError. Nothing else may escape."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batcher_gui.domain.endpoints import ENDPOINTS
from batcher_gui.domain.errors import ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, ParsedRequest, ProfileLimits
from batcher_gui.importing import RequestReader

# No example database: it would write a .hypothesis directory into the working tree.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SUFFIXES = [".jsonl", ".csv", ".tsv", ".txt", ".dat"]
LIMITS = ProfileLimits(max_line_bytes=2_000, max_batch_bytes=5_000)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory shared by all examples (a function-scoped tmp_path would be reused across
    Hypothesis examples without being reset, which Hypothesis rightly refuses)."""
    return tmp_path_factory.mktemp("fuzz")


def check_file(path: Path, options: ImportOptions) -> list[ParsedRequest | LineError]:
    """Read ``path``; assert the reader's contract on whatever comes out."""
    try:
        reader = RequestReader(path, options, LIMITS)
        items = list(reader)
    except ImportValidationError as exc:
        assert exc.errors, "ImportValidationError without errors"
        assert all(isinstance(e, LineError) and e.message for e in exc.errors)
        return []
    last_line = 0
    for item in items:
        if isinstance(item, ParsedRequest):
            assert item.line_no > 0
            assert item.endpoint in ENDPOINTS
            assert item.user_custom_id
            body = orjson.loads(item.body)
            assert isinstance(body, dict)
            assert body["model"] == item.model
            line = item.line_no
        else:
            assert isinstance(item, LineError)
            assert item.line is not None and item.line > 0
            assert item.path == str(path)
            # The quick checks and the careful explanation must agree on what is valid.
            assert item.message != "invalid request line"
            line = item.line
        assert line > last_line, "items out of order or two items for one line"
        last_line = line
    assert reader.bytes_read == reader.total_bytes == os.path.getsize(path)
    return items


OPTIONS = st.sampled_from(
    [
        ImportOptions(),
        ImportOptions(model="m"),
        ImportOptions(model="m", template="Q: {prompt} {custom_id}"),
        ImportOptions(model="m", endpoint="embeddings"),
    ]
)


@FUZZ
@given(data=st.binary(max_size=600), suffix=st.sampled_from(SUFFIXES), options=OPTIONS)
def test_arbitrary_bytes(fuzz_dir: Path, data: bytes, suffix: str, options: ImportOptions) -> None:
    path = fuzz_dir / f"bytes{suffix}"
    path.write_bytes(data)
    check_file(path, options)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["POST", "/v1/chat/completions", "/v1/embeddings", "user", "", "m"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["model", "messages", "input", "prompt", "role", "image", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=6,
)


# Built once: strategies created inside a composite are re-validated on every draw.
GOOD_BODY: dict[str, Any] = {
    "model": "m",
    "messages": [{"role": "user", "content": "hi"}],
    "input": "x",
    "prompt": "p",
    "image": "file-1",
}
TARGETS = st.sampled_from(
    [None, None, "custom_id", "method", "url", "body", "drop", "extra", *GOOD_BODY]
)
CUSTOM_ID = st.sampled_from(["a", "b", "c"])
URL = st.sampled_from(list(ENDPOINTS))
TOP_KEYS = st.sampled_from(["custom_id", "method", "url", "body"])


@st.composite
def request_like(draw: st.DrawFn) -> Any:
    """A valid request (valid for every endpoint), or one with a single field spoilt."""
    obj: dict[str, Any] = {
        "custom_id": draw(CUSTOM_ID),
        "method": "POST",
        "url": draw(URL),
        "body": dict(GOOD_BODY),
    }
    target = draw(TARGETS)
    if target in obj:
        obj[target] = draw(json_values)
    elif target == "drop":
        del obj[draw(TOP_KEYS)]
    elif target == "extra":
        obj["extra"] = draw(json_values)
    elif target is not None:
        obj["body"][target] = draw(json_values)
    return obj


def serialise(value: Any) -> str:
    # json, not orjson: it also writes integers beyond 64 bits.
    return json.dumps(value, ensure_ascii=False)


LINES = st.lists(request_like() | json_values, max_size=6)


@FUZZ
@given(
    values=LINES,
    newline=st.sampled_from(["\n", "\r\n", "\n\n"]),
    suffix=st.sampled_from(SUFFIXES),
    options=OPTIONS,
)
def test_json_values_as_lines(
    fuzz_dir: Path, values: list[Any], newline: str, suffix: str, options: ImportOptions
) -> None:
    lines = [serialise(v) for v in values]
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        lines = [
            f"custom_id{delimiter}prompt",
            *(f"{i}{delimiter}{v}" for i, v in enumerate(lines)),
        ]
    path = fuzz_dir / f"values{suffix}"
    path.write_bytes(newline.join(lines).encode())
    check_file(path, options)
