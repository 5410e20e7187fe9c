"""What a prompt file will cost, before anything is imported or sent: tokens and price range.

Reads the file as an import does (RequestReader: the same options, the same validation) and
counts every valid request offline (:mod:`batcher_gui.tokens`). Writes nothing. Safe to call
from a worker thread; ``should_stop`` is polled while reading and between chunks.

Claude models have no tokenizer offline: their requests are counted with OpenAI's (marked
approximate), and a few of each model are kept aside (``RequestSample``). When the provider
can count tokens (Anthropic's ``count_tokens``), :func:`count_sample` asks it for those few and
scales each model's offline count by what it said (a ratio estimate: a sample of long requests
does not make short ones look long), and the estimate says it is sampled.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.errors import BatcherError, Cancelled, LineError
from batcher_gui.domain.intake import FileEstimate, ModelTokens
from batcher_gui.domain.models import ImportOptions, ParsedRequest, ProfileKind, ProfileLimits
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.secrecy import mask
from batcher_gui.importing.reader import RequestReader
from batcher_gui.tokens.counting import TokenCounter, vocabulary_of

log = logging.getLogger(__name__)

#: Requests counted together (tiktoken encodes a chunk on its threads).
CHUNK = 2048
#: Requests of each Claude model the provider is asked to count (Anthropic limits
#: count_tokens calls per minute: a handful, not thousands).
SAMPLE_PER_MODEL = 20
#: count_tokens calls at once.
SAMPLE_CONCURRENCY = 4

#: Counts one request body's input tokens at the provider (Anthropic's count_tokens).
TokenCount = Callable[[dict[str, Any]], Awaitable[int]]


@dataclass(slots=True)
class RequestSample:
    """A uniform sample (reservoir) of each Claude model's requests, with their offline count.

    Seeded: the same file gives the same sample, so two estimates of it agree."""

    per_model: int = SAMPLE_PER_MODEL
    kept: dict[str, list[tuple[bytes, int]]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    _random: random.Random = field(default_factory=lambda: random.Random(17))

    def wants(self, request: ParsedRequest) -> bool:
        return request.endpoint == MESSAGES_ENDPOINT

    def offer(self, model: str, body: bytes, offline: int) -> None:
        seen = self.seen[model] = self.seen.get(model, 0) + 1
        kept = self.kept.setdefault(model, [])
        if len(kept) < self.per_model:
            kept.append((body, offline))
            return
        slot = self._random.randrange(seen)
        if slot < self.per_model:
            kept[slot] = (body, offline)

    @property
    def requests(self) -> int:
        return sum(len(kept) for kept in self.kept.values())


def tally(result: FileEstimate, counter: TokenCounter, chunk: list[ParsedRequest],
          sample: RequestSample | None = None) -> None:
    """Count ``chunk``'s requests into ``result`` per model (and offer Claude requests to
    ``sample``); empties ``chunk``."""
    counts = counter.count_many((r.endpoint, r.model, r.body) for r in chunk)
    for request, tokens in zip(chunk, counts, strict=True):
        model = result.models.get(request.model)
        if model is None:
            model = result.models[request.model] = ModelTokens(
                approximate=approximate(request.model))
        model.requests += 1
        model.input += tokens.input
        model.output_bound += tokens.output_bound
        model.exact = model.exact and tokens.exact
        if sample is not None and sample.wants(request):
            sample.offer(request.model, request.body, tokens.input)
    result.requests += len(chunk)
    chunk.clear()


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
    sample: RequestSample | None = None,
) -> FileEstimate:
    """Count and price every valid request of ``path`` (raises ImportValidationError as an
    import would for a file that cannot be read at all; Cancelled when stopped). ``sample``
    collects Claude requests for :func:`count_sample`."""
    counter = counter or TokenCounter()
    reader = RequestReader(path, options, limits, should_stop, kind=kind)
    result = FileEstimate()
    chunk: list[ParsedRequest] = []

    def flush() -> None:
        tally(result, counter, chunk, sample)
        if should_stop is not None and should_stop():
            raise Cancelled("estimate stopped")
        if progress is not None:
            progress(reader.bytes_read, reader.total_bytes)

    for item in reader:
        if isinstance(item, LineError):
            result.invalid += 1
            if result.first_problem is None:
                result.first_problem = str(item)
            continue
        chunk.append(item)
        if len(chunk) >= CHUNK:
            flush()
    flush()
    _settle(result, prices)
    return result


def approximate(model: str) -> bool:
    """Its text is counted with another model's tokenizer (Claude's with OpenAI's)."""
    vocabulary, own = vocabulary_of(model)
    return vocabulary is not None and not own


def _settle(result: FileEstimate, prices: PriceTable) -> None:
    result.exact = all(m.exact for m in result.models.values())
    result.cost = prices.estimate({model: (tokens.input, tokens.output_bound)
                                   for model, tokens in result.models.items()})


async def count_sample(estimate: FileEstimate, sample: RequestSample,
                       count_tokens: TokenCount | None, prices: PriceTable) -> FileEstimate:
    """Scale the sampled models' input tokens by the provider's counts of their sample.

    Without ``count_tokens`` (no key, offline, a provider that cannot count) the offline
    counts stand, marked approximate. A provider that fails to count (refused, unreachable)
    leaves them too, with the reason in ``sample_problem``. Returns ``estimate``, changed."""
    if count_tokens is None or not sample.requests:
        return estimate
    limit = asyncio.Semaphore(SAMPLE_CONCURRENCY)
    problems: list[str] = []

    async def count(raw: bytes) -> int | None:
        async with limit:
            if problems:  # one refusal is enough: the others would be refused alike
                return None
            try:
                body = orjson.loads(raw)
                return int(await count_tokens(body if isinstance(body, dict) else {}))
            except BatcherError as exc:
                problems.append(mask(str(exc)))
                return None

    jobs = {model: [count(body) for body, _ in kept] for model, kept in sample.kept.items()}
    counted = {model: await asyncio.gather(*calls) for model, calls in jobs.items()}
    if problems:
        estimate.sample_problem = problems[0]
        log.info("token count by the provider failed: %s", problems[0])
        return estimate
    for model, results in counted.items():
        tokens = estimate.models[model]
        by_provider = [n for n in results if n is not None]
        offline = sum(n for _, n in sample.kept[model])
        if len(by_provider) == tokens.requests:  # the whole file: exact
            tokens.input = sum(by_provider)
            tokens.exact = True
        elif offline > 0:
            tokens.input = round(tokens.input * sum(by_provider) / offline)
        else:
            tokens.input = round(sum(by_provider) / len(by_provider) * tokens.requests)
        tokens.sampled = len(by_provider)
        tokens.approximate = False
    _settle(estimate, prices)
    return estimate


__all__ = ["FileEstimate", "ModelTokens", "RequestSample", "TokenCount", "count_sample",
           "estimate_file"]
