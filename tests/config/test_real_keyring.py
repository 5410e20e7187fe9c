"""SecretStore against a real Secret Service (gnome-keyring in a private D-Bus session).

Runs a child process so that the keyring daemon, the session bus and HOME are all private to
the test and go away with it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from batcher_gui.config.secrets import SERVICE
from tests.real_keyring import run_with_keyring

CHILD = textwrap.dedent(
    """
    import json, keyring
    from batcher_gui.config import SecretStore, SecretStoreUnavailable

    store = SecretStore()
    out = {"backend": type(keyring.get_keyring()).__module__}
    out["before"] = store.get("kr-profile")
    store.set("kr-profile", "sk-real-keyring-123")
    out["after_set"] = store.get("kr-profile")
    out["raw"] = keyring.get_password(%(service)r, "kr-profile")
    store.set("kr-profile", "sk-replaced-456")
    out["after_replace"] = store.get("kr-profile")
    out["deleted"] = store.delete("kr-profile")
    out["after_delete"] = store.get("kr-profile")
    out["deleted_again"] = store.delete("kr-profile")
    print("RESULT " + json.dumps(out))
    """
) % {"service": SERVICE}


@pytest.mark.keyring
def test_secret_service_round_trip(tmp_path: Path) -> None:
    out, home = run_with_keyring(tmp_path, CHILD)
    assert out == {
        "backend": "keyring.backends.SecretService",
        "before": None,
        "after_set": "sk-real-keyring-123",
        "raw": "sk-real-keyring-123",
        "after_replace": "sk-replaced-456",
        "deleted": True,
        "after_delete": None,
        "deleted_again": False,
    }
    # The secret lives in the private HOME's keyring file, not in the real user's.
    assert any((home / ".local" / "share" / "keyrings").iterdir())
