"""A Message Batches create body as a file: ``{"requests": [{"custom_id", "params"}, ...]}``.

One JSON document, possibly hundreds of megabytes and pretty-printed over many lines, so it
is never loaded whole: a small scanner walks the file a chunk at a time and hands out each
entry of ``requests`` as its own bytes, refusing (and reading past) one bigger than the
profile's ``max_line_bytes``, as the line readers do. Entries are then read like JSONL lines
(:class:`batcher_gui.importing.claude.ClaudeRequests`); their problems name the entry
(``requests[3].params.max_tokens``) and the line it starts on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

import orjson

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ImportOptions, ProfileLimits
from batcher_gui.importing.claude import ClaudeRequests
from batcher_gui.importing.common import UTF8_BOM, ItemIterator, Progress, file_error

#: How a requests file starts (after a BOM and blank space): ``{"requests":``.
_DOCUMENT_START = re.compile(rb'\A\s*\{\s*"requests"\s*:')
_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
_IN_STRING = re.compile(rb'["\\]')
_OUTSIDE = re.compile(rb'["{}\[\],]')
CHUNK = 1024 * 1024
#: Entries between two ``progress.reached`` calls (each polls for a stop).
PROGRESS_EVERY = 256

_ANTHROPIC_FORMAT = ("an Anthropic Message Batches requests file ({\"requests\": [...]}): "
                     "import it into a Claude profile (kind anthropic)")


def is_requests_document(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Message Batches create body."""
    if head.startswith(UTF8_BOM):
        head = head[3:]
    return _DOCUMENT_START.match(head) is not None


def not_for_openai(path: str) -> None:
    """Raise: a requests file cannot go to an OpenAI profile."""
    raise file_error(path, _ANTHROPIC_FORMAT)


class _Scanner:
    """Walks a JSON document in chunks: whitespace, single bytes, and whole values."""

    def __init__(self, f: BinaryIO, path: str,
                  on_read: Callable[[int], None] | None = None) -> None:
        self.f = f
        self.path = path
        #: Told the file position after each chunk (a stop is polled even in a huge entry).
        self.on_read = on_read
        self.buf = b""
        self.pos = 0
        self.line = 1

    def _fill(self) -> bool:
        chunk = self.f.read(CHUNK)
        if not chunk:
            return False
        if self.on_read is not None:
            self.on_read(self.f.tell())
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0
        return True

    def _advance(self, to: int) -> None:
        self.line += self.buf.count(b"\n", self.pos, to)
        self.pos = to

    def peek(self) -> int | None:
        """The next byte that is not blank space (not consumed); None at the end."""
        while True:
            found = _NOT_SPACE.search(self.buf, self.pos)
            if found is not None:
                self._advance(found.start())
                return self.buf[self.pos]
            self._advance(len(self.buf))
            if not self._fill():
                return None

    def expect(self, byte: bytes, what: str) -> None:
        """Consume ``byte`` (after blank space) or raise naming ``what`` was expected."""
        if self.peek() != byte[0]:
            raise self.error(f"expected {what}")
        self._advance(self.pos + 1)

    def error(self, message: str, line: int | None = None) -> Exception:
        return file_error(self.path, f"{message} (a requests file holds one JSON object "
                                     '{"requests": [...]})', line=line or self.line)

    def value(self, limit: int) -> tuple[bytes | None, int]:
        """The next JSON value's bytes (None if longer than ``limit``), and its length.

        Raises:
            ImportValidationError: the file ends inside the value.
        """
        pieces: list[bytes] = []
        size = 0
        depth = 0
        in_string = False
        string_value = self.buf[self.pos] == ord('"')
        start = i = self.pos
        while True:
            if i >= len(self.buf):
                size += i - start
                if size <= limit:
                    pieces.append(self.buf[start:i])
                self._advance(i)
                if not self._fill():
                    raise self.error("the file ends in the middle of a value: is it cut short?")
                start = i = self.pos
                continue
            found = (_IN_STRING if in_string else _OUTSIDE).search(self.buf, i)
            if found is None:
                i = len(self.buf)
                continue
            at, char = found.start(), self.buf[found.start()]
            end: int | None = None
            if in_string:
                if char == ord("\\"):
                    if at + 1 >= len(self.buf):  # the escaped byte is in the next chunk
                        size += at - start
                        if size <= limit:
                            pieces.append(self.buf[start:at])
                        self._advance(at)
                        if not self._fill():
                            raise self.error("the file ends inside a string")
                        start = i = self.pos
                        continue
                    i = at + 2
                    continue
                in_string = False
                i = at + 1
                if string_value and depth == 0:
                    end = i
            elif char == ord('"'):
                in_string, i = True, at + 1
            elif char in b"{[":
                depth, i = depth + 1, at + 1
            elif char in b"}]":
                if depth == 0:
                    end = at
                else:
                    depth, i = depth - 1, at + 1
                    if depth == 0:
                        end = i
            else:  # a comma
                if depth == 0:
                    end = at
                i = at + 1
            if end is not None:
                size += end - start
                if size <= limit:
                    pieces.append(self.buf[start:end])
                self._advance(end)
                return (b"".join(pieces) if size <= limit else None), size


