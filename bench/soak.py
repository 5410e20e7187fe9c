"""A simulated day of the window: does anything grow that should not?

Usage: python bench/soak.py [--hours H] [--keep DIR] [--verbose]   (H simulated hours, 24)

The real main window (offscreen, on the app's own qasync loop, with its real engine driving
the built-in sandbox, which runs in a process of its own as in the app, slowed down so that
batches stay in flight for a while) on a workspace, with its clock accelerated: the window's
one-second timers (the database watch, LiveView ``_watch`` -> ``_check_version``, and the
engine status line's timer) are fired by hand exactly as often as in H hours (3,600 ticks an
hour), and each tick's work (the ``data_version`` read, the refresh it asks for, the reads
that one starts) is let finish before the next tick, as a real second would; the short
single-shot timers a tick starts (the 300 ms refresh, the 250 ms search-typing timer) fire
within that tick. The real one-second timers are stopped, so every tick is counted once.
Nothing here waits real time: the engine and the sandbox run in real time beside it.

On a steady rhythm (a cycle every 20 simulated minutes, its steps spread over it): a small
run is imported (``service.import_file``), selected and submitted (the window's Submit
command), the prompts' state filter or search changes, a run, one of its batches and one of
its prompts are selected (the detail pane follows), and the oldest finished run is deleted
(``service.delete_run``). Every couple of simulated hours the window opens a second workspace
folder (``window.open_workspace``) and, 20 simulated minutes later, the first one again.

Measured once a simulated hour, after ``gc.collect()``: resident memory (``/proc/self/statm``),
``len(gc.get_objects())``, the Qt connections of the window's long-lived objects (the
receivers of every signal; ``destroyed()`` apart), ``watched_owners()`` and
``running_tasks()`` of ``ui/base/tasks.py``, the QObjects under the window, threads, open
files, batches in flight, the closed workspaces' objects still alive, Python wrappers of
deleted Qt objects, and qasync's pending timer handles; after every workspace switch, the
tasks still running that belong to the closed workspace. The warm-up (not judged) is the
first simulated hour, and longer until the app has done everything once (a run finished and
announced, a workspace switch there and back). Targets: memory growth < 1 MB per simulated
hour; objects, connections, owners, tasks, QObjects, threads, files and dead wrappers flat; no
task of a closed workspace left. Exit status 1 on any FAIL.

Measuring without disturbing: the QObjects are counted from ``dumpObjectTree()``, not
``findChildren()`` (which makes a Python wrapper for each child, and PySide keeps such a
wrapper, dead, once Qt deletes the child); tasks are awaited without timeouts (qasync keeps a
cancelled timeout's handle until it would have fired), with a watchdog instead.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import shutil
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.fakes (the in-memory keyring)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HOUR = 3600
CYCLE = 20 * 60  # one cycle of user actions every 20 simulated minutes
AWAY = 20 * 60  # how long the second workspace stays open
PROMPTS_PER_RUN = 20
KEEP_RUNS = 3  # finished runs kept (beyond these, the oldest is deleted each cycle)
MAX_RSS_MB_PER_HOUR = 1.0
#: The object count swings by ~2,500 with the open workspace's SQLAlchemy statement cache
#: and the pending timer handles; a leak of one object a tick would be 3,600 an hour.
MAX_OBJECTS_PER_HOUR = 500
#: A tick's work should end within a (wall) second, as a real tick has one.
TICK_BUDGET = 1.0
STALL = 120.0  # wall seconds without a tick: the watchdog stops the run


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def trimmed_rss_mb() -> float:
    """Resident memory once the C allocator has handed its free memory back (glibc's
    ``malloc_trim``): what of the resident memory is in use, not kept by the allocator."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return float("nan")
    return rss_mb()


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def slope(values: list[float]) -> float:
    """Least-squares growth per sample (of evenly spaced samples)."""
    n = len(values)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(values) / n
    sxx = sum((i - mx) ** 2 for i in range(n))
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / sxx


