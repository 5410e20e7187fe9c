"""What ``batcher serve`` tells monitoring about a workspace: counts read in SQL, plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WorkspaceFigures:
    """Counts of a workspace, as ``batcher status`` counts them (runs still being imported
    are invisible, draft batches nobody has filled are not counted).

    Attributes:
        batches_by_state: batch state value -> how many.
        prompts_by_state: prompt state value -> how many.
        runs: visible runs.
        last_poll_at: the last time any batch was polled at its provider (Unix seconds), None
            if none has been.
    """

    batches_by_state: Mapping[str, int] = field(default_factory=dict)
    prompts_by_state: Mapping[str, int] = field(default_factory=dict)
    runs: int = 0
    last_poll_at: float | None = None
