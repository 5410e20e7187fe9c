"""A Message Batches create body as a file: ``{"requests": [{"custom_id", "params"}, ...]}``.

One JSON document, possibly hundreds of megabytes and pretty-printed over many lines, so it
is never loaded whole: the file is decoded a chunk at a time, and each entry of ``requests``
is parsed on its own by the standard library's C scanner (``JSONDecoder.raw_decode``, which
says where the entry ends), so a file costs one pass at C speed whatever it holds. An entry
is held at most up to the profile's ``max_line_bytes`` (plus a chunk): a longer one stops the
read with a file error naming it, as does JSON that is broken (a document cannot be read on
past a syntax error, unlike JSON Lines). Entries are then read like JSONL lines
(:class:`batcher_gui.importing.claude.ClaudeRequests`); their problems name the entry
(``requests[3].params.max_tokens``) and the line it starts on.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from batcher_gui.domain.models import ImportOptions, ProfileLimits
from batcher_gui.importing.claude import ClaudeRequests
from batcher_gui.importing.common import UTF8_BOM, ItemIterator, Progress, file_error

#: How a requests file starts (after a BOM and blank space): ``{"requests":``.
_DOCUMENT_START = re.compile(rb'\A\s*\{\s*"requests"\s*:')
_NOT_SPACE = re.compile(r"[^ \t\r\n]")
CHUNK = 1024 * 1024
#: Entries between two ``progress.reached`` calls (each polls for a stop).
PROGRESS_EVERY = 256
#: A parse error this close to the end of what is decoded so far may only mean the entry
#: goes on in the next chunk (a cut ``false``, ``\\u12``...): read more and parse again.
_NEAR_END = 8

_ANTHROPIC_FORMAT = ("an Anthropic Message Batches requests file ({\"requests\": [...]}): "
                     "import it into a Claude profile (kind anthropic)")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is too large")
    return value


#: Strict JSON only: NaN, Infinity and overflowing numbers are refused (never stored changed).
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def is_requests_document(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Message Batches create body."""
    if head.startswith(UTF8_BOM):
        head = head[3:]
    return _DOCUMENT_START.match(head) is not None


def not_for_openai(path: str) -> None:
    """Raise: a requests file cannot go to an OpenAI profile."""
    raise file_error(path, _ANTHROPIC_FORMAT)


