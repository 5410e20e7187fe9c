"""API keys: the OS keyring (the only module that imports ``keyring``) and key resolution.

Keys are never logged, never put in a repr, and never taken from the command line (argv is
visible to other users via ``ps`` and lands in shell history).
"""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TextIO

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.secrecy import KNOWN_SECRETS

if TYPE_CHECKING:  # keyring takes a tenth of a second to import: only when a key is used
    from keyring.backend import KeyringBackend
from batcher_gui.domain.models import BUILTIN_SANDBOX_URL, Profile, ProfileKind

log = logging.getLogger(__name__)

SERVICE = "batcher-gui"
#: ``Profile.base_url`` of the built-in sandbox, which needs no key from the user.
SANDBOX_BASE_URL = BUILTIN_SANDBOX_URL
#: What "the sandbox's key" resolves to: a placeholder meaning "none needed". The sandbox
#: itself refuses it: it answers only the random token of the Batcher process that started it.
SANDBOX_KEY = "sandbox"
OPENAI_KEY_ENV = "OPENAI_API_KEY"
ANTHROPIC_KEY_ENV = "ANTHROPIC_API_KEY"
#: The variable a profile of each kind reads when nothing else holds its key (as the
#: providers' own SDKs do); other kinds have none (a Groq key is no OpenAI key).
DEFAULT_KEY_ENVS: dict[ProfileKind, str] = {ProfileKind.OPENAI: OPENAI_KEY_ENV,
                                            ProfileKind.ANTHROPIC: ANTHROPIC_KEY_ENV}
#: Longest key accepted from stdin; real keys are ~200 characters.
MAX_KEY_CHARS = 4096

_ENV_HINT = (
    "Keep the key in an environment variable instead: export it (e.g. `export MY_KEY=...`) "
    "and create the profile with `batcher profile add NAME --key-env MY_KEY`; for OpenAI "
    f"profiles {OPENAI_KEY_ENV} also works, for Anthropic (Claude) ones {ANTHROPIC_KEY_ENV}."
)


# _KEYRING_FAILURES: besides keyring.errors.* (NoKeyringError, KeyringLocked, InitError...),
# backends leak their own failures (secretstorage/D-Bus exceptions when the daemon goes away,
# OSError...). All of them mean "no usable keyring" here, hence the broad excepts below.


class SecretStoreUnavailable(BatcherError):
    """There is no usable OS keyring to store or delete a key in."""


class MissingApiKey(BatcherError):
    """No key could be found for a profile."""


class InvalidApiKey(BatcherError):
    """A key given by the user is empty or malformed."""


def keyring_problem(exc: BaseException) -> str:
    """Why the OS keyring cannot be used, in words people read (never an exception's class
    name: that goes to the debug log). Each says "no OS keyring"."""
    import keyring.errors

    if isinstance(exc, keyring.errors.NoKeyringError):
        return "no OS keyring is available on this system"
    if isinstance(exc, keyring.errors.KeyringLocked):
        return "no OS keyring can be used: it is locked"
    if isinstance(exc, keyring.errors.InitError):
        return "no OS keyring can be used: it could not be opened"
    return "no OS keyring can be used: it did not answer"


def _unavailable(store: SecretStore, action: str, exc: BaseException) -> SecretStoreUnavailable:
    store.unavailable_reason = keyring_problem(exc)
    log.debug("keyring unavailable to %s a key: %s", action, type(exc).__name__)
    return SecretStoreUnavailable(
        f"Cannot {action} the API key: {store.unavailable_reason}. {_ENV_HINT}")


def validate_key(key: str) -> str:
    """The key without surrounding whitespace; raises InvalidApiKey if it cannot be a key."""
    key = key.strip()
    if not key:
        raise InvalidApiKey("The API key is empty.")
    if len(key) > MAX_KEY_CHARS:
        raise InvalidApiKey(f"The API key is too long (more than {MAX_KEY_CHARS} characters).")
    if any(ch.isspace() for ch in key):
        raise InvalidApiKey("The API key contains whitespace (was more than one line given?).")
    if not key.isprintable():
        raise InvalidApiKey("The API key contains control characters.")
    return key


