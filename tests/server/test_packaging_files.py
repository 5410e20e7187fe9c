"""The container image and the systemd user unit of ``batcher serve``.

Docker's daemon does not run on the machines the tests run on here, so the Dockerfile is read
and its parts are run where they can be: its install filter on the real pyproject.toml, its
CMD through the real argument parser, its HEALTHCHECK against a live ``batcher serve``. Where a
daemon answers, the image is built and smoke-tested for real. The unit is checked by
``systemd-analyze verify``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batcher_gui.cli.main import build_parser
from batcher_gui.domain.errors import InvalidInput
from tests.cli.conftest import BATCHER
from tests.conftest import REPO
from tests.server.conftest import StartServe, Workspace

DOCKERFILE = REPO / "packaging" / "Dockerfile"
UNIT = REPO / "packaging" / "systemd" / "batcher-serve.service"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        found.append((keyword.upper(), rest.strip()))
        pending = ""
    return found


def only(keyword: str) -> str:
    [value] = [rest for kw, rest in instructions() if kw == keyword]
    return value


def test_the_image_is_slim_non_root_with_a_data_volume_and_a_health_check() -> None:
    steps = instructions()
    keywords = [kw for kw, _ in steps]
    assert re.fullmatch(r"python:3\.1[1-9]-slim", only("FROM"))
    user = only("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    # Nothing runs as root after the switch; the process itself runs as that user.
    assert "RUN" not in keywords[keywords.index("USER"):]
    assert only("VOLUME") in ("/data", '["/data"]')
    envs = " ".join(rest for kw, rest in steps if kw == "ENV")
    assert "BATCHER_HOME=/data" in envs
    assert only("EXPOSE") == "9187"
    assert only("STOPSIGNAL") == "SIGTERM"
    health = only("HEALTHCHECK")
    assert health.startswith("--") and " CMD " in health and "/healthz" in health
    # Exec form: SIGTERM reaches batcher, not a shell in front of it.
    assert json.loads(only("CMD")) == ["batcher", "serve", "--listen", "0.0.0.0:9187",
                                       "--listen-public"]
    for kw, rest in steps:
        if kw == "COPY":
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source


def test_the_images_command_parses_and_its_address_is_allowed() -> None:
    argv = json.loads(only("CMD"))[1:]
    args = build_parser().parse_args(argv)
    assert args.command == "serve" and args.listen_public
    args.check_args(args)  # would raise InvalidInput without --listen-public
    without = build_parser().parse_args(argv[:-1])
    with pytest.raises(InvalidInput, match="--listen-public"):
        without.check_args(without)


def test_the_image_installs_every_dependency_but_the_windows(tmp_path: Path) -> None:
    run = next(rest for kw, rest in instructions() if kw == "RUN" and "tomllib" in rest)
    command = shlex.split(run.split(">", 1)[0])
    assert command[:2] == ["python", "-c"]
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    out = subprocess.run([sys.executable, "-c", command[2]], cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout.split()
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.lower().startswith(("pyside6", "qasync")) for d in out)
    assert sorted(out) == sorted(d for d in declared
                                 if not d.lower().startswith(("pyside6", "qasync")))
    assert any(d.startswith("prometheus_client") for d in out)


def test_the_health_check_command_passes_on_a_live_serve_and_fails_without(
        tmp_path: Path, serve: StartServe) -> None:
    health = json.loads(only("HEALTHCHECK").split(" CMD ", 1)[1])
    served = serve(Workspace(tmp_path / "ws", None))
    port = served.url.rsplit(":", 1)[1]
    command = [sys.executable if part == "python" else part.replace("9187", port)
               for part in health]
    assert subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    assert served.stop() == 0
    assert subprocess.run(command, capture_output=True, timeout=30).returncode != 0


def unit_settings() -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), value.strip())
    return settings


def test_the_user_unit_runs_serve_and_stops_it_with_sigterm() -> None:
    unit = unit_settings()
    assert unit["ExecStart"].startswith("%h/.local/bin/batcher serve")
    assert unit["Restart"] == "on-failure" and unit["KillSignal"] == "SIGTERM"
    assert unit["WantedBy"] == "default.target"  # a user unit: no multi-user.target
    assert "BATCHER_DATABASE_URL" in UNIT.read_text()
    assert unit["RestartPreventExitStatus"] == "2"  # a user mistake is not retried


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # %h is the home of who runs it: there, ~/.local/bin/batcher is the installed command.
    (tmp_path / ".local" / "bin").mkdir(parents=True)
    (tmp_path / ".local" / "bin" / "batcher").symlink_to(BATCHER)
    done = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True,
                          text=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          timeout=60)
    # It exits 0 even for settings it ignores: any word from it is a problem.
    assert done.returncode == 0 and done.stdout + done.stderr == "", done


def docker_daemon() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not docker_daemon(), reason="no Docker daemon on this machine")
def test_the_image_builds_runs_as_non_root_turns_healthy_and_stops_cleanly() -> None:
    tag = "batcher-serve-test:latest"
    subprocess.run(["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(REPO)],
                   check=True, timeout=1800)
    name = f"batcher-serve-test-{int(time.time())}"
    subprocess.run(["docker", "run", "-d", "--name", name, tag], check=True, timeout=60)
    try:
        uid = subprocess.run(["docker", "exec", name, "id", "-u"], check=True,
                             capture_output=True, text=True, timeout=60).stdout.strip()
        assert uid != "0"
        deadline = time.monotonic() + 180
        status = ""
        while time.monotonic() < deadline and status != "healthy":
            status = subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}",
                                     name], capture_output=True, text=True).stdout.strip()
            time.sleep(2)
        assert status == "healthy"
        subprocess.run(["docker", "stop", "-t", "60", name], check=True, timeout=90)
        code = subprocess.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name],
                              capture_output=True, text=True).stdout.strip()
        assert code == "0"
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stdout
        assert all(json.loads(line)["level"] for line in logs.splitlines() if line)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
