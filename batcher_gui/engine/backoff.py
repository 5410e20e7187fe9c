"""When to try a batch again after a problem: capped exponential backoff with jitter."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass


@dataclass(slots=True)
class Backoff:
    """One batch's wait after a problem."""

    until: float
    failures: int
    profile_id: int
    #: Waiting for the user (a key...), not for the provider.
    needs_user: bool = False


class Backoffs:
    """The waits of every batch that met a problem (in memory: a restart tries at once).

    Args:
        base: the first wait; it doubles with each failure in a row, up to ``cap``. Each wait
            is drawn between half and all of that ("equal jitter"), so batches that failed
            together do not all retry in the same instant.
    """

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap
        self._waits: dict[int, Backoff] = {}

    def __bool__(self) -> bool:
        return bool(self._waits)

    def due(self, batch_id: int, now: float) -> bool:
        wait = self._waits.get(batch_id)
        return wait is None or wait.until <= now

    def schedule(self, batch_id: int, profile_id: int, *, wait: float | None = None,
                 at_least: float | None = None, needs_user: bool = False) -> Backoff:
        """Record one more failure; returns when the batch is due again."""
        previous = self._waits.get(batch_id)
        failures = previous.failures + 1 if previous else 1
        if wait is None:
            capped = min(self.base * 2 ** (failures - 1), self.cap)
            wait = capped / 2 + random.uniform(0, capped / 2)
        if at_least is not None:
            wait = max(wait, at_least)
        backoff = Backoff(time.time() + wait, failures, profile_id, needs_user)
        self._waits[batch_id] = backoff
        return backoff

    def clear(self, batch_id: int) -> bool:
        """The batch made progress; True if it had been waiting."""
        return self._waits.pop(batch_id, None) is not None

    def forget(self, *, profile_id: int | None = None, needs_user_only: bool = False) -> None:
        """Try at once: every batch, one profile's, or those waiting for the user."""
        for batch_id, wait in list(self._waits.items()):
            if ((profile_id is None or wait.profile_id == profile_id)
                    and (not needs_user_only or wait.needs_user)):
                del self._waits[batch_id]

    def soonest(self) -> float | None:
        return min((w.until for w in self._waits.values()), default=None)