def write_run(path: Path, n: int, cycle: int) -> Path:
    import orjson

    with path.open("wb") as fh:
        for i in range(n):
            fh.write(orjson.dumps({
                "custom_id": f"soak-{cycle}-{i}", "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini", "messages": [
                    {"role": "user", "content": f"question {i} of cycle {cycle}: omega alpha"}]},
            }) + b"\n")
    return path


def connections(obj: Any) -> dict[str, int]:
    """The receivers of each of ``obj``'s signals, by name (overloads counted once)."""
    from PySide6.QtCore import QMetaMethod

    meta = obj.metaObject()
    found: dict[str, int] = {}
    for i in range(meta.methodCount()):
        method = meta.method(i)
        if method.methodType() != QMetaMethod.MethodType.Signal:
            continue
        name = bytes(method.name().data()).decode()
        if name not in found:
            found[name] = obj.receivers("2" + bytes(method.methodSignature().data()).decode())
    return found


def object_tree(root: Any, apart: str = "DetailStack"
                ) -> tuple[collections.Counter[str], int]:
    """The QObjects under ``root`` by class, read from ``dumpObjectTree()`` (see the module
    docstring); the subtree of ``apart`` (the detail pane, whose rows depend on what it shows)
    is counted apart."""
    from PySide6.QtCore import qInstallMessageHandler

    lines: list[str] = []
    previous = qInstallMessageHandler(lambda _mode, _context, text: lines.append(text))
    try:
        root.dumpObjectTree()
    finally:
        qInstallMessageHandler(previous)
    counts: collections.Counter[str] = collections.Counter()
    inside: int | None = None  # the indentation of ``apart`` while within it
    in_apart = 0
    for line in lines[1:]:
        depth = len(line) - len(line.lstrip())
        name = line.strip().split("::", 1)[0]
        if inside is not None and depth <= inside:
            inside = None
        if inside is not None:
            in_apart += 1
        elif name == apart:
            inside = depth
            in_apart += 1
        else:
            counts[name] += 1
    return counts, in_apart


def pending_timers() -> tuple[int, int]:
    """qasync's timer handles waiting for their Qt timer: all, and those cancelled already
    (qasync keeps a cancelled handle until its delay has passed)."""
    timer = getattr(asyncio.get_event_loop(), "_timer", None)
    handles = getattr(timer, "_SimpleTimer__callbacks", {})
    return len(handles), sum(1 for h in handles.values() if h.cancelled())


def holds(task: asyncio.Task[Any], targets: list[Any]) -> bool:
    """Whether a local of a coroutine in ``task``'s await chain is one of ``targets``."""
    coro: Any = task.get_coro()
    for _ in range(64):
        if coro is None:
            return False
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and any(v is t for v in frame.f_locals.values() for t in targets):
            return True
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return False


def grown(a: collections.Counter[str], b: collections.Counter[str], top: int = 12
          ) -> list[tuple[str, int]]:
    diff = [(name, b[name] - a.get(name, 0)) for name in b]
    return sorted([d for d in diff if d[1] > 0], key=lambda d: -d[1])[:top]


def type_counts(objects: list[Any]) -> collections.Counter[str]:
    return collections.Counter(type(o).__name__ for o in objects)


CLOSED_KINDS = ("Service", "Engine", "ViewReader", "WorkspaceSession")


@dataclass
class Sample:
    hour: float
    rss: float
    objects: int
    connections: int
    destroyed: int
    owners: int
    tasks: int
    qobjects: int
    in_detail: int
    threads: int
    files: int
    in_flight: float  # batches in flight, on average over the hour's ticks
    closed_alive: tuple[int, ...]  # of the closed workspaces: per CLOSED_KINDS
    dead: int  # Python wrappers of deleted Qt objects
    timers: tuple[int, int]  # qasync's pending timer handles: all, cancelled
    wall: float
    judged: bool  # past the warm-up


@dataclass
class Switch:
    hour: float
    to: str
    seconds: float
    owned_left: int  # tasks owned by the closed session, not done
    holding: list[str]  # running tasks whose await chain holds its session/service/reader


