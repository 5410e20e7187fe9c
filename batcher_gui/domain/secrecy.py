"""Masking API keys in text that came from a provider or an exception.

A provider may echo the key it was given ("Incorrect API key provided: Bearer sk-...") and an
exception may carry a request's headers. Such text is masked before it is stored, logged or
shown: every key Batcher knows (:data:`KNOWN_SECRETS`, filled where keys are read) and
whatever looks like a key (``sk-...``, ``Bearer <token>``, an ``Authorization``/``api-key``
value), and a password in a URL. A key is shown as OpenAI's dashboard shows it: its prefix,
an ellipsis and its last four characters (``sk-proj-…abcd``), enough to tell keys apart and
useless to anyone else.

Pure functions plus one in-memory registry: no I/O.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

ELLIPSIS = "…"
#: Known prefixes, longest first: kept when a key is shown.
_PREFIXES = ("sk-ant-api03-", "sk-ant-admin01-", "sk-svcacct-", "sk-admin-", "sk-proj-",
             "sk-ant-", "sk-", "btk_")
#: A known secret shorter than this is not looked for (a short value would mask ordinary text).
MIN_SECRET_CHARS = 8
#: The last four characters are shown only when at least this many are hidden.
_HIDDEN_AT_LEAST = 12

# ``sk-`` at the start of a word and 20+ key characters: "risk-free" and "task-1" are not
# keys (no word start before "sk-"; too short).
_SK_KEY = re.compile(r"(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{20,}")
# An intake API token (``batcher intake token create``): ``btk_`` and 43 URL-safe characters.
_INTAKE_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-])btk_[A-Za-z0-9_\-]{20,}")
# A bearer token: 12+ token characters, at least one a digit ("Bearer YOUR_KEY", "Bearer
# authentication" are words, not tokens).
_BEARER = re.compile(r"(?<![A-Za-z])(Bearer|Basic|Token)(\s+)(?=[^\s\"',;]*\d)"
                     r"([A-Za-z0-9._~+/=\-]{12,})")
# The value of a header or field that holds a key: ``Authorization: xyz``,
# ``"api-key": "xyz"``, ``x-api-key=xyz``.
_FIELD = re.compile(r"(?i)(?<![A-Za-z0-9_\-])(authorization|x-api-key|api[-_]?key)"
                    r"([\"']?\s*[:=]\s*[\"']?)(?!(?:bearer|basic|token)\s)"
                    r"([^\s\"',;{}\[\]" + ELLIPSIS + r"]{8,})(?![^\s\"',;{}\[\]]*" + ELLIPSIS
                    + r")")


# The password in a URL's user part: ``postgres://user:password@host/db``.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/:@]*:)([^\s/]*)@")
HIDDEN_PASSWORD = "***"


def hide_url_password(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: m.group(1) + HIDDEN_PASSWORD + "@", text)


def show_key(key: str) -> str:
    """A key as it may be shown: ``sk-proj-…abcd`` (prefix, ellipsis, last four)."""
    prefix = next((p for p in _PREFIXES if key.startswith(p)), "")
    hidden = len(key) - len(prefix)
    return prefix + ELLIPSIS + (key[-4:] if hidden >= _HIDDEN_AT_LEAST + 4 else "")


def mask_secrets(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every known secret, every key-shaped string and every password in a
    URL shown masked.

    Idempotent: masking a masked text changes nothing.
    """
    for secret in sorted({s for s in known if len(s) >= MIN_SECRET_CHARS}, key=len,
                         reverse=True):
        if secret in text:
            text = text.replace(secret, show_key(secret))
    if "sk-" in text:
        text = _SK_KEY.sub(lambda m: show_key(m.group(0)), text)
    if "btk_" in text:
        text = _INTAKE_TOKEN.sub(lambda m: show_key(m.group(0)), text)
    if "://" in text:
        text = hide_url_password(text)
    text = _BEARER.sub(lambda m: m.group(1) + m.group(2) + show_key(m.group(3)), text)
    return _FIELD.sub(lambda m: m.group(1) + m.group(2) + show_key(m.group(3)), text)


class SecretRegistry:
    """The keys this process has read (keyring, environment): thread-safe, only grows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def remember(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET_CHARS and secret not in self._secrets:
            with self._lock:
                self._secrets = self._secrets | {secret}

    def __contains__(self, secret: object) -> bool:
        return secret in self._secrets

    def mask(self, text: str) -> str:
        """``text`` masked for these secrets and for key-shaped strings."""
        return mask_secrets(text, self._secrets)


#: Every key read in this process (see :mod:`batcher_gui.config.secrets`).
KNOWN_SECRETS = SecretRegistry()


def mask(text: str) -> str:
    """``text`` masked for every key this process knows and for key-shaped strings."""
    return KNOWN_SECRETS.mask(text)


def mask_optional(text: str | None) -> str | None:
    return None if text is None else KNOWN_SECRETS.mask(text)
