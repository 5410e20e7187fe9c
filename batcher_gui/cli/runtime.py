"""Composition for engine commands: workspace, keys, providers, the built-in sandbox, the engine."""

from __future__ import annotations

import logging
from types import TracebackType

from batcher_gui.config import SecretStore, is_sandbox, resolve_api_key
from batcher_gui.domain.models import Profile
from batcher_gui.domain.remote import Provider
from batcher_gui.engine.engine import Engine
from batcher_gui.engine.events import EngineEvent, Listener
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.paths import WorkspacePaths
from batcher_gui.providers import make_provider
from batcher_gui.sandbox import SandboxConfig, SandboxServer
from batcher_gui.storage import Store

log = logging.getLogger(__name__)

#: The built-in sandbox moves one status step per poll and one every 2 s of wall time, so a
#: batch also advances while Batcher is closed (like a real provider).
BUILTIN_SANDBOX = SandboxConfig(steps_per_poll=1, step_seconds=2.0)


class Runtime:
    """Everything an engine command needs, started and stopped together (async with)."""

    def __init__(self, store: Store, paths: WorkspacePaths, *,
                 secrets: SecretStore | None = None, settings: EngineSettings | None = None,
                 listener: Listener | None = None) -> None:
        self.store = store
        self.paths = paths
        self.secrets = secrets or SecretStore()
        self.settings = settings or EngineSettings.from_store_values(self._settings_values())
        self.listener = listener or _log_event
        self.sandbox: SandboxServer | None = None
        self.engine = Engine(store, self.provider_for, paths.batches_dir, paths.results_dir,
                             self.settings, self.listener)

    def _settings_values(self) -> dict[str, object]:
        keys = ("poll_interval_seconds", "auto_seal_quiet_seconds", "max_prompt_attempts",
                "cleanup_provider_files", "token_limit_backoff_seconds")
        return {k: v for k in keys if (v := self.store.get_setting(k)) is not None}

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.engine.close()
        if self.sandbox is not None:
            await self.sandbox.stop()

    async def start_sandbox(self) -> str:
        if self.sandbox is None:
            self.sandbox = SandboxServer(self.paths.sandbox_dir, BUILTIN_SANDBOX)
            await self.sandbox.start()
        return self.sandbox.base_url

    def provider_for(self, profile: Profile) -> Provider:
        key = resolve_api_key(profile, self.secrets)
        if is_sandbox(profile):
            if self.sandbox is None:
                raise RuntimeError("the built-in sandbox must be started before use")
            return make_provider(profile, key, base_url=self.sandbox.base_url)
        return make_provider(profile, key)

    def uses_builtin_sandbox(self) -> bool:
        return any(is_sandbox(p) for p in self.store.list_profiles()
                   if self._profile_in_use(p))

    def _profile_in_use(self, profile: Profile) -> bool:
        with self.store.db.read() as conn:
            return conn.exec_driver_sql(
                "SELECT 1 FROM batches WHERE profile_id = ? AND state NOT IN "
                "('completed', 'expired', 'cancelled') OR (profile_id = ? AND intent IS NOT "
                "NULL) LIMIT 1", (profile.id, profile.id)).first() is not None


def _log_event(event: EngineEvent) -> None:
    log.info("%s", event)

