"""Making a profile's provider: its key from the keyring (or the environment), the built-in
sandbox started on first use, and testing a profile's connection."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import threading
from typing import Any

from batcher_gui.config.secrets import MissingApiKey, SecretStore, resolve_api_key
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.events import WaitKind
from batcher_gui.domain.models import Profile
from batcher_gui.domain.remote import Provider
from batcher_gui.domain.secrecy import KNOWN_SECRETS, mask
from batcher_gui.engine.providers import ProfileUnusable
from batcher_gui.paths import WorkspacePaths

#: The built-in sandbox moves one status step per poll and one every 2 s of wall time, so a
#: batch also advances while Batcher is closed (like a real provider).
BUILTIN_SANDBOX_STEP_SECONDS = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionVerdict:
    """What testing a profile's connection found (``kind``: works, key refused, unreachable,
    no key, error)."""

    ok: bool
    kind: str
    message: str


class Connections:
    """Providers for one workspace's profiles.

    Args:
        secrets: where API keys are kept.
        sandbox_config: the built-in sandbox's behaviour (tests make it instant).
        sandbox_host: makes the built-in sandbox's host from (folder, config); default: a
            process of its own (tests may run it on a thread).
    """

    def __init__(self, paths: WorkspacePaths, secrets: SecretStore, sandbox_config: Any = None,
                 sandbox_host: Any = None) -> None:
        self.paths = paths
        self.secrets = secrets
        self._sandbox_config = sandbox_config
        self._sandbox_host = sandbox_host
        self._sandbox: Any = None  # a SandboxProcess once a sandbox profile is used
        self._sandbox_lock = threading.Lock()

    async def build(self, profile: Profile) -> Provider:
        """The provider for ``profile`` (the engine's); ProfileUnusable without a key."""
        # In a thread: the keyring may block (D-Bus, an unlock prompt), and making an SDK
        # client loads the TLS certificate store (a tenth of a second): never on the loop.
        try:
            return await asyncio.get_running_loop().run_in_executor(None, self.make, profile)
        except MissingApiKey as exc:
            raise ProfileUnusable(str(exc), WaitKind.NO_KEY) from None

    def make(self, profile: Profile) -> Provider:
        """Blocking: see :meth:`build`."""
        from batcher_gui.providers import make_provider

        if profile.is_builtin_sandbox:
            url = self.sandbox_url()
            # The token its host made up for this process: in memory only, never on disk.
            return make_provider(profile, self._sandbox.token, base_url=url,
                                 options=profile.options)
        return make_provider(profile, resolve_api_key(profile, self.secrets),
                             options=profile.options)

    def sandbox_url(self) -> str:
        """The built-in sandbox, started on first use (its own process, or thread in tests).

        It answers only the random token its host makes up (see ``sandbox.host``): another
        local program cannot read or change this workspace's prompts through it.
        """
        with self._sandbox_lock:
            if self._sandbox is None:
                from batcher_gui.sandbox import SandboxConfig
                from batcher_gui.sandbox.host import SandboxProcess

                config = self._sandbox_config or SandboxConfig(
                    steps_per_poll=1, step_seconds=BUILTIN_SANDBOX_STEP_SECONDS)
                host = self._sandbox_host or SandboxProcess
                self._sandbox = host(self.paths.sandbox_dir, config)
            url: str = self._sandbox.start()
            return url

    def stop_sandbox(self) -> None:
        """Blocking: the built-in sandbox ends (if it was started)."""
        if self._sandbox is not None:
            self._sandbox.stop()

    async def test(self, profile: Profile, key: str | None = None) -> ConnectionVerdict:
        """One cheap authenticated call (list one batch) with the profile's key, or ``key``.

        Never raises for the provider's answer: the verdict says whether it works, the key was
        refused, or the server could not be reached, in words for the user.
        """
        from batcher_gui.domain.remote import PermanentError, RetryLater
        from batcher_gui.providers import make_provider

        KNOWN_SECRETS.remember(key)  # a key typed in but not stored yet: masked all the same
        loop = asyncio.get_running_loop()
        try:
            if key is None or profile.is_builtin_sandbox:
                provider = await loop.run_in_executor(None, self.make, profile)
            else:
                provider = await loop.run_in_executor(None, functools.partial(
                    make_provider, profile, key, max_retries=0, timeout=15,
                    options=profile.options))
        except MissingApiKey as exc:
            return ConnectionVerdict(False, "no key", mask(str(exc)))
        except BatcherError as exc:
            return ConnectionVerdict(False, "error", mask(str(exc)))
        try:
            async for _ in provider.list_batches(page_size=1):
                break
        except PermanentError as exc:
            kind = "key refused" if exc.status in (401, 403) else "error"
            return ConnectionVerdict(False, kind, mask(str(exc)))
        except RetryLater as exc:
            return ConnectionVerdict(False, "unreachable", mask(str(exc)))
        finally:
            await provider.close()
        return ConnectionVerdict(True, "works", f"{profile.name}: the provider accepted the key")