def first_entries(path: str, limit: int, max_bytes: int) -> list[object]:
    """The first ``limit`` entries of a requests file, decoded (None for one over
    ``max_bytes`` or not valid JSON), for a preview.

    Raises:
        ImportValidationError: the document is broken before ``limit`` entries.
    """
    source = RequestsDocumentSource(path, ImportOptions(), ProfileLimits(
        max_line_bytes=max_bytes))
    out: list[object] = []
    with open(path, "rb") as f:
        if f.read(3) != UTF8_BOM:
            f.seek(0)
        entries = source._entries(f)
        for _line, raw, _size in entries:
            if len(out) >= limit:
                break
            try:
                out.append(orjson.loads(raw) if raw is not None else None)
            except orjson.JSONDecodeError:
                out.append(None)
    return out


class RequestsDocumentSource:
    """Reads a requests file into a Claude profile. The constructor checks the options."""

    def __init__(self, path: str, options: ImportOptions, limits: ProfileLimits) -> None:
        self.path = path
        self.limits = limits
        self.requests = ClaudeRequests(path, options, limits)

    def notes(self) -> list[str]:
        return []  # native requests only: nothing is converted

    def read(self, progress: Progress) -> ItemIterator:
        """Yield a ParsedRequest per valid entry and a LineError per invalid one.

        Raises:
            ImportValidationError: the document itself is broken (not ``{"requests": [...]}``,
                cut short, another top-level key): reading cannot go on past that.
        """
        self.requests.start()
        item = self.requests.item
        with open(self.path, "rb") as f:
            if f.read(3) != UTF8_BOM:
                f.seek(0)
            for index, (line, raw, size) in enumerate(self._entries(f, progress.reached)):
                if not (index + 1) % PROGRESS_EVERY:
                    progress.reached(f.tell())
                if raw is None:
                    yield LineError(self.path, line, f"requests[{index}]",
                                    f"request is {size:,} bytes, over the limit of "
                                    f"{self.limits.max_line_bytes:,} bytes per request")
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    yield LineError(self.path, line, f"requests[{index}]",
                                    f"not valid JSON: {getattr(exc, 'msg', exc)}")
                    continue
                yield item(obj, line, index)
            progress.reached(f.tell())

    def _entries(self, f: BinaryIO, on_read: Callable[[int], None] | None = None
                 ) -> Iterator[tuple[int, bytes | None, int]]:
        """(line it starts on, bytes or None when too long, size) per entry of requests;
        ``on_read`` is told the file position after each chunk read."""
        scan = _Scanner(f, self.path, on_read)
        scan.expect(b"{", "'{' at the start")
        if scan.peek() != ord('"'):
            raise scan.error('expected "requests"')
        key, _ = scan.value(64)
        if key != b'"requests"':
            raise scan.error(f"unexpected key {key!r} where \"requests\" should be")
        scan.expect(b":", "':' after \"requests\"")
        scan.expect(b"[", "'[' opening the list of requests")
        if scan.peek() == ord("]"):
            scan.expect(b"]", "']'")
        else:
            while True:
                if scan.peek() is None:  # to the entry's first byte: the line it starts on
                    raise scan.error("the file ends where a request should be: is it cut "
                                     "short?")
                line = scan.line
                raw, size = scan.value(self.limits.max_line_bytes)
                yield line, raw, size
                after = scan.peek()
                if after == ord(","):
                    scan.expect(b",", "','")
                    continue
                if after == ord("]"):
                    scan.expect(b"]", "']'")
                    break
                raise scan.error("expected ',' or ']' after a request")
        if scan.peek() == ord(","):
            raise scan.error('only "requests" is expected in a requests file')
        scan.expect(b"}", "'}' closing the file's object")
        if scan.peek() is not None:
            raise scan.error("more content after the end of the JSON object")
