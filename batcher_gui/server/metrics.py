"""Prometheus text exposition of a :class:`~batcher_gui.app.health.Health` look.

The figures are read fresh at each scrape (counts in SQL) and written with
``prometheus_client``'s own exposition code, so the format is the library's, not ours. Every
batch and prompt state is always present (0 when none): a dashboard's series never vanish.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from batcher_gui.app.health import Health
from batcher_gui.domain.events import EngineState
from batcher_gui.domain.states import BatchState, PromptState

#: What generate_latest writes: the classic text format (0.0.4), names escaped to underscores.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class _Snapshot(Collector):
    """Yields the metrics of one health look (a registry per scrape: nothing is kept)."""

    def __init__(self, health: Health, intake: Mapping[str, float] | None) -> None:
        self.health = health
        self.intake = intake

    def collect(self) -> Iterator[Metric]:
        h = self.health
        up = GaugeMetricFamily("batcher_database_up",
                               "1 if the workspace database answered this scrape")
        up.add_metric([], 1.0 if h.database_ok else 0.0)
        yield up
        driving = GaugeMetricFamily("batcher_driving",
                                    "1 if this process drives the workspace's engine")
        driving.add_metric([], 1.0 if h.driving else 0.0)
        yield driving
        state = GaugeMetricFamily("batcher_engine_state",
                                  "this process's engine state (1 for the current one)",
                                  labels=["state"])
        for s in EngineState:
            state.add_metric([s.value], 1.0 if s.value == h.engine_state else 0.0)
        yield state
        errors = CounterMetricFamily("batcher_errors",
                                     "errors the engine reported since this process started")
        errors.add_metric([], float(h.errors_total))
        yield errors
        started = GaugeMetricFamily("batcher_start_time_seconds",
                                    "when this process started serving (Unix time)")
        started.add_metric([], h.started_at)
        yield started
        if h.figures is not None:
            yield _by_state("batcher_batches", "batches by state",
                            [s.value for s in BatchState], h.figures.batches_by_state)
            yield _by_state("batcher_prompts", "prompts by state (runs being imported are "
                            "not counted)", [s.value for s in PromptState],
                            h.figures.prompts_by_state)
            runs = GaugeMetricFamily("batcher_runs", "runs in the workspace")
            runs.add_metric([], float(h.figures.runs))
            yield runs
            if h.figures.last_poll_at is not None:
                poll = GaugeMetricFamily("batcher_last_poll_timestamp_seconds",
                                         "when a batch was last polled at its provider "
                                         "(Unix time)")
                poll.add_metric([], h.figures.last_poll_at)
                yield poll
        if self.intake:
            for name, value in sorted(self.intake.items()):
                metric = CounterMetricFamily(f"batcher_intake_{name}",
                                             f"intake API: {name.replace('_', ' ')}")
                metric.add_metric([], float(value))
                yield metric


def _by_state(name: str, documentation: str, states: list[str],
              counts: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["state"])
    # Every known state, then any the code does not know (a newer Batcher's): never dropped.
    for state in [*states, *sorted(set(counts) - set(states))]:
        family.add_metric([state], float(counts.get(state, 0)))
    return family


def exposition(health: Health, intake: Mapping[str, float] | None = None) -> bytes:
    """The Prometheus text format of ``health`` (and the intake's counters, if it runs)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(health, intake))
    return generate_latest(registry)
