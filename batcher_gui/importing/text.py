"""Plain-text reader: one prompt per line, its line number as custom_id."""

from __future__ import annotations

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileKind, ProfileLimits
from batcher_gui.importing.common import (
    POLL_LINE_BYTES,
    PROGRESS_MASK,
    UTF8_BOM,
    ItemIterator,
    Progress,
    TextRequestBuilder,
    cut_line_length,
    line_reader,
    line_too_long,
    max_tokens_option,
    not_utf8_message,
    reject_options,
    text_target,
)


class TextSource:
    """Reads a plain-text prompt file. The constructor checks the options."""

    def __init__(self, path: str, options: ImportOptions, limits: ProfileLimits,
                 kind: ProfileKind | str | None = None) -> None:
        reject_options(
            path,
            options,
            InputFormat.TEXT,
            ("template", "id_column"),
            "each line is a prompt and its line number is its id; use a CSV file for columns",
        )
        model, endpoint = text_target(path, options, InputFormat.TEXT, kind)
        self.path = path
        self.limits = limits
        self.builder = TextRequestBuilder(path, model, endpoint, options.system, limits,
                                          max_tokens_option(path, options, kind))

    def read(self, progress: Progress) -> ItemIterator:
        """Yield a ParsedRequest per non-blank line and a LineError per unusable one."""
        path = self.path
        max_line = self.limits.max_line_bytes
        build = self.builder.build
        long_line = min(max_line, POLL_LINE_BYTES)  # polls at once; may be over the limit
        line_no = 0
        with open(path, "rb") as f:
            if f.read(3) != UTF8_BOM:
                f.seek(0)
            # At most a line of max_line bytes at a time: a longer one is refused while it is
            # read, never held whole.
            for raw in iter(line_reader(f, max_line), b""):
                line_no += 1
                if not line_no & PROGRESS_MASK:
                    progress.reached(f.tell())
                if len(raw) >= long_line:
                    progress.reached(f.tell())
                    if (n := cut_line_length(raw, f, max_line)) is not None:
                        yield LineError(path, line_no, None, line_too_long(n, self.limits))
                        continue
                content = raw.rstrip(b"\r\n")
                if not content.strip():
                    continue
                if len(content) > max_line:
                    yield LineError(path, line_no, None, line_too_long(len(content), self.limits))
                    continue
                try:
                    text = content.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield LineError(path, line_no, None, not_utf8_message(exc))
                    continue
                yield build(line_no, str(line_no), text)
            progress.reached(f.tell())
