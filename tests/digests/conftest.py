"""Real parts for the delivery integration tests: an SMTP sink, Celery worker processes, Redis.

Nothing here is a mock. The sink is aiosmtpd listening on a loopback port; the
workers are `celery -A digest_site worker` processes started with Popen and
pointed at the same test database, a dedicated Redis db (TEST_REDIS_URL) and
the sink (EMAIL_URL=smtp://127.0.0.1:<port>). Every wait is bounded and every
failure message carries the worker's log tail.

The worker process cannot see pytest's in-memory SQLite database, so when the
selected tests include these integration tests and the engine is SQLite, the
test database goes to a file under a tmp dir (see django_db_modify_db_settings
below). If the session's test database was already set up in memory (another
directory's test ran first), the tests skip on a laptop and fail in CI.
"""
from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import REPO, require_service

CELERY = Path(sys.executable).with_name("celery")
WORKER_READY_TIMEOUT = 60.0


# --- database: the worker must see the test database -------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request, tmp_path_factory):
    """Put the SQLite test database in a file when delivery integration tests are selected."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    wanted = any(
        item.get_closest_marker("integration") and "tests/digests/" in item.nodeid.replace("\\", "/")
        for item in request.session.items
    )
    if wanted and db["ENGINE"].endswith("sqlite3"):
        test = db.setdefault("TEST", {})
        if not test.get("NAME"):
            test["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test_digests.sqlite3")


def worker_database_url() -> str:
    """The URL of the database this test process is using (the test database)."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        require_service(
            not connection.is_in_memory_db(),
            "the SQLite test database is in memory, so a worker process cannot see it; "
            "run `pytest tests/digests` on its own or use DATABASE_URL=postgres://...",
        )
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    if s["ENGINE"].endswith("postgresql"):
        user = quote(s.get("USER") or "", safe="")
        password = quote(s.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = s.get("HOST") or "127.0.0.1"
        port = f":{s['PORT']}" if s.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{s['NAME']}"
    pytest.fail(f"unsupported database engine for worker tests: {s['ENGINE']}")


# --- the SMTP sink ------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message the sink accepted (the server has it: it will be delivered)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str
    subject: str
    raw: bytes
    at: float


@dataclass
class Refusal:
    code: int
    stage: str  # "RCPT" or "DATA"
    rcpt_tos: tuple[str, ...]
    at: float


class SinkHandler:
    """aiosmtpd handler that records messages and can be told to refuse some.

    A message is recorded as soon as its DATA is complete, before any reply
    delay: like a real MTA that commits the queue file, then answers 250. So a
    client killed while waiting for the 250 has still delivered that message;
    this is the honest worst case for "no one gets two".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._refusals: list[Refusal] = []
        self.defer_first = 0  # answer 451 at end of DATA for the first N messages
        # Mid-batch refusals: {n: reply} answers the n-th DATA (1-based, counting every DATA
        # received) with that reply instead of queuing the message; a 421 also closes the
        # connection, as a server shutting down or throttling does.
        self.refuse_nth: dict[int, str] = {}
        self._data_seen = 0
        self.reject_rcpt: set[str] = set()  # answer 550 at RCPT for these addresses
        self.reply_delay = 0.0  # seconds to wait before the 250 (a slow server)
        self.pipelining = True  # advertise PIPELINING (RFC 2920) like Postfix; False: one command at a time
        self._parser = email.parser.BytesHeaderParser(policy=email.policy.default)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject_rcpt:
            with self._lock:
                self._refusals.append(Refusal(550, "RCPT", (address,), time.monotonic()))
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        with self._lock:
            self._data_seen += 1
            refusal = self.refuse_nth.get(self._data_seen)
            if refusal:
                self._refusals.append(Refusal(int(refusal[:3]), "DATA", tuple(envelope.rcpt_tos), time.monotonic()))
                if refusal.startswith("421"):
                    asyncio.get_running_loop().call_later(0.01, server.transport.close)
                return refusal
            deferred = sum(1 for r in self._refusals if r.code == 451)
            if deferred < self.defer_first:
                self._refusals.append(Refusal(451, "DATA", tuple(envelope.rcpt_tos), time.monotonic()))
                return "451 4.3.0 Error: queue file write error, try again later"
            headers = self._parser.parsebytes(raw)
            self._messages.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(a.lower() for a in envelope.rcpt_tos),
                    message_id=str(headers.get("Message-ID", "")).strip(),
                    subject=str(headers.get("Subject", "")),
                    raw=raw,
                    at=time.monotonic(),
                )
            )
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 2.0.0 Ok: queued"

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    @property
    def refusals(self) -> list[Refusal]:
        with self._lock:
            return list(self._refusals)


class SmtpSink:
    def __init__(self, handler: SinkHandler, port: int) -> None:
        self.handler = handler
        self.port = port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def recipients(self) -> Counter:
        return Counter(r for m in self.messages for r in m.rcpt_tos)

    def wait_for(self, count: int, *, timeout: float, why: str = "") -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages
            if len(got) >= count:
                return got
            time.sleep(0.05)
        pytest.fail(f"SMTP sink got {len(self.messages)} messages, expected {count} within {timeout:.0f}s {why}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    handler = SinkHandler()
    controller = None
    for _ in range(5):  # the free port can be taken between probe and bind
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
        try:
            controller.start()
            break
        except Exception:
            controller = None
    if controller is None:
        pytest.fail("could not start the aiosmtpd sink on a loopback port")
    try:
        yield SmtpSink(handler, port)
    finally:
        controller.stop()


# --- Redis: a dedicated db, empty before and after -----------------------------------


@pytest.fixture
def broker_url(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield redis_url
    finally:
        client.flushdb()
        client.close()


# --- Celery worker processes ---------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """Direct children of pid, read from /proc (no psutil needed)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: parse after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            children.append(int(entry))
    return children


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class WorkerProcess:
    """One `celery worker` process we started; stopped only by its own PIDs."""

    def __init__(self, *, env: dict, log_path: Path, concurrency: int = 2, name: str | None = None) -> None:
        self.name = name or f"e2-{uuid.uuid4().hex[:8]}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - the worker writes to it until stop() closes it
        self.proc = subprocess.Popen(
            [
                str(CELERY), "-A", "digest_site", "worker", "--pool", "prefork", "-c", str(concurrency),
                "-Q", "celery", "-l", "info", "-n", f"{self.name}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.known_children: set[int] = set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self, tail: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    def wait_ready(self, timeout: float = WORKER_READY_TIMEOUT) -> WorkerProcess:
        deadline = time.monotonic() + timeout
        pattern = re.compile(rf"{re.escape(self.name)}@\S+ ready\.")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"worker {self.name} exited with {self.proc.returncode} before ready:\n{self.log()}")
            if pattern.search(self.log_path.read_text(errors="replace")):
                self.known_children.update(child_pids(self.pid))
                return self
            time.sleep(0.1)
        pytest.fail(f"worker {self.name} not ready within {timeout:.0f}s:\n{self.log()}")

    def children(self) -> list[int]:
        kids = child_pids(self.pid)
        self.known_children.update(kids)
        return kids

    def sigkill(self) -> list[int]:
        """SIGKILL the pool processes, then the main process: a machine dying mid-task."""
        killed = []
        for pid in self.children():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        os.kill(self.pid, signal.SIGKILL)
        killed.append(self.pid)
        self.proc.wait(timeout=10)
        self._reap(timeout=10)
        return killed

    def succeeded(self, task_name: str) -> int:
        """How many runs of the task this worker logged as finished (succeeded, or retry/failure)."""
        return len(re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] (?:succeeded|retry|raised)", self.log(10**6)))

    def stop(self) -> None:
        """Cold shutdown (the tests are over; Redis is flushed), bounded; then SIGKILL what is left of ours."""
        if self.proc.poll() is None:
            self.children()
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in [*self.children(), self.pid]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._reap(timeout=5)
        self._log.close()

    def _reap(self, timeout: float) -> None:
        # Orphaned pool processes notice the parent is gone and exit; make sure.
        deadline = time.monotonic() + timeout
        while any(pid_alive(p) for p in self.known_children) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self.known_children:
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@dataclass
class Delivery:
    """Everything a delivery test needs: the env for our processes, the sink, worker control."""

    env: dict
    sink: SmtpSink
    tmp: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def start_worker(self, *, concurrency: int = 2, wait: bool = True) -> WorkerProcess:
        n = len(self.workers)
        worker = WorkerProcess(env=self.env, log_path=self.tmp / f"worker-{n}.log", concurrency=concurrency)
        self.workers.append(worker)
        return worker.wait_ready() if wait else worker

    def worker_logs(self) -> str:
        return "\n".join(f"--- {w.name} ---\n{w.log()}" for w in self.workers)

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run `manage.py ...` as a user would, with the same env as the workers."""
        try:
            return subprocess.run(
                [sys.executable, "manage.py", *args], cwd=REPO, env=self.env,
                capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"manage.py {' '.join(args)} did not finish in {timeout}s\n{exc.stdout}\n{exc.stderr}\n"
                        f"{self.worker_logs()}")

    def manage_background(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )

    def send_task(self, name: str, *, args=(), kwargs=None) -> None:
        """Put a task on the real broker by name, as beat or another process would."""
        from celery import Celery

        # set_as_current=False: otherwise shared tasks in this test process would bind to this
        # non-eager app and later tests would send to Redis instead of running in-process.
        producer = Celery("e2-producer", broker=self.env["CELERY_BROKER_URL"], set_as_current=False)
        producer.conf.task_serializer = "json"
        try:
            producer.send_task(name, args=list(args), kwargs=kwargs or {})
        finally:
            producer.close()


@pytest.fixture
def delivery(transactional_db, broker_url, smtp_sink, tmp_path):
    """Env + sink + a way to start real workers; every process we start is stopped at teardown."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "digest_site.settings",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_URL": smtp_sink.url,
        "VAR_DIR": str(tmp_path / "var"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    d = Delivery(env=env, sink=smtp_sink, tmp=tmp_path)
    try:
        yield d
    finally:
        for worker in d.workers:
            worker.stop()
