"""Re-running a run with a change: the origin's prompts, rewritten, as a new run.

The new run is written by the import pipeline itself (:class:`ImportSession` and
:class:`RowBuilder`): hidden until complete, all of it or nothing, packed into drafts that
flow through batches like any import (token counting and budgets included). Its custom_ids are
the origin's, so Compare pairs the two runs by id. A new template reads the run's source file
again (it must still be there, unchanged); every other change rewrites the stored requests.

Synchronous: the service runs it in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from typing import Any

import orjson

from batcher_gui.domain.endpoints import DEFAULT_MAX_TOKENS
from batcher_gui.domain.errors import Cancelled, LineError
from batcher_gui.domain.intake import FileEstimate
from batcher_gui.domain.models import (
    ImportOptions,
    ImportSummary,
    InputFormat,
    ParsedRequest,
    Profile,
    Run,
)
from batcher_gui.domain.names import check_run_name
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.rerun import (
    RerunChange,
    RerunPlan,
    RerunRefused,
    RerunScope,
    default_name,
    origin_record,
    rewrite_body,
)
from batcher_gui.engine.estimate import RequestSample, tally
from batcher_gui.importing import RequestReader
from batcher_gui.storage import rerun_rows
from batcher_gui.storage.import_rows import RowBuilder
from batcher_gui.storage.import_session import ImportSession
from batcher_gui.storage.store import Store
from batcher_gui.tokens.counting import TokenCounter

#: (prompts written, prompts to write)
ProgressCallback = Callable[[int, int], None]
WriteRunner = Callable[..., Any]
CHECKPOINT_EVERY = 40
_TEMPLATE_FORMATS = (InputFormat.CSV.value, InputFormat.TSV.value, InputFormat.XLSX.value)


def _direct(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


class RerunCancelled(Cancelled):
    """The user stopped the re-run; nothing was written."""


class _Rewriter:
    """Turns the origin's prompts (or its source file's lines) into the re-run's requests."""

    def __init__(self, store: Store, origin: Run, profile: Profile, change: RerunChange,
                 scope: RerunScope, should_stop: Callable[[], bool] | None) -> None:
        self.store = store
        self.origin = origin
        self.profile = profile
        self.change = change
        self.scope = scope
        self.should_stop = should_stop
        self.record = rerun_rows.import_record(store.db, origin.id)
        max_tokens = change.options.get("max_tokens") or self.record.get("max_tokens")
        self.max_tokens = int(max_tokens) if isinstance(max_tokens, int) else DEFAULT_MAX_TOKENS
        self.options: ImportOptions | None = (self._template_options()
                                              if change.template is not None else None)

    def new_record(self) -> dict[str, Any]:
        """The import options the re-run stands on (a later template re-run reads them)."""
        record = dict(self.record)
        for key in ("model", "system", "template"):
            value = getattr(self.change, key)
            if value is not None:
                record[key] = value
        return {k: v for k, v in record.items() if v not in (None, False, "")}

    def _template_options(self) -> ImportOptions:
        origin = self.origin
        if origin.source_format not in _TEMPLATE_FORMATS:
            raise RerunRefused(
                f"run {origin.label} was imported from a {origin.source_format} file, whose "
                "lines are not made from a template: change the model, system prompt or "
                "options instead")
        path = origin.source_path
        if not path or not os.path.exists(path):
            raise RerunRefused(f"the source file of run {origin.label}, {path or '(none)'}, is "
                               "gone: a new template needs the file the run was imported from "
                               "(put it back at that path)")
        if os.path.getmtime(path) > origin.created_at:
            raise RerunRefused(f"the source file of run {origin.label}, {path}, has changed "
                               "since the run was imported: a new template would not make the "
                               "same prompts (re-import the file instead)")
        rec = self.record
        return ImportOptions(
            format=InputFormat(origin.source_format),
            model=self.change.model or rec.get("model"), endpoint=rec.get("endpoint"),
            template=self.change.template,
            system=self.change.system if self.change.system is not None else rec.get("system"),
            id_column=rec.get("id_column"), sheet=rec.get("sheet"),
            max_tokens=rec.get("max_tokens"))

    def _stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise RerunCancelled("re-run stopped; nothing was made")

    def sources(self) -> Iterator[tuple[int, int, str, str, str, bytes]]:
        for chunk in rerun_rows.scope_rows(self.store.db, self.origin.id, self.scope.query,
                                           self.scope.ids):
            self._stop()
            yield from chunk

    def requests(self) -> Generator[tuple[bytes, ParsedRequest], None, None]:
        """(the origin's request, the re-run's) for each prompt, in import order."""
        if self.options is not None:
            yield from self._from_source(self.options)
            return
        for _pid, line_no, custom_id, endpoint, _model, body in self.sources():
            yield body, self._rewrite(line_no, custom_id, endpoint, body)

    def _rewrite(self, line_no: int, custom_id: str, endpoint: str,
                 body: bytes) -> ParsedRequest:
        try:
            new_endpoint, new_body = rewrite_body(endpoint, orjson.loads(body), self.change,
                                                  self.profile.kind, self.max_tokens)
        except RerunRefused as exc:
            raise RerunRefused(f"prompt {custom_id!r}: {exc}") from None
        return ParsedRequest(line_no, custom_id, new_endpoint, str(new_body.get("model", "")),
                             orjson.dumps(new_body))

    def _from_source(self, options: ImportOptions) -> Iterator[tuple[bytes, ParsedRequest]]:
        """The selected prompts' lines of the source file, read with the new template (both
        walk in line order, so this is a merge, not a lookup table)."""
        label, path = self.origin.label, self.origin.source_path
        assert path is not None
        reader = iter(RequestReader(path, options, self.profile.limits, self.should_stop,
                                    kind=self.profile.kind))
        current: ParsedRequest | LineError | None = None
        for _pid, line_no, custom_id, _endpoint, _model, body in self.sources():
            while current is None or (current.line_no if isinstance(current, ParsedRequest)
                                      else current.line or 0) < line_no:
                current = next(reader, None)
                if current is None:
                    raise RerunRefused(f"the source file of run {label}, {path}, has changed: "
                                       f"it has no line {line_no} any more")
            if isinstance(current, LineError):
                if current.line == line_no:
                    raise RerunRefused(f"with the new template, {current}")
                continue
            if current.line_no != line_no or current.user_custom_id != custom_id:
                raise RerunRefused(
                    f"the source file of run {label}, {path}, has changed since the import: "
                    f"line {line_no} now holds {current.user_custom_id!r}, not {custom_id!r}")
            # The reader applied the template, model and system prompt; applying them again
            # changes nothing, and the options are applied here.
            yield body, self._rewrite(line_no, custom_id, current.endpoint, current.body)