class Soak:
    """See the module docstring."""

    def __init__(self, window: Any, spaces: dict[str, Any], work: Path, hours: float,
                 switch_every: float, warmup: float, verbose: bool) -> None:
        self.window = window
        self.spaces = spaces  # name -> WorkspacePaths
        self.current = "A"
        self.work = work
        self.total = round(hours * HOUR)
        self.switch_every = round(switch_every * HOUR)
        self.warmup = warmup
        self.verbose = verbose
        self.now = 0  # simulated seconds
        self.ticks = 0
        self.started = time.perf_counter()
        self.progress = self.started
        self.slowest_tick = 0.0
        self.slow_ticks = 0
        self.away_until: int | None = None
        #: A run has finished (its first banner and notification are part of the warm-up).
        self.finished_seen = False
        self.first_judged = self.same_phase = 0
        self.rss_end = (0.0, 0.0)  # resident memory at the end: as is, after malloc_trim
        self.thread_names: list[tuple[str, int]] = []  # at the end, by name (numbers cut)
        #: Batches in flight (as the runs list shows them), summed over the ticks of the hour.
        self.flying_sum = 0
        self.flying_max = 0
        self.flying_total = 0
        self.samples: list[Sample] = []
        self.switches: list[Switch] = []
        self.counts: collections.Counter[str] = collections.Counter()
        #: Weak references to the closed workspaces' objects, by kind.
        self.closed: dict[str, list[weakref.ref[Any]]] = {k: [] for k in CLOSED_KINDS}
        # Kept for the report: object types, QObject classes, connections (first measured
        # hour and latest), dead wrappers (latest).
        self.types: dict[str, collections.Counter[str]] = {}
        self.qtypes: dict[str, collections.Counter[str]] = {}
        self.per_object: dict[str, dict[str, dict[str, int]]] = {}
        self.dead_types: collections.Counter[str] = collections.Counter()

    # -- the clock ---------------------------------------------------------------------------
    async def run(self) -> None:
        self.stop_real_timers()
        self.sample(record=False)  # the measuring code's own first-use costs, paid here
        watchdog = asyncio.ensure_future(self.watchdog())
        try:
            while self.now < self.total:
                await self.step()
                self.progress = time.perf_counter()
                await self.tick()
                self.now += 1
                if self.now % HOUR == 0:
                    self.sample()
        finally:
            watchdog.cancel()
        self.rss_end = rss_mb(), trimmed_rss_mb()
        self.thread_names = collections.Counter(
            t.name.rstrip("0123456789").rstrip("-_") or t.name
            for t in threading.enumerate()).most_common()

    def stop_real_timers(self) -> None:
        """The one-second timers are fired by the simulated clock only."""
        self.window.live._watch.stop()
        self.window.engine_status._timer.stop()

    async def tick(self) -> None:
        """One simulated second."""
        from batcher_gui.ui.base.tasks import running_tasks

        start = time.perf_counter()
        before = set(running_tasks())
        w = self.window
        w.live._watch.timeout.emit()
        w.engine_status._timer.timeout.emit()
        self.ticks += 1
        await self.settle(before)
        flying = sum(r.batches_in_flight for r in w.runs_model.items())
        self.flying_sum += flying
        self.flying_max = max(self.flying_max, flying)
        self.progress = time.perf_counter()
        took = self.progress - start
        self.slowest_tick = max(self.slowest_tick, took)
        self.slow_ticks += took > TICK_BUDGET

    async def settle(self, before: set[asyncio.Task[Any]]) -> None:
        """Let the tasks started since ``before`` end (and those they start), firing the
        short single-shot timers they start, as a real second would."""
        from batcher_gui.ui.base.tasks import running_tasks

        w = self.window
        short = (w.live._timer, w.prompts._typing)
        while True:
            await asyncio.sleep(0)
            new = [t for t in running_tasks() if t not in before]
            if new:
                await asyncio.wait(new)  # no timeout: see the module docstring
                continue
            fired = False
            for timer in short:
                if timer.isActive():
                    timer.stop()
                    timer.timeout.emit()
                    fired = True
            if not fired:
                return

    async def watchdog(self) -> None:
        while True:
            await asyncio.sleep(10)
            if time.perf_counter() - self.progress > STALL:
                print(f"STALLED at simulated hour {self.now / HOUR:.2f} (no tick for "
                      f"{STALL:g} s); the tasks:")
                for task in asyncio.all_tasks():
                    task.print_stack(limit=4)
                sys.stdout.flush()
                os._exit(3)

    async def step(self) -> None:
        """What happens at this simulated second besides the timers."""
        t = self.now
        if self.away_until is not None and t >= self.away_until:
            await self.switch("A")
            self.away_until = None
        elif (self.switch_every and t % self.switch_every == HOUR // 2
              and t + AWAY < self.total):
            await self.switch("B")
            self.away_until = t + AWAY
        phase = t % CYCLE
        if phase == 10:
            await self.import_and_submit()
        elif phase == CYCLE // 4:
            await self.select()
        elif phase == CYCLE // 2:
            self.change_filter()
        elif phase == 3 * CYCLE // 4:
            await self.delete_finished()
            await self.select()

    # -- what the user does ------------------------------------------------------------------
    async def then_settle(self) -> None:
        """Let what the last action started end (as the tick after it would)."""
        await self.settle(set())

    async def import_and_submit(self) -> None:
        from batcher_gui.domain.models import ImportOptions
        from batcher_gui.ui.base.tasks import running_tasks

        w = self.window
        service = w.service
        if service is None:
            return
        n = self.counts["imported"]
        path = write_run(self.work / f"run-{n}.jsonl", PROMPTS_PER_RUN, n)
        summary = await service.import_file(path, ImportOptions(), profile="sandbox",
                                            name=f"soak-{self.current}-{n}")
        path.unlink()
        self.counts["imported"] += 1
        await self.then_settle()
        await w.intake.refresh_and_select(summary.run.id)
        run = w.live.selected_run()
        if run is not None and run.run.id == summary.run.id:
            before = set(running_tasks())
            w.commands.submit()  # the Submit command on the selected run
            await self.settle(before)
            self.counts["submitted (command)"] += 1
        else:  # the refresh that would show it was running: submit it directly
            await service.submit(summary.run.id)
            self.counts["submitted (service)"] += 1

    async def select(self) -> None:
        """A run, one of its batches and one of its prompts: the detail pane follows."""
        w = self.window
        runs = w.runs_model.rowCount()
        if not runs:
            return
        k = self.counts["selections"]
        self.counts["selections"] += 1
        w.runs.selectRow(k % runs)
        await self.then_settle()
        if w.batches_model.rowCount():
            w.batches.selectRow(0)
            await self.then_settle()
        model = w.prompts.model
        for _ in range(400):  # the run's first page is being read
            if model.rowCount() and model.row_at(0) is not None:
                break
            await asyncio.sleep(0.005)
        if model.rowCount():
            w.prompts.table.selectRow(k % min(model.rowCount(), 20))
            await self.then_settle()
        shown = w.detail.shown()
        self.counts[f"detail shows {shown[0] if shown else 'nothing'}"] += 1
        self.note_finished()

    def change_filter(self) -> None:
        from batcher_gui.domain.states import PromptState

        panel = self.window.prompts
        k = self.counts["filter changes"]
        self.counts["filter changes"] += 1
        choice = k % 5
        if choice == 0:
            panel.state.setCurrentIndex(panel.state.findData(PromptState.PROCESSED))
        elif choice == 1:
            panel.search.setText("omega")  # the typing timer applies it (within the tick)
        elif choice == 2:
            panel.search.setText("cycle 1")
            panel.state.setCurrentIndex(0)
        elif choice == 3:
            panel.errors.setChecked(True)
        else:
            panel.errors.setChecked(False)
            panel.search.setText("")
            panel.state.setCurrentIndex(0)

    async def delete_finished(self) -> None:
        from batcher_gui.domain.errors import BatcherError

        w = self.window
        service = w.service
        if service is None:
            return
        finished = [r for r in w.runs_model.items() if r.finished_at is not None
                    and not r.groups.pending and not r.groups.in_flight]
        if len(finished) <= KEEP_RUNS:
            return
        oldest = min(finished, key=lambda r: r.run.id)
        try:
            await service.delete_run(oldest.run.id)
            self.counts["deleted"] += 1
        except BatcherError:
            self.counts["delete refused"] += 1

    # -- workspaces --------------------------------------------------------------------------
    async def switch(self, to: str) -> None:
        from batcher_gui.ui.base import tasks

        w = self.window
        old = w.session
        owned = tasks._owners.get(tasks._key(old)) if old is not None else None
        owned_before = set(owned.tasks) if owned is not None else set()
        targets = [] if old is None else [x for x in (old, old.service, old.reader)
                                          if x is not None]
        if old is not None:
            for kind, obj in zip(CLOSED_KINDS, (old.service, old.service and old.service.engine,
                                                old.reader, old), strict=True):
                if obj is not None:
                    self.closed[kind].append(weakref.ref(obj))
        start = time.perf_counter()
        await w.open_workspace(self.spaces[to])
        seconds = time.perf_counter() - start
        self.stop_real_timers()  # open_workspace started the watch again
        left = [t for t in owned_before if not t.done()]
        # Any task at all (the engine's too) still holding the closed workspace's objects.
        holding = [t.get_name() for t in asyncio.all_tasks()
                   if not t.done() and holds(t, targets)]
        del targets, old, owned
        self.switches.append(Switch(self.now / HOUR, to, seconds, len(left), holding))
        self.current = to
        self.counts["workspace switches"] += 1

    # -- measuring ---------------------------------------------------------------------------
    def sample(self, record: bool = True) -> None:
        import shiboken6
        from PySide6.QtCore import QObject

        from batcher_gui.ui.base.tasks import running_tasks, watched_owners

        gc.collect()
        gc.collect()
        objects = gc.get_objects()
        count = len(objects)
        types = type_counts(objects) if record else collections.Counter()
        dead = collections.Counter(type(o).__name__ for o in objects
                                   if isinstance(o, QObject) and not shiboken6.isValid(o))
        del objects
        per_object = {name: connections(obj) for name, obj in self.long_lived().items()}
        total = sum(sum(per.values()) for per in per_object.values())
        destroyed = sum(per.get("destroyed", 0) for per in per_object.values())
        qtypes, in_detail = object_tree(self.window)
        closed_alive = tuple(sum(1 for ref in self.closed[k] if ref() is not None)
                             for k in CLOSED_KINDS)
        timers = pending_timers()
        if not record:
            return
        self.note_finished()
        # The warm-up: the first hour(s), and until the app has done everything once (a run
        # finished and was announced; a workspace switch there and back).
        judged = (self.now / HOUR >= self.warmup and self.finished_seen
                  and (len(self.switches) >= 2 or not self.switch_every))
        s = Sample(self.now / HOUR, rss_mb(), count, total, destroyed, watched_owners(),
                   len(running_tasks()), sum(qtypes.values()), in_detail,
                   threading.active_count(), open_files(), self.flying_sum / HOUR,
                   closed_alive, sum(dead.values()), timers, time.perf_counter() - self.started,
                   judged)
        self.flying_total += self.flying_sum
        self.flying_sum = 0
        self.samples.append(s)
        grew = s.rss - self.samples[-2].rss if len(self.samples) > 1 else 0.0
        print_row(s, first=len(self.samples) == 1, grew=grew)
        if self.verbose and "last" in self.types:
            print("      grown since the hour before: " + ", ".join(
                f"{n} +{d}" for n, d in grown(self.types["last"], types, top=8)), flush=True)
        if judged and "first" not in self.types:
            self.types["first"], self.qtypes["first"] = types, qtypes
            self.per_object["first"] = per_object
            self.first_judged = self.now
        if judged and (not self.switch_every
                       or (self.now - self.first_judged) % self.switch_every == 0):
            # The same point of the switching cycle as the first judged hour (the object
            # counts swing with how long the workspace has been open).
            self.types["same phase"] = types
            self.same_phase = self.now
        self.types["last"], self.qtypes["last"], self.per_object["last"] = (
            types, qtypes, per_object)
        self.dead_types = dead

    def note_finished(self) -> None:
        if not self.finished_seen:
            self.finished_seen = any(r.finished_at is not None
                                     for r in self.window.runs_model.items())

    def long_lived(self) -> dict[str, Any]:
        from PySide6.QtWidgets import QApplication

        w = self.window
        return {"window": w, "live": w.live, "commands": w.commands, "intake": w.intake,
                "prompts": w.prompts, "prompts.model": w.prompts.model,
                "prompts.selection": w.prompts.table.selectionModel(),
                "runs_model": w.runs_model, "runs.selection": w.runs.selectionModel(),
                "batches_model": w.batches_model,
                "batches.selection": w.batches.selectionModel(), "detail": w.detail,
                "engine_status": w.engine_status, "banner": w.banner, "tabs": w.tabs,
                "app": QApplication.instance()}


