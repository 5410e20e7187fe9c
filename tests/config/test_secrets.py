"""SecretStore and key resolution, with an in-memory keyring (no OS keyring needed)."""

from __future__ import annotations

import io
import logging

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from batcher_gui.config import (
    InvalidApiKey,
    MissingApiKey,
    SecretStore,
    SecretStoreUnavailable,
    read_key_interactively,
    resolve_api_key,
)
from batcher_gui.config.secrets import SERVICE
from batcher_gui.domain.models import Profile, ProfileKind, ProfileLimits
from tests.fakes import MemoryKeyring

KEY = "sk-test-0123456789abcdef"


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password  # type: ignore[assignment]


def profile(name: str = "work", kind: ProfileKind = ProfileKind.OPENAI,
            key_env: str | None = None, base_url: str | None = None) -> Profile:
    return Profile(id=1, name=name, kind=kind, base_url=base_url, key_env=key_env,
                   limits=ProfileLimits())


@pytest.fixture
def memory() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def store(memory: MemoryKeyring) -> SecretStore:
    return SecretStore(backend=memory)


def test_round_trip(store: SecretStore, memory: MemoryKeyring) -> None:
    assert store.get("work") is None
    store.set("work", f"  {KEY}\n")
    assert memory.entries == {(SERVICE, "work"): KEY}
    assert store.get("work") == KEY
    assert store.delete("work") is True
    assert store.get("work") is None
    assert store.delete("work") is False


def test_default_backend_is_the_global_keyring(memory: MemoryKeyring) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(memory)
    try:
        store = SecretStore()
        store.set("p", KEY)
        assert memory.entries[(SERVICE, "p")] == KEY
        assert store.get("p") == KEY
    finally:
        keyring.set_keyring(previous)


def test_repr_hides_the_key(store: SecretStore) -> None:
    store.set("work", KEY)
    assert KEY not in repr(store)
    assert "batcher-gui" in repr(store)


def test_set_rejects_bad_keys(store: SecretStore) -> None:
    for bad in ("", "   ", "sk a", "sk-\x01x", "a" * 5000):
        with pytest.raises(InvalidApiKey):
            store.set("work", bad)


@pytest.mark.parametrize("backend", [fail.Keyring(), LockedKeyring()])
def test_no_keyring(backend: KeyringBackend, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore(backend=backend)
    assert store.get("work") is None
    assert store.unavailable_reason
    with pytest.raises(SecretStoreUnavailable) as err:
        store.set("work", KEY)
    message = str(err.value)
    assert "no OS keyring" in message
    assert "--key-env" in message and "OPENAI_API_KEY" in message
    assert KEY not in message
    with pytest.raises(SecretStoreUnavailable):
        store.delete("work")
    # Only DEBUG: a headless machine is normal, and the key is never logged.
    assert all(r.levelno == logging.DEBUG for r in caplog.records)
    assert not any(KEY in r.getMessage() for r in caplog.records)


def test_resolution_order(store: SecretStore) -> None:
    p = profile(key_env="WORK_KEY")
    env = {"WORK_KEY": "from-env-var", "OPENAI_API_KEY": "from-openai-var"}
    assert resolve_api_key(p, store, env) == "from-env-var"
    store.set("work", KEY)
    assert resolve_api_key(p, store, env) == KEY  # keyring first
    store.delete("work")
    assert resolve_api_key(p, store, {"OPENAI_API_KEY": " from-openai-var\n"}) == "from-openai-var"
    assert resolve_api_key(p, store, {"WORK_KEY": "  ", "OPENAI_API_KEY": "x"}) == "x"


def test_openai_key_env_only_for_openai_profiles(store: SecretStore) -> None:
    compatible = profile(kind=ProfileKind.OPENAI_COMPATIBLE, base_url="http://h/v1")
    with pytest.raises(MissingApiKey) as err:
        resolve_api_key(compatible, store, {"OPENAI_API_KEY": "x"})
    message = str(err.value)
    assert "batcher keys set work" in message
    assert "--key-env" in message
    assert "OPENAI_API_KEY" not in message


def test_missing_key_message(store: SecretStore) -> None:
    with pytest.raises(MissingApiKey) as err:
        resolve_api_key(profile(key_env="WORK_KEY"), store, {})
    message = str(err.value)
    assert "'work'" in message
    assert "batcher keys set work" in message and "stdin" in message
    assert "WORK_KEY" in message
    assert "OPENAI_API_KEY" in message


def test_missing_key_without_keyring_says_so() -> None:
    store = SecretStore(backend=fail.Keyring())
    with pytest.raises(MissingApiKey) as err:
        resolve_api_key(profile(), store, {})
    assert "No OS keyring is available" in str(err.value)
    assert resolve_api_key(profile(), store, {"OPENAI_API_KEY": KEY}) == KEY


def test_sandbox_needs_no_key() -> None:
    store = SecretStore(backend=LockedKeyring())  # never consulted
    sandbox = profile(name="sandbox", kind=ProfileKind.OPENAI_COMPATIBLE,
                      base_url="builtin:sandbox")
    assert resolve_api_key(sandbox, store, {}) == "sandbox"
    assert store.unavailable_reason is None


def test_read_key_from_pipe() -> None:
    assert read_key_interactively(io.StringIO(f"{KEY}\n")) == KEY
    for bad in ("", "\n", "two words\n", "line1\nline2\n"):
        with pytest.raises(InvalidApiKey):
            read_key_interactively(io.StringIO(bad))


def test_read_key_from_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("getpass.getpass", lambda prompt="": f" {KEY} ")
    assert read_key_interactively(Tty()) == KEY
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "")
    with pytest.raises(InvalidApiKey):
        read_key_interactively(Tty())
