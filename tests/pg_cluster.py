"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` binaries, ``initdb``
into a temporary folder, a free loopback port, stopped and removed at the end of the session.

Each test gets a database of its own, copied from a template that was migrated once (a copy
takes a few tens of milliseconds; running the migrations, a second).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: ``make test`` sets this: a missing PostgreSQL fails the tests instead of skipping them.
REQUIRED_VARIABLE = "BATCHER_TEST_POSTGRES"
USER = "batcher"
TEMPLATE = "batcher_template"


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian keeps them out of PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One running server (see the module docstring)."""

    def __init__(self) -> None:
        bindir = find_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="batcher-pg-"))
        self.port = _free_port()
        # initdb refuses to run as root: the server then runs as Debian's postgres user.
        self.run_as = "postgres" if os.geteuid() == 0 else None
        if self.run_as:
            shutil.chown(self.base, self.run_as)
        self._names = itertools.count(1)
        self._start()

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)

    def _start(self) -> None:
        data = self.base / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", USER, "--no-sync",
                  "-E", "UTF8", "--locale=C")
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=400 -c shared_buffers=64MB")
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.base / "log"),
                  "-w", "-t", "60", "start")
        self._admin(f"CREATE DATABASE {TEMPLATE}")
        from batcher_gui.storage.db import Database

        Database.open_url(self.url(TEMPLATE), self.base / "template.local").close()

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        """A fresh, migrated workspace database; its URL."""
        name = f"ws_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)
