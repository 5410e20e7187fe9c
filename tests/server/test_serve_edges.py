"""``batcher serve`` at its edges: a database that goes away (503), addresses that would
answer other machines (refused unless asked for), secrets never in the log, the intake hook."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import subprocess
from pathlib import Path

import pytest

from batcher_gui.server.logs import JsonFormatter, log_to_stdout
from tests.cli.conftest import BATCHER
from tests.pg_cluster import USER, PgCluster
from tests.server.conftest import ENV, StartServe, Workspace, http_get, wait_until

PASSWORD = "Sup3r-secret-pw"


def test_healthz_says_503_when_the_database_goes_away(tmp_path: Path, pg_cluster: PgCluster,
                                                      serve: StartServe) -> None:
    url = pg_cluster.new_database()
    with_password = url.replace(f"{USER}@", f"{USER}:{PASSWORD}@")  # trust auth ignores it
    served = serve(Workspace(tmp_path / "machine-a", with_password))
    shown = url.replace(f"{USER}@", f"{USER}:***@")
    assert served.find(event="listening")["workspace"] == shown
    wait_until("driving", lambda: served.find(event="engine", state="driving"))
    health = served.health()
    assert health["status"] == "ok" and health["database"]["name"] == shown

    pg_cluster.drop_database(url)  # WITH (FORCE): every connection of serve is cut
    status, content_type, body = served.get("/healthz")
    assert status == 503 and content_type.startswith("application/json")
    health = json.loads(body)
    assert health["status"] == "unavailable"
    assert health["database"]["reachable"] is False and health["database"]["error"]
    status, _type, body = served.get("/metrics")
    assert status == 200 and "batcher_database_up 0.0" in body
    assert "batcher_prompts" not in body  # no counts without the database
    served.stop()
    everything = "\n".join(map(str, served.lines)) + served.stderr
    assert PASSWORD not in everything and "Traceback" not in served.stderr
    assert served.bad_lines == []


@pytest.mark.parametrize(("args", "said"), [
    (("--listen", "0.0.0.0:9187"), "give --listen-public as well"),
    (("--listen", "192.0.2.7:9187"), "is not a loopback address"),
    (("--listen", "example.com:80"), "is not a loopback address"),
    (("--listen", "127.0.0.1"), "--listen takes HOST:PORT"),
    (("--listen", "127.0.0.1:99999"), "the port must be a number from 0 to 65535"),
    (("--listen", "[::1:9187"), "--listen takes HOST:PORT"),
    (("--intake", "0.0.0.0:8080"), "give --intake-public as well"),
])
def test_bad_or_public_addresses_are_refused_before_anything_is_made(
        tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    ws = tmp_path / "ws"
    done = subprocess.run([BATCHER, "--data-dir", str(ws), "serve", *args],
                          capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 2, done
    assert said in done.stderr and "Traceback" not in done.stderr
    assert not ws.exists()  # refused before the workspace was opened


def test_a_taken_port_is_explained(tmp_path: Path, serve: StartServe) -> None:
    first = serve(Workspace(tmp_path / "a", None))
    port = first.url.rsplit(":", 1)[1]
    done = subprocess.run([BATCHER, "--data-dir", str(tmp_path / "b"), "serve", "--listen",
                           f"127.0.0.1:{port}"], capture_output=True, text=True, env=ENV,
                          timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in done.stderr
    assert first.stop() == 0


def test_public_listen_when_asked_and_text_logs(tmp_path: Path, serve: StartServe) -> None:
    served = serve(Workspace(tmp_path / "ws", None), "--listen", "0.0.0.0:0",
                   "--listen-public", "--log-format", "json")
    port = served.url.rsplit(":", 1)[1]
    assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    assert served.stop() == 0
    done = subprocess.Popen([BATCHER, "--data-dir", str(tmp_path / "ws"), "serve", "--listen",
                             "127.0.0.1:0", "--log-format", "text"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    assert done.stdout is not None
    first = done.stdout.readline()
    assert " INFO batcher_gui.serve: serving the workspace " in first, first
    done.terminate()
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0 and "Traceback" not in err and "stopped" in out


@pytest.mark.expect_log  # the error record below is the point
def test_json_lines_mask_secrets_in_messages_fields_and_tracebacks() -> None:
    key = "sk-proj-" + "A1b2C3d4" * 5
    stream = io.StringIO()
    handler = log_to_stdout("json", stream=stream)
    try:
        log = logging.getLogger("batcher_gui.serve.test")
        log.info("sent with %s", key, extra={"event": "notice", "detail": f"Bearer {key}",
                                             "batch_id": 7})
        try:
            raise RuntimeError(f"provider said: Incorrect API key provided: {key}")
        except RuntimeError:
            log.exception("it failed\non two lines")
        logging.getLogger("batcher_gui.engine.x").info("quiet unless verbose")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # one line a record, newlines escaped; INFO of others filtered
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "notice" and first["batch_id"] == 7 and first["level"] == "info"
    assert first["logger"] == "batcher_gui.serve.test" and first["time"].endswith("Z")
    assert second["level"] == "error" and second["message"] == "it failed\non two lines"
    assert "RuntimeError" in second["exc"]
    assert key not in stream.getvalue() and "…" in first["message"] + first["detail"]


def test_json_formatter_keeps_unusual_values_as_text() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "m %s", ("a",), None)
    record.path = Path("/tmp/x")
    record.count = 3
    line = json.loads(JsonFormatter().format(record))
    assert line["path"] == "/tmp/x" and line["count"] == 3 and line["message"] == "m a"


@pytest.mark.skipif(importlib.util.find_spec("batcher_gui.server.intake") is None,
                    reason="the intake API (server/intake.py) is another branch's")
def test_intake_runs_beside_the_engine_and_stops_first(tmp_path: Path,
                                                       serve: StartServe) -> None:
    served = serve(Workspace(tmp_path / "ws", None), "--intake", "127.0.0.1:0")
    intake = wait_until("the intake line", lambda: served.find(event="intake_listening"))
    status, _type, _body = http_get(intake["url"] + "/api/requests/x")
    assert status == 401  # a token is needed
    assert served.stop() == 0
    events = [line.get("event") for line in served.lines]
    assert events.index("intake_listening") < events.index("stopping")