class SecretStore:
    """API keys in the OS keyring: service ``batcher-gui``, user name = profile name.

    Args:
        backend: a keyring backend to use instead of the platform default (tests).
    """

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend
        #: why the keyring last failed, in words for error messages (see keyring_problem).
        self.unavailable_reason: str | None = None

    def _keyring(self) -> KeyringBackend:
        # Resolved per call: keyring picks (and caches) its default lazily.
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    def __repr__(self) -> str:
        backend = type(self._backend).__qualname__ if self._backend is not None else "default"
        return f"SecretStore(service={SERVICE!r}, backend={backend})"

    def get(self, profile_name: str) -> str | None:
        """The stored key, or None when there is none or no keyring is usable."""
        try:
            key = self._keyring().get_password(SERVICE, profile_name)
        except Exception as exc:  # see _KEYRING_FAILURES
            # Expected on headless machines: the caller falls back to environment variables.
            self.unavailable_reason = keyring_problem(exc)
            log.debug("keyring unavailable for reading: %s", type(exc).__name__)
            return None
        self.unavailable_reason = None
        KNOWN_SECRETS.remember(key)  # masked wherever a provider or an exception echoes it
        return key or None

    def set(self, profile_name: str, key: str) -> None:
        """Store ``key`` for the profile (replacing any). Raises SecretStoreUnavailable."""
        if not profile_name:
            raise ValueError("profile name is empty")
        key = validate_key(key)
        KNOWN_SECRETS.remember(key)
        try:
            self._keyring().set_password(SERVICE, profile_name, key)
        except Exception as exc:  # see _KEYRING_FAILURES
            raise _unavailable(self, "store", exc) from None  # keep frames holding the key out
        log.debug("stored API key for profile %r", profile_name)

    def delete(self, profile_name: str) -> bool:
        """Forget the profile's key; False if there was none. Raises SecretStoreUnavailable."""
        import keyring.errors

        try:
            self._keyring().delete_password(SERVICE, profile_name)
        except keyring.errors.PasswordDeleteError:
            # Backends raise this for "no such entry" (a locked keyring raises KeyringLocked).
            return False
        except Exception as exc:  # see _KEYRING_FAILURES
            raise _unavailable(self, "delete", exc) from exc
        log.debug("deleted API key for profile %r", profile_name)
        return True


def is_sandbox(profile: Profile) -> bool:
    return profile.is_builtin_sandbox


def resolve_api_key(
    profile: Profile, secrets: SecretStore, env: Mapping[str, str] = os.environ
) -> str:
    """The key to use for ``profile``.

    Order: the built-in sandbox needs none; the keyring entry for the profile; the
    environment variable the profile names (``key_env``); ``OPENAI_API_KEY`` for
    ``openai`` profiles, ``ANTHROPIC_API_KEY`` for ``anthropic`` ones. Raises MissingApiKey
    saying how to provide one.
    """
    if is_sandbox(profile):
        # Checked first so the sandbox never touches the keyring (which may prompt or hang).
        return SANDBOX_KEY
    key = secrets.get(profile.name)
    if key:
        return key
    for var in _key_variables(profile):
        value = env.get(var, "").strip()
        if value:
            KNOWN_SECRETS.remember(value)
            return value
    raise MissingApiKey(_missing_message(profile, secrets))


def default_key_env(kind: ProfileKind) -> str | None:
    """The variable every profile of ``kind`` reads (after its own), or None."""
    return DEFAULT_KEY_ENVS.get(ProfileKind(kind))


def _key_variables(profile: Profile) -> list[str]:
    """The environment variables that may hold the profile's key, in the order tried."""
    names = [profile.key_env] if profile.key_env else []
    default = default_key_env(profile.kind)
    if default and default not in names:
        names.append(default)
    return names


def remember_environment_keys(profiles: Iterable[Profile],
                              env: Mapping[str, str] = os.environ) -> None:
    """Know the keys the profiles' environment variables hold (and ``OPENAI_API_KEY``,
    ``ANTHROPIC_API_KEY``), so that text echoing any of them is masked even before a profile
    is used. The keyring is not read here (it may prompt or hang): its keys are known as they
    are read."""
    names = set(DEFAULT_KEY_ENVS.values())
    for profile in profiles:
        names.update(_key_variables(profile))
    for name in names:
        KNOWN_SECRETS.remember(env.get(name, "").strip())


def _missing_message(profile: Profile, secrets: SecretStore) -> str:
    name = profile.name
    ways = [f"store it in the OS keyring: `batcher keys set {name}` (reads the key from stdin)"]
    if profile.key_env:
        ways.append(f"set the environment variable {profile.key_env} (this profile reads it)")
    else:
        ways.append(f"keep it in an environment variable and point the profile at it: "
                    f"`batcher profile edit {name} --key-env VAR`")
    default = default_key_env(profile.kind)
    if default and default != profile.key_env:
        ways.append(f"set {default}")
    text = f"No API key for profile '{name}'. Provide one:\n" + "\n".join(
        f"  - {way}" for way in ways
    )
    reason = secrets.unavailable_reason
    if reason:
        text += f"\n({reason[:1].upper()}{reason[1:]}; use an environment variable.)"
    return text


def read_key_interactively(stdin: TextIO) -> str:
    """Read a key: hidden prompt on a terminal, else the whole piped input (stripped).

    Raises InvalidApiKey for an empty key or one containing whitespace.
    """
    if stdin.isatty():
        try:
            raw = getpass.getpass("API key (input hidden): ")
        except EOFError:
            raw = ""
    else:
        raw = stdin.read(MAX_KEY_CHARS + 2)  # +2: room for a trailing newline, then "too long"
    return validate_key(raw)
