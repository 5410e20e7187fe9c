"""What a prompt file will cost, before anything is imported or sent: tokens and price range.

Reads the file as an import does (RequestReader: the same options, the same validation) and
counts every valid request offline (:mod:`batcher_gui.tokens`). Writes nothing. Safe to call
from a worker thread; ``should_stop`` is polled while reading and between chunks.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from batcher_gui.domain.errors import Cancelled, LineError
from batcher_gui.domain.intake import FileEstimate, ModelTokens
from batcher_gui.domain.models import ImportOptions, ParsedRequest, ProfileKind, ProfileLimits
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.importing.reader import RequestReader
from batcher_gui.tokens.counting import TokenCounter

#: Requests counted together (tiktoken encodes a chunk on its threads).
CHUNK = 2048


def estimate_file(
    path: str | os.PathLike[str],
    options: ImportOptions,
    limits: ProfileLimits,
    prices: PriceTable,
    *,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    counter: TokenCounter | None = None,
    kind: ProfileKind | str | None = None,
) -> FileEstimate:
    """Count and price every valid request of ``path`` (raises ImportValidationError as an
    import would for a file that cannot be read at all; Cancelled when stopped)."""
    counter = counter or TokenCounter()
    reader = RequestReader(path, options, limits, should_stop, kind=kind)
    result = FileEstimate()
    chunk: list[ParsedRequest] = []

    def flush() -> None:
        counts = counter.count_many((r.endpoint, r.model, r.body) for r in chunk)
        for request, tokens in zip(chunk, counts, strict=True):
            model = result.models.setdefault(request.model, ModelTokens())
            model.requests += 1
            model.input += tokens.input
            model.output_bound += tokens.output_bound
            result.exact = result.exact and tokens.exact
        result.requests += len(chunk)
        chunk.clear()
        if should_stop is not None and should_stop():
            raise Cancelled("estimate stopped")
        if progress is not None:
            progress(reader.bytes_read, reader.total_bytes)

    for item in reader:
        if isinstance(item, LineError):
            result.invalid += 1
            continue
        chunk.append(item)
        if len(chunk) >= CHUNK:
            flush()
    flush()
    result.cost = prices.estimate({model: (tokens.input, tokens.output_bound)
                                   for model, tokens in result.models.items()})
    return result


__all__ = ["FileEstimate", "ModelTokens", "estimate_file"]