HEADER = (f"{'hour':>4} {'RSS MB':>7} {'+MB':>5} {'gc objs':>8} {'conns':>5} {'destr':>5} "
          f"{'ownrs':>5} {'tasks':>5} {'QObjs':>5} {'detl':>4} {'thr':>3} {'fds':>3} {'fly':>3} "
          f"{'closed alive':>12} {'dead':>4} {'timers':>9} {'wall s':>6}")


def print_row(s: Sample, first: bool, grew: float) -> None:
    if first:
        print(HEADER)
        print(f"{'(* warm-up)':<81}{'svc/eng/rdr/ses':>15}")
    closed = "/".join(str(n) for n in s.closed_alive)
    mark = " " if s.judged else "*"  # warm-up
    print(f"{s.hour:4.0f}{mark}{s.rss:7.1f} {grew:+5.1f} {s.objects:8,} {s.connections:5} "
          f"{s.destroyed:5} {s.owners:5} {s.tasks:5} {s.qobjects:5} {s.in_detail:4} "
          f"{s.threads:3} {s.files:3} {s.in_flight:3.1f} {closed:>12} {s.dead:4} "
          f"{s.timers[0]:4}/{s.timers[1]:<4} {s.wall:6.1f}", flush=True)


def verdicts(soak: Soak) -> list[tuple[str, bool, str]]:
    after = [s for s in soak.samples if s.judged]
    if len(after) < 2:
        return [("enough simulated hours after the warm-up (two samples at least)", False,
                 f"{len(after)} sample(s)")]
    out: list[tuple[str, bool, str]] = []

    def rate(label: str, samples: list[Sample], value: Any, limit: float, unit: str) -> None:
        values = [float(value(x)) for x in samples]
        hours = [x.hour for x in samples]
        growth = slope(values) / max(hours[1] - hours[0], 1e-9) if len(values) > 1 else 0.0
        out.append((label, growth < limit,
                    f"{growth:+,.2f} {unit}/h (hour {hours[0]:.0f}: {values[0]:,.1f}, "
                    f"hour {hours[-1]:.0f}: {values[-1]:,.1f}, max {max(values):,.1f}; "
                    f"target < {limit:g})"))

    def flat(label: str, values: list[int], slack: int = 0, trend: float | None = None
             ) -> None:
        """Never above the first judged hour (+ ``slack``); for counts that swing with what
        the app is doing (connections to the sandbox, database files), no upward trend
        (least-squares growth < ``trend`` an hour) is enough."""
        ok = max(values) <= values[0] + slack
        detail = f"{values[0]} -> {values[-1]} (min {min(values)}, max {max(values)}"
        if slack:
            detail += f"; allowed above the first: {slack}"
        if trend is not None:
            growth = slope([float(v) for v in values])
            ok = ok or growth < trend
            detail += f"; trend {growth:+.2f}/h, target < {trend:g}"
        out.append((label, ok, detail + ")"))

    rate("memory growth", after, lambda x: x.rss, MAX_RSS_MB_PER_HOUR, "MB")
    # The object count swings with how long the open workspace has been open (its statement
    # cache): its trend is read at the same point of the workspace-switching cycle.
    period = max(1, round(soak.switch_every / HOUR)) if soak.switch_every else 1
    same_phase = [x for x in after if round(x.hour - after[0].hour) % period == 0]
    rate(f"gc objects flat (every {period} h: the same point of the switching cycle)",
         same_phase if len(same_phase) > 1 else after, lambda x: x.objects,
         MAX_OBJECTS_PER_HOUR, "objects")
    flat("Qt connections on long-lived objects flat", [s.connections for s in after])
    flat("destroyed() connections on long-lived objects flat", [s.destroyed for s in after])
    flat("watched_owners() flat", [s.owners for s in after], slack=2)
    flat("running_tasks() flat", [s.tasks for s in after], slack=3)
    flat("QObjects in the window flat (the detail pane apart)", [s.qobjects for s in after])
    flat("threads flat", [s.threads for s in after], slack=2, trend=0.5)
    flat("open files flat", [s.files for s in after], slack=4, trend=0.5)
    flat("no Python wrappers of deleted Qt objects kept", [s.dead for s in after])
    left = sum(sw.owned_left + len(sw.holding) for sw in soak.switches)
    out.append(("no task of a closed workspace left after a switch",
                left == 0 and bool(soak.switches),
                f"{left} over {len(soak.switches)} switches"))
    return out


