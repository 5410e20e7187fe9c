"""SecretStore against a real Secret Service (gnome-keyring in a private D-Bus session).

Runs a child process so that the keyring daemon, the session bus and HOME are all private to
the test and go away with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from batcher_gui.config.secrets import SERVICE

REPO = Path(__file__).resolve().parents[2]

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
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon")
               if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"real keyring test needs {' and '.join(missing)} "
                    "(Debian packages dbus-daemon, gnome-keyring; `make sysdeps` installs them)")
    home = tmp_path / "home"
    home.mkdir()
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DBUS_", "XDG_", "PYTHON_KEYRING", "GNOME_KEYRING"))}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), LANG="C.UTF-8")
    script = ("echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
              f"exec {sys.executable} {child}")
    result = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout + result.stderr
    out = json.loads(lines[-1][len("RESULT "):])
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
