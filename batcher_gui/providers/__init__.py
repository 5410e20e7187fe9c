"""Provider implementations (the only package that imports ``openai`` and ``anthropic``).

The engine talks to them through :class:`batcher_gui.domain.remote.Provider`.
"""

from batcher_gui.providers.errors import ProviderConfigError, map_error, retry_after_seconds
from batcher_gui.providers.factory import (
    ANTHROPIC_BASE_URL,
    AZURE_API_VERSION,
    OPENAI_BASE_URL,
    capabilities_for,
    make_provider,
)
from batcher_gui.providers.openai_provider import OpenAIProvider
from batcher_gui.providers.wire import to_remote_batch, to_remote_file

__all__ = [
    "ANTHROPIC_BASE_URL",
    "AZURE_API_VERSION",
    "OPENAI_BASE_URL",
    "OpenAIProvider",
    "ProviderConfigError",
    "capabilities_for",
    "make_provider",
    "map_error",
    "retry_after_seconds",
    "to_remote_batch",
    "to_remote_file",
    "warm_up",
]


def warm_up() -> None:
    """Load what the SDK loads lazily on first use (its resources, the async HTTP backend).

    Called in a worker thread before driving starts: those imports would otherwise run on the
    event loop at the first request, stalling the window for a tenth of a second. (The
    Anthropic SDK, seconds to import, loads with the first Claude provider, made in a worker
    thread too.)
    """
    import importlib

    client = OpenAIProvider(api_key="warm-up", base_url="http://127.0.0.1:9/v1")._client
    for resource in ("files", "batches"):
        getattr(client, resource)
    for module in ("anyio._backends._asyncio", "anyio.streams.memory", "anyio.streams.stapled",
                   "anyio._core._sockets", "openai.pagination", "openai.lib._files"):
        try:
            importlib.import_module(module)
        except ImportError:  # a newer SDK may not use them: nothing to load then
            pass
