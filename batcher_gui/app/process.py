"""Process-wide settings that keep the event loop (the window's) from stalling.

They concern the whole process, not a workspace, so the entry points apply them once (the
window, the command line, the benchmarks), never a workspace as it opens.
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading

_lock = threading.Lock()
_loaded = False
_settled = False


def load_for_driving() -> None:
    """Import what opening a workspace and driving it need (SQLAlchemy, the engine, the
    provider SDK and what it loads lazily, aiohttp for webhooks: about a second).

    Blocking: the window calls it in a thread, so these imports never run on its loop.
    """
    global _loaded
    with _lock:
        if _loaded:
            return
        for module in ("batcher_gui.app.service", "batcher_gui.providers", "aiohttp"):
            importlib.import_module(module)
        from batcher_gui.providers import warm_up

        warm_up()
        _loaded = True


def settle() -> None:
    """Once per process, after :func:`load_for_driving`: shorter thread turns and a frozen
    start-up heap.

    The engine's work runs in threads, but Python runs one thread's bytecode at a time: a
    thread that wants the interpreter waits up to the switch interval (5 ms by default) per
    turn, several turns when the other threads are busy; 1 ms turns keep the loop's waits
    short. And a full garbage collection walks every object the program holds: 130 ms once
    Qt, SQLAlchemy and the SDK are loaded. The modules loaded at start live for good:
    freezing them leaves collections only the objects made since. Frozen objects are never
    collected, so this runs once, before any workspace is opened: a workspace's objects must
    go when it closes.
    """
    global _settled
    with _lock:
        if _settled:
            return
        sys.setswitchinterval(0.001)
        gc.freeze()
        _settled = True
