"""Private Redis and PostgreSQL servers that a fault test may stop and restart.

The machine's own PostgreSQL (5432) and Redis (6379) are shared with other
people and CI: a test must never stop them. These start their own server on a
free loopback port, in a temporary directory, and stop only the process they
started. Without the binaries a test skips on a laptop and fails under CI=true.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import port_open, require_service
from tests.digests.conftest import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class RedisServer:
    """`redis-server` on a free port, no persistence: stop() and start() again on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        require_service(binary is not None, "redis-server not installed")
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self.proc: subprocess.Popen | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        with open(self.workdir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start:\n{(self.workdir / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb, trust auth) run as the postgres user on a free port.

    Its files live in a directory of its own under the system temp dir (the
    postgres user cannot enter pytest's private tmp_path), removed by stop().
    """

    def __init__(self) -> None:
        require_service((PG_BIN / "initdb").exists() and shutil.which("runuser") is not None,
                        f"PostgreSQL server binaries not found in {PG_BIN}")
        require_service(os.geteuid() == 0, "a private PostgreSQL cluster needs root (to run it as postgres)")
        self.workdir, self.port = Path(tempfile.mkdtemp(prefix="digest-fault-pg-")), free_port()
        self.data = self.workdir / "pgdata"
        shutil.chown(self.workdir, "postgres", "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], timeout=120)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, command: list[str], timeout: float = 60) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                              timeout=timeout, cwd=self.workdir)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command[:2])} failed:\n{done.stdout}\n{done.stderr}")

    def _pg_ctl(self, *args: str) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.workdir / "pg.log"),
                           "-w", "-t", "60", *args])

    def start(self) -> PostgresCluster:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "start")
        return self

    def restart(self) -> None:
        """A fast shutdown (every session is terminated, as in a failover or an upgrade) and a start."""
        self._pg_ctl("-m", "fast", "stop")
        self.start()

    def stop(self) -> None:
        """Stop our server (only the one pg_ctl started from our data directory) and remove its files."""
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.workdir / "pg.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""