def _prepare(store: Store, origin_ref: int | str, change: RerunChange, scope: RerunScope,
             should_stop: Callable[[], bool] | None) -> tuple[Run, Profile, _Rewriter, int]:
    origin = store.find_run(origin_ref)
    if change.empty:
        raise RerunRefused("choose what to change: a profile, model, system prompt, template "
                           "or option")
    profile = (store.get_profile(change.profile) if change.profile is not None
               else store.get_profile_by_id(origin.profile_id))
    count = rerun_rows.count_scope(store.db, origin.id, scope.query, scope.ids)
    if count == 0:
        raise RerunRefused(f"nothing to re-run: run {origin.label} has none of the prompts "
                           f"asked for ({scope.words or 'all'})")
    rewriter = _Rewriter(store, origin, profile, change, scope, should_stop)
    return origin, profile, rewriter, count


def plan_rerun(store: Store, origin_ref: int | str, change: RerunChange, scope: RerunScope,
               *, prices: PriceTable | None = None, examples: int = 3,
               should_stop: Callable[[], bool] | None = None,
               counter: TokenCounter | None = None,
               sample: RequestSample | None = None) -> RerunPlan:
    """Check a re-run and say what it will do: how many prompts, the first requests before
    and after, and (with ``prices``) the estimate of every new request (``sample`` keeps
    Claude requests for the provider to count, as an import's estimate does). Writes nothing;
    raises RerunRefused naming the first prompt that cannot take the change."""
    origin, profile, rewriter, count = _prepare(store, origin_ref, change, scope, should_stop)
    plan = RerunPlan(origin, profile, change, scope, count, default_name(origin.name, change))
    requests = rewriter.requests()
    if prices is None:
        for before, after in requests:
            if len(plan.examples) >= examples:
                break
            plan.examples.append((after.user_custom_id, before, after.body))
        requests.close()
        return plan
    counter = counter or TokenCounter()
    estimate = FileEstimate()
    chunk: list[ParsedRequest] = []

    for before, after in requests:
        if len(plan.examples) < examples:
            plan.examples.append((after.user_custom_id, before, after.body))
        chunk.append(after)
        if len(chunk) >= 2048:
            tally(estimate, counter, chunk, sample)
    tally(estimate, counter, chunk, sample)
    estimate.exact = all(m.exact for m in estimate.models.values())
    estimate.cost = prices.estimate({m: (t.input, t.output_bound)
                                     for m, t in estimate.models.items()})
    plan.estimate = estimate
    return plan


def rerun_run(store: Store, origin_ref: int | str, change: RerunChange, scope: RerunScope, *,
              name: str | None = None, progress: ProgressCallback | None = None,
              should_stop: Callable[[], bool] | None = None,
              write: WriteRunner = _direct) -> ImportSummary:
    """Make the re-run: a new run of the scope's prompts with the change, remembering its
    origin. All or nothing: a prompt that cannot take the change (or a stop) leaves nothing.
    """
    wanted = check_run_name(name) if name is not None else None
    origin, profile, rewriter, count = _prepare(store, origin_ref, change, scope, should_stop)
    record = origin_record(change, scope, count)
    with store.db.import_lock():
        session: ImportSession = write(lambda: ImportSession.begin(
            store.db, wanted or default_name(origin.name, change), origin.source_path,
            origin.source_format, profile, None, exact_name=wanted is not None))
        try:
            write(rerun_rows.set_origin, store.db, session.run.id, origin.id, record,
                  rewriter.new_record())
            builder = RowBuilder(session.start)
            chunks = builder.rows(after for _before, after in rewriter.requests())
            try:
                for n, rows in enumerate(chunks, 1):
                    write(session.write, rows, builder.new_drafts())
                    if n % CHECKPOINT_EVERY == 0:
                        write(store.db.checkpoint)
                    if progress is not None:
                        progress(session.count, count)
                    if should_stop is not None and should_stop():
                        raise RerunCancelled("re-run stopped; nothing was made")
            finally:
                chunks.close()
            if session.count != count:  # prompts deleted meanwhile: never a partial re-run
                raise RerunRefused(f"run {origin.label} changed while it was re-run; try again")
            summary: ImportSummary = write(session.finish, builder.result)
        except BaseException:
            write(session.discard)
            raise
        finally:
            write(store.db.checkpoint)
    return summary
