"""Provider implementations (the only package that imports ``openai``).

The engine talks to them through :class:`batcher_gui.domain.remote.Provider`.
"""

from batcher_gui.providers.errors import ProviderConfigError, map_error, retry_after_seconds
from batcher_gui.providers.factory import (
    AZURE_API_VERSION,
    OPENAI_BASE_URL,
    capabilities_for,
    make_provider,
)
from batcher_gui.providers.openai_provider import OpenAIProvider
from batcher_gui.providers.wire import to_remote_batch, to_remote_file

__all__ = [
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
]
