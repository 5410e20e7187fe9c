"""A local, protocol-faithful emulator of the OpenAI Files + Batches API (aiohttp).

Used by the test-suite and by the app's built-in "sandbox" provider profile. Only stdlib,
aiohttp and orjson are imported here: never the openai SDK, so the SDK is tested *against*
this server rather than against itself.
"""

from typing import TYPE_CHECKING, Any

from .cli import add_arguments, config_from_args, token_from_args
from .config import FaultSpec, SandboxConfig

if TYPE_CHECKING:
    from .host import SandboxThread
    from .server import SandboxServer, create_app, serve_forever


def __getattr__(name: str) -> Any:
    # The server pulls in aiohttp (a fifth of a second); the CLI only needs it to serve.
    if name in ("SandboxServer", "create_app", "serve_forever"):
        from . import server

        return getattr(server, name)
    if name == "SandboxThread":
        from .host import SandboxThread

        return SandboxThread
    raise AttributeError(name)

__all__ = [
    "FaultSpec",
    "SandboxConfig",
    "SandboxServer",
    "SandboxThread",
    "add_arguments",
    "config_from_args",
    "create_app",
    "serve_forever",
    "token_from_args",
]
