"""Profiles the driving engine cannot use, said in the workspace for every window to read.

Keys stay on each machine (its OS keyring): the driver may lack a key that the person at
another window has. It parks only that profile's batches, and says so here — one settings
row naming the driver and each waiting profile with why — so every window, on any machine,
and `batcher status` can tell the user what waits and on which machine the key is missing.
The row is rewritten when the set changes and removed when the driver stops (the next
driver, with keys of its own, judges again).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batcher_gui.domain.events import ProfileWait, WaitKind
from batcher_gui.storage.store import Store

#: The settings key (not a user setting: config.settings ignores keys it does not know).
SETTING = "driver_waiting_profiles"


@dataclass(frozen=True, slots=True)
class DriverWaits:
    """What the driver last said: who it is, and profile name -> why its batches wait."""

    holder: str
    since: float
    profiles: Mapping[str, ProfileWait]

    @property
    def host(self) -> str:
        return self.holder.split(":", 1)[0]

    @property
    def pid(self) -> str:
        return self.holder.split(":")[1] if ":" in self.holder else "?"


def publish(store: Store, holder: str, waiting: Mapping[str, ProfileWait]) -> None:
    """Say (or, with nothing waiting, clear) which profiles wait for the user. Only the
    driver calls this: a row a dead driver left is replaced."""
    if not waiting:
        store.delete_setting(SETTING)
        return
    store.set_setting(SETTING, {
        "holder": holder, "since": time.time(),
        "profiles": {name: {"kind": w.kind.value, "detail": w.detail}
                     for name, w in sorted(waiting.items())},
    })


def clear(store: Store, holder: str) -> None:
    """Remove the row if ``holder`` wrote it (another driver's stands)."""
    current = read(store)
    if current is not None and current.holder == holder:
        store.delete_setting(SETTING)


def read(store: Store) -> DriverWaits | None:
    """The driver's last word on waiting profiles (None: none wait, or nobody said)."""
    return parse(store.get_setting(SETTING))


def parse(raw: Any) -> DriverWaits | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("profiles"), dict):
        return None
    profiles = {}
    for name, wait in raw["profiles"].items():
        try:
            profiles[str(name)] = ProfileWait(WaitKind(wait["kind"]), str(wait["detail"]))
        except (KeyError, TypeError, ValueError):
            continue  # a newer Batcher's kind: not shown rather than wrong
    if not profiles:
        return None
    return DriverWaits(str(raw.get("holder", "")), float(raw.get("since") or 0), profiles)
