"""A local, protocol-faithful emulator of the OpenAI Files + Batches API (aiohttp).

Used by the test-suite and by the app's built-in "sandbox" provider profile. Only stdlib,
aiohttp and orjson are imported here: never the openai SDK, so the SDK is tested *against*
this server rather than against itself.
"""

from .cli import add_arguments, config_from_args
from .config import FaultSpec, SandboxConfig
from .server import SandboxServer, create_app, serve_forever

__all__ = [
    "FaultSpec",
    "SandboxConfig",
    "SandboxServer",
    "add_arguments",
    "config_from_args",
    "create_app",
    "serve_forever",
]
