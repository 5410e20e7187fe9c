"""Bounds on reading a workbook: time and memory stay small whatever the zip holds.

An .xlsx file is a zip of XML parts, and openpyxl reads each part through ``ZipFile.open`` or
``ZipFile.read``. :class:`GuardedZipFile` hands it a :class:`PartReader` instead, which

* counts the bytes each part inflates to while it inflates them (the sizes a zip declares are
  the attacker's to choose) and refuses a part that expands like a zip bomb;
* polls ``should_stop`` between pieces, so Ctrl-C or Stop acts within a fraction of a second
  even deep inside openpyxl;
* for XML parts, refuses any single token (a tag, a run of text, a comment...) longer than
  :data:`XML_TOKEN_LIMIT`, and hands the parser only whole tokens.

Why whole tokens: this Python's expat (2.5.0) has no "reparse deferral" (expat 2.6.0, 2024,
CVE-2023-52425): each time it is fed a piece of an unfinished token it scans the token again
from its start. ElementTree's ``iterparse`` feeds 16 KB at a time, so a 36 MB comment was
scanned 2,300 times: 98 s for a 37 KB file. Holding back the unfinished token until its end
has arrived makes every token parsed once, which is what reparse deferral does; the token
limit keeps what is held back small.

The scan costs a few ``bytes.find`` calls per megabyte: it relies on ``<`` starting every tag
(an attribute value may not contain one), so tags and text are checked by the distance between
two ``<``; only comments, CDATA sections and processing instructions (rare in workbooks) are
followed one by one.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from typing import IO, Any

from batcher_gui.domain.errors import Cancelled
from batcher_gui.importing.common import file_error
from batcher_gui.importing.detect import WORKBOOK_HINT

#: Longest XML token (tag, text run, comment...) a workbook part may hold, in bytes. A cell
#: holds at most 32,767 characters in Excel (at most ~330 KB of escaped UTF-8): 4 MiB is
#: far beyond any real cell, and keeps what one token costs to parse and hold small.
XML_TOKEN_LIMIT = 4 * 1024 * 1024
#: A part may inflate to at most this many times the compressed bytes read so far (Apache
#: POI's default zip-bomb ratio; real sheets number every row and cell, which keeps their
#: ratio far below)...
MAX_INFLATE_RATIO = 100
#: ... once it is bigger than this (small parts of repeated markup compress very well).
RATIO_GRACE_BYTES = 4 * 1024 * 1024
#: Compressed bytes inflated per step: how often the limits and ``should_stop`` are checked.
PIECE = 64 * 1024
#: Parts read as XML (the others, images and the like, are only counted).
XML_SUFFIXES = (".xml", ".rels", ".vml")

StopCheck = Callable[[], bool]

_NORMAL, _COMMENT, _CDATA, _PI = range(4)
#: How each special token ends, and what it is called in messages.
_ENDS = {_COMMENT: (b"-->", "comment"), _CDATA: (b"]]>", "CDATA section"),
         _PI: (b"?>", "processing instruction")}
_CDATA_START = b"<![CDATA["
#: How long each special token's opening is.
_OPENING = {_COMMENT: len(b"<!--"), _CDATA: len(_CDATA_START), _PI: len(b"<?")}


#: Parts a workbook may hold. Real ones hold tens (a few thousand with many sheets and
#: images); zipfile reads the whole index at once, so a zip of millions of tiny entries would
#: cost seconds and hundreds of MB before any part is read.
MAX_PARTS = 20_000


def _never() -> bool:
    return False


def _declared_parts(file: IO[bytes]) -> int | None:
    """How many entries the zip's end record says its index holds (None if unreadable)."""
    try:  # a private helper of zipfile: without it, the check is skipped, nothing breaks
        end = zipfile._EndRecData(file)  # type: ignore[attr-defined]
        return None if end is None else int(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a damaged zip is zipfile's to report, just below
        return None


class GuardedZipFile(zipfile.ZipFile):
    """A read-only ZipFile whose parts are read through a :class:`PartReader`."""

    def __init__(self, file: IO[bytes], *, path: str, size: int,
                 should_stop: StopCheck | None = None) -> None:
        parts = _declared_parts(file)
        if parts is not None and parts > MAX_PARTS:
            raise file_error(path, f"the zip archive lists {parts:,} parts; an Excel workbook "
                             f"holds at most a few thousand ({MAX_PARTS:,} allowed): "
                             + WORKBOOK_HINT)
        super().__init__(file, "r")
        self.guard_path = path
        self.guard_size = max(size, 1)
        self.should_stop = should_stop or _never

    def open(self, name: str | zipfile.ZipInfo, mode: str = "r", pwd: bytes | None = None,
             *, force_zip64: bool = False) -> Any:
        stream = super().open(name, mode, pwd, force_zip64=force_zip64)  # type: ignore[arg-type]
        if mode != "r":
            return stream
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        return PartReader(stream, info, self)


class PartReader:
    """One part of a :class:`GuardedZipFile`, counted, checked and cut at token ends."""

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo, archive: GuardedZipFile) -> None:
        self._raw = raw
        self.name = info.filename
        self._path = archive.guard_path
        self._should_stop = archive.should_stop
        # The declared compressed size may be a lie too, but no part can be bigger than the
        # file: the smaller of the two bounds what can really be read.
        self._compressed = min(info.compress_size, archive.guard_size)
        self._xml = self.name.lower().endswith(XML_SUFFIXES)
        self._inflated = 0
        self._returned = 0  # bytes handed out before _buf[0]
        self._buf = bytearray()
        self._ready = 0  # _buf[:_ready] holds whole tokens only
        self._scan = 0  # _buf[:_scan] has been scanned
        self._mode = _NORMAL
        self._token = 0  # where the unfinished token starts (a '<', or the part's start)
        self._eof = False
        self.closed = False

    # -- the file protocol openpyxl and ElementTree use --------------------------------------
    def read(self, size: int = -1) -> bytes:
        """Whole tokens: as many as are ready (``size`` is a hint), or all of it to the end."""
        if size is None or size < 0:
            pieces = []
            while piece := self._next():
                pieces.append(piece)
            return b"".join(pieces)
        return self._next()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True
        self._buf = bytearray()
        self._raw.close()

    def __enter__(self) -> PartReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------
    def _next(self) -> bytes:
        while not self._ready and not self._eof:
            self._fill()
        end = self._ready if self._ready else len(self._buf)
        out = bytes(self._buf[:end])
        del self._buf[:end]
        self._returned += end
        self._scan -= end
        self._token -= end
        self._ready = 0
        return out

    def _fill(self) -> None:
        if self._should_stop():
            raise Cancelled("stopped while reading the workbook")
        piece = self._raw.read(PIECE)
        if not piece:
            self._eof = True
            return
        self._inflated += len(piece)
        if (self._inflated > RATIO_GRACE_BYTES
                and self._inflated > MAX_INFLATE_RATIO * self._compressed_read()):
            raise self._error(
                f"{self._compressed_read():,} compressed bytes inflate to more than "
                f"{self._inflated:,}, over {MAX_INFLATE_RATIO} times as many (real workbooks "
                "compress 5 to 20 times): a zip bomb, not a workbook")
        self._buf += piece
        if not self._xml:
            self._ready = len(self._buf)
            return
        if self._returned == 0 and self._scan == 0 and self._buf[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise self._error("it is saved as UTF-16; Batcher reads workbooks saved as UTF-8 "
                              "(as Excel and LibreOffice save them)")
        self._scan_xml()

    def _compressed_read(self) -> int:
        """Compressed bytes of the part inflated so far (all of them, if zipfile does not
        say: CPython's ZipExtFile counts what is left to read, and its decompressor holds
        what was read ahead, up to a piece)."""
        left = getattr(self._raw, "_compress_left", None)
        if not isinstance(left, int):
            return max(self._compressed, 1)
        ahead = getattr(getattr(self._raw, "_decompressor", None), "unconsumed_tail", b"")
        ahead_len = len(ahead) if isinstance(ahead, bytes) else 0
        return max(self._compressed - max(left, 0) - ahead_len, 1)

    def _scan_xml(self) -> None:
        """Follow the tokens of the new bytes; set ``_ready`` to the last token end."""
        buf, end = self._buf, len(self._buf)
        while self._scan < end:
            if self._mode != _NORMAL:
                closing, what = _ENDS[self._mode]
                found = buf.find(closing, self._scan)
                if found < 0:
                    self._check_length(end - self._token, what, XML_TOKEN_LIMIT)
                    self._scan = max(self._scan, end - len(closing) + 1)
                    return
                self._check_length(found + len(closing) - self._token, what, XML_TOKEN_LIMIT)
                self._mode = _NORMAL
                self._scan = found + len(closing)
                self._token = self._scan  # text may start right after it
                self._ready = self._scan
                continue
            special = self._next_special(self._scan)
            stop = end if special < 0 else special
            self._check_gaps(stop)
            if special < 0:
                return
            head = bytes(buf[special:special + len(_CDATA_START)])
            if buf[special + 1:special + 2] == b"?":
                self._mode = _PI
            elif head.startswith(b"<!--"):
                self._mode = _COMMENT
            elif head == _CDATA_START:
                self._mode = _CDATA
            elif len(head) < len(_CDATA_START) and (_CDATA_START.startswith(head)
                                                    or b"<!--".startswith(head)):
                self._scan = special  # undecided until more bytes arrive
                return
            else:
                raise self._error("it holds a DOCTYPE or other declaration; workbook parts "
                                  "never do (Office Open XML forbids them)")
            self._token = self._ready = special
            # The end is looked for after the whole opening: "<!-->" does not end a comment.
            self._scan = special + _OPENING[self._mode]

    def _next_special(self, start: int) -> int:
        """Where the next '<!' or '<?' is, or -1."""
        found = [i for i in (self._buf.find(b"<!", start), self._buf.find(b"<?", start))
                 if i >= 0]
        return min(found) if found else -1

    def _check_gaps(self, stop: int) -> None:
        """Check that no tag or text before ``stop`` is longer than the limit.

        Every tag starts with '<' and text cannot hold one, so each '<' ends the token before
        it: no two consecutive '<' may be further apart than the limit. Jumps from the last
        known '<' to the furthest one within reach, a search or two per limit's worth.
        """
        buf, token = self._buf, self._token
        while True:
            reach = token + XML_TOKEN_LIMIT + 1
            if reach >= stop:
                last = buf.rfind(b"<", token + 1, stop)
                if last >= 0:
                    token = last
                if stop < len(buf):
                    token = stop  # a special token starts here
                break
            last = buf.rfind(b"<", token + 1, reach)
            if last < 0:
                self._token = token
                self._check_length(reach - token, "tag or text", XML_TOKEN_LIMIT)
            token = last
        self._token = self._ready = token
        self._scan = stop

    def _check_length(self, length: int, what: str, limit: int) -> None:
        if length > limit:
            raise self._error(
                f"a single {what} at byte {self._returned + self._token:,} is over "
                f"{limit:,} bytes long; no real cell is (Excel holds at most 32,767 "
                "characters in one)")

    def _error(self, why: str) -> Exception:
        return file_error(self._path, f"cannot read the workbook's part {self.name}: {why}; "
                                      f"if the workbook is genuine, {WORKBOOK_HINT}")