def report(soak: Soak, hours: float, wall: float) -> int:
    print()
    print("workspace switches (simulated hour -> workspace: wall time; tasks of the closed "
          "session still running; tasks still holding its session/service/reader):")
    for sw in soak.switches:
        print(f"  {sw.hour:6.2f} -> {sw.to}: {sw.seconds:5.2f} s; owned {sw.owned_left}; "
              f"holding {sw.holding or 0}")
    print("actions: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.counts.items())))
    print(f"batches in flight: {soak.flying_total / max(soak.ticks, 1):.1f} on average over "
          f"the ticks, {soak.flying_max} at most")
    print(f"ticks: {soak.ticks:,} of each one-second timer; slowest tick (its work done) "
          f"{soak.slowest_tick * 1000:.0f} ms; ticks over {TICK_BUDGET:g} s: {soak.slow_ticks}")
    if "first" in soak.types and len(soak.samples) >= 2:
        first = next(s.hour for s in soak.samples if s.judged)
        last = soak.samples[-1].hour
        print(f"object types grown from hour {first:.0f} to {soak.same_phase / HOUR:.0f} "
              "(the same point of the workspace-switching cycle): " + ", ".join(
                  f"{n} +{d}" for n, d in grown(soak.types["first"],
                                                 soak.types["same phase"])))
        print(f"object types grown from hour {first:.0f} to {last:.0f}: " + ", ".join(
            f"{n} +{d}" for n, d in grown(soak.types["first"], soak.types["last"])))
        print(f"QObject classes grown in the window from hour {first:.0f} to {last:.0f}: " +
              (", ".join(f"{n} +{d}" for n, d in grown(soak.qtypes["first"],
                                                        soak.qtypes["last"])) or "none"))
        changed = [(name, k, before.get(k, 0), now)
                   for name, per in soak.per_object["last"].items()
                   for k, now in per.items()
                   if now != (before := soak.per_object["first"].get(name, {})).get(k, 0)]
        print(f"connections changed from hour {first:.0f} to {last:.0f}: " + (", ".join(
            f"{name}.{sig} {a} -> {b}" for name, sig, a, b in changed) or "none") +
              "; destroyed() receivers at the end: " + ", ".join(
                  f"{name} {per.get('destroyed', 0)}"
                  for name, per in soak.per_object["last"].items()))
    closed = {k: (sum(1 for r in refs if r() is not None), len(refs))
              for k, refs in soak.closed.items()}
    print("closed workspaces' objects still alive at the end: " + ", ".join(
        f"{k} {alive} of {n}" for k, (alive, n) in closed.items()))
    print("Python wrappers of deleted Qt objects at the end: " + (", ".join(
        f"{n} {c}" for n, c in soak.dead_types.most_common(10)) or "none"))
    import resource

    print("threads at the end: " + ", ".join(f"{name} {n}" for name, n in soak.thread_names))
    print(f"resident memory at the end: {soak.rss_end[0]:.1f} MB; after malloc_trim(0): "
          f"{soak.rss_end[1]:.1f} MB; peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
    print(f"wall time: {wall:.1f} s for {hours:g} simulated hours "
          f"({soak.ticks / max(wall, 1e-9):,.0f} ticks/s)")
    print()
    failed = 0
    for label, ok, detail in verdicts(soak):
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {detail}")
    return 1 if failed else 0


async def scenario(work: Path, args: argparse.Namespace) -> int:
    from PySide6.QtCore import QSettings

    from batcher_gui.config.secrets import SecretStore
    from batcher_gui.paths import WorkspacePaths
    from batcher_gui.sandbox import SandboxConfig
    from batcher_gui.ui.window.main_window import MainWindow
    from tests.fakes import MemoryKeyring

    spaces = {name: WorkspacePaths(work / name, work / name / "batcher.sqlite3").create()
              for name in ("A", "B")}
    settings = QSettings(str(work / "soak.ini"), QSettings.Format.IniFormat)
    # The built-in sandbox (its default host: a process of its own), slowed down: a batch
    # takes 6 lifecycle steps of ``step_seconds`` (wall; polls do not step it) from
    # validating to completed, so a few are in flight at any time.
    sandbox = SandboxConfig(steps_per_poll=0, step_seconds=args.step_seconds, progress_steps=3)
    window = MainWindow(settings, {
        "secrets": SecretStore(backend=MemoryKeyring()),
        "sandbox_config": sandbox,
        # Drafts go when submitted (not after a quiet time); the sandbox is polled each second.
        "engine_overrides": {"sandbox_poll_interval": 1.0, "quiet_seconds": 3600},
    })
    window.resize(1400, 900)
    window.show()
    started = time.perf_counter()
    await window.open_workspace(spaces["A"])
    print(f"workspace A open in {time.perf_counter() - started:.2f} s; simulating "
          f"{args.hours:g} h ({round(args.hours * HOUR):,} ticks of each one-second timer), "
          f"a workspace switch every {args.switch_every:g} h, warm-up {args.warmup:g} h",
          flush=True)
    soak = Soak(window, spaces, work, args.hours, args.switch_every, args.warmup, args.verbose)
    try:
        await soak.run()
    finally:
        window.close()
        await window.closed
    return report(soak, args.hours, time.perf_counter() - soak.started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (24)")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="simulated hours not judged (1; longer until a run has "
                             "finished and the workspace has been switched there and back)")
    parser.add_argument("--switch-every", type=float, default=None,
                        help="simulated hours between workspace switches (2; 1 below 8 h)")
    parser.add_argument("--step-seconds", type=float, default=1.5,
                        help="wall seconds per lifecycle step of a sandbox batch (1.5)")
    parser.add_argument("--keep", help="work in this folder, and keep it")
    parser.add_argument("--verbose", action="store_true",
                        help="print the object types grown each hour")
    args = parser.parse_args()
    if args.switch_every is None:
        args.switch_every = 2.0 if args.hours >= 8 else 1.0
    work = Path(args.keep or tempfile.mkdtemp(prefix="batcher-bench-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    from PySide6.QtWidgets import QApplication

    from batcher_gui.ui.base.loop import AppEventLoop

    app = QApplication([])
    app.setOrganizationName("BatcherBench")
    try:
        asyncio.set_event_loop(loop := AppEventLoop(app))
        with loop:
            return int(loop.run_until_complete(scenario(work, args)))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