class _Scanner:
    """Walks a JSON document decoded a chunk at a time: blank space, single characters and
    whole values."""

    def __init__(self, f: BinaryIO, path: str,
                 on_read: Callable[[int], None] | None = None) -> None:
        self.f = f
        self.path = path
        #: Told the file position after each chunk (a stop is polled even in a huge entry).
        self.on_read = on_read
        self.text = ""
        self.pos = 0
        self.line = 1
        self.eof = False
        self._cut = b""  # the start of a character the last chunk ended in

    def _fill(self) -> bool:
        """Decode the next chunk onto what is left; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.f.read(CHUNK)
        if self.on_read is not None:
            self.on_read(self.f.tell())
        if not chunk:
            self.eof = True
            if self._cut:
                raise self.error("the file ends in the middle of a UTF-8 character")
            return False
        data, self._cut = self._cut + chunk, b""
        try:
            new = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data" or exc.start < len(data) - 3:
                line = self.line + self.text.count("\n", self.pos) + data.count(
                    b"\n", 0, exc.start)
                raise self.error(f"not UTF-8 (byte 0x{data[exc.start]:02x}): re-save the file "
                                 "as UTF-8", line) from None
            new, self._cut = data[:exc.start].decode("utf-8"), data[exc.start:]
        self.text = self.text[self.pos:] + new
        self.pos = 0
        return True

    def _advance(self, to: int) -> None:
        self.line += self.text.count("\n", self.pos, to)
        self.pos = to

    def peek(self) -> str | None:
        """The next character that is not blank space (not consumed); None at the end."""
        while True:
            found = _NOT_SPACE.search(self.text, self.pos)
            if found is not None:
                self._advance(found.start())
                return self.text[self.pos]
            self._advance(len(self.text))
            if not self._fill():
                return None

    def expect(self, char: str, what: str) -> None:
        """Consume ``char`` (after blank space) or raise naming ``what`` was expected."""
        if self.peek() != char:
            raise self.error(f"expected {what}")
        self._advance(self.pos + 1)

    def error(self, message: str, line: int | None = None) -> Exception:
        return file_error(self.path, f"{message} (a requests file holds one JSON object "
                                     '{"requests": [...]})', line=line or self.line)

    def value(self, limit: int, what: str) -> Any:
        """The next JSON value, decoded; ``what`` names it in errors.

        Raises:
            ImportValidationError: the value is longer than ``limit`` bytes, is not valid
                JSON, or the file ends inside it.
        """
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.text) or exc.msg.startswith("Unterminated string")
                if not self.eof and (cut or exc.pos >= len(self.text) - _NEAR_END):
                    self._read_more(limit, what)
                    continue
                if cut:
                    raise self.error(f"the file ends inside {what}: is it cut short?"
                                     ) from None
                raise self.error(f"{what} is not valid JSON: {exc.msg}",
                                 self.line + self.text.count("\n", self.pos, exc.pos)) from None
            except RecursionError:
                raise self.error(f"{what} nests too deeply") from None
            except ValueError as exc:  # NaN, Infinity, a number too large
                raise self.error(f"{what} is not valid JSON: {exc}") from None
            size = len(self.text[self.pos:end].encode("utf-8"))
            if size > limit:
                raise self._too_long(what, f"{size:,} bytes", limit)
            self._advance(end)
            return obj

    def _read_more(self, limit: int, what: str) -> None:
        """Decode more of the file after an unfinished value: at least as much again (or to
        the end of the file), never past the limit (plus a chunk)."""
        have = len(self.text) - self.pos
        if have > limit:  # characters: at least as many bytes
            raise self._too_long(what, f"over {limit:,} bytes", limit)
        target = min(max(2 * have, have + CHUNK), limit + CHUNK)
        while len(self.text) - self.pos < target and self._fill():
            pass  # at the end of the file, ``eof`` tells the caller

    def _too_long(self, what: str, size: str, limit: int) -> Exception:
        return file_error(self.path, f"{what} is {size}, over the limit of {limit:,} bytes "
                                     "per request (the profile's line limit)", line=self.line)


def first_entries(path: str, limit: int, max_bytes: int) -> list[Any]:
    """The first ``limit`` entries of a requests file, decoded, for a preview.

    Raises:
        ImportValidationError: the document is broken (or an entry too long) before
            ``limit`` entries.
    """
    source = RequestsDocumentSource(path, ImportOptions(), ProfileLimits(
        max_line_bytes=max_bytes))
    out: list[Any] = []
    with open(path, "rb") as f:
        if f.read(3) != UTF8_BOM:
            f.seek(0)
        for _line, entry in source.entries(f):
            if len(out) >= limit:
                break
            out.append(entry)
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
                not valid JSON, cut short, another top-level key) or an entry is over the
                line limit: reading cannot go on past that.
        """
        self.requests.start()
        item = self.requests.item
        with open(self.path, "rb") as f:
            if f.read(3) != UTF8_BOM:
                f.seek(0)
            for index, (line, entry) in enumerate(self.entries(f, progress.reached)):
                if not (index + 1) % PROGRESS_EVERY:
                    progress.reached(f.tell())
                yield item(entry, line, index)
            progress.reached(f.tell())

    def entries(self, f: BinaryIO, on_read: Callable[[int], None] | None = None
                ) -> Iterator[tuple[int, Any]]:
        """(line it starts on, decoded entry) per entry of ``requests``; ``on_read`` is told
        the file position after each chunk read."""
        scan = _Scanner(f, self.path, on_read)
        scan.expect("{", "'{' at the start")
        if scan.peek() != '"':
            raise scan.error('expected "requests"')
        key = scan.value(64, "the first key")
        if key != "requests":
            raise scan.error(f"unexpected key {key!r} where \"requests\" should be")
        scan.expect(":", "':' after \"requests\"")
        scan.expect("[", "'[' opening the list of requests")
        if scan.peek() == "]":
            scan.expect("]", "']'")
        else:
            index = 0
            while True:
                if scan.peek() is None:  # to the entry's first byte: the line it starts on
                    raise scan.error("the file ends where a request should be: is it cut "
                                     "short?")
                line = scan.line
                yield line, scan.value(self.limits.max_line_bytes, f"requests[{index}]")
                index += 1
                after = scan.peek()
                if after == ",":
                    scan.expect(",", "','")
                    continue
                if after == "]":
                    scan.expect("]", "']'")
                    break
                raise scan.error("expected ',' or ']' after a request")
        if scan.peek() == ",":
            raise scan.error('only "requests" is expected in a requests file')
        scan.expect("}", "'}' closing the file's object")
        if scan.peek() is not None:
            raise scan.error("more content after the end of the JSON object")
