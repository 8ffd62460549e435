"""The app as users meet it: a real server process (runserver or gunicorn) and real browsers' posts.

`RunningApp` starts `manage.py runserver` or gunicorn on a free loopback port
with an environment of our own (only the variables a test passes, as on a
fresh machine), waits until it answers, and stops only its own process group.
`signup_storm` fires many signups at once, each from its own loopback source
address (127.0.0.0/8 is all loopback on Linux), so the per-IP rate limit,
which is not what these tests measure, does not turn them into 429s.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import REPO
from tests.digests.conftest import free_port

GUNICORN = Path(sys.executable).with_name("gunicorn")
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def app_env(**variables: str) -> dict[str, str]:
    """This environment minus everything the settings read, plus `variables`."""
    from tests.ops.test_compose import documented_variables, settings_variables

    drop = settings_variables() | documented_variables() | {"DJANGO_SETTINGS_MODULE", "TEST_REDIS_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DJANGO_SETTINGS_MODULE="digest_site.settings", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.update(variables)
    return env


@dataclass
class RunningApp:
    proc: subprocess.Popen
    port: int
    log_path: Path

    @classmethod
    def start(cls, kind: str, env: dict[str, str], log_path: Path, *, workers: int = 2) -> RunningApp:
        port = free_port()
        if kind == "runserver":
            command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
        elif kind == "gunicorn":
            command = [str(GUNICORN), "digest_site.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
                       "-k", "gthread", "--threads", "32", "--keep-alive", "120", "--graceful-timeout", "5"]
        else:
            raise ValueError(kind)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        app = cls(proc, port, log_path)
        app.wait_ready()
        return app

    def log(self, tail: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the app exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.get("/subscribe/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"the app did not answer within {timeout:.0f}s:\n{self.log()}")

    def connect(self, source: str = "127.0.0.1") -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120, source_address=(source, 0))

    def get(self, path: str, *, conn: http.client.HTTPConnection | None = None) -> tuple[int, str, str]:
        """(status, body, the csrftoken cookie it set). On `conn` (kept open) when given."""
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            cookie = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie.load(header)
            csrf = cookie["csrftoken"].value if "csrftoken" in cookie else ""
            return response.status, response.read().decode(errors="replace"), csrf
        finally:
            if own:
                conn.close()

    def post_form(self, conn: http.client.HTTPConnection, path: str, fields: dict[str, str], *,
                  csrf_cookie: str, csrf_field: str) -> int:
        conn.request("POST", path, body=urlencode({**fields, "csrfmiddlewaretoken": csrf_field}), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}",
        })
        response = conn.getresponse()
        response.read()
        return response.status

    def stop(self) -> None:
        """SIGTERM our process group (the server and its workers), then SIGKILL what is left."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # workers of a gunicorn that died first
            os.killpg(self.proc.pid, signal.SIGKILL)


def signup_storm(app: RunningApp, emails: list[str], *, keywords: str = "diffusion, retrieval") -> list[int]:
    """POST /subscribe/ for every address at once; the statuses, in order.

    Each browser opens its connection and loads the form first (a few at a
    time: runserver's listen backlog is 10, and what is measured here is the
    database, not the dev server's accept queue), then a barrier releases all
    the POSTs together on those open keep-alive connections.
    """
    barrier = threading.Barrier(len(emails), timeout=120)
    loading = threading.Semaphore(8)
    run = uuid.uuid4().int % 200

    def one(n: int) -> int:
        # 127.<run>.<n // 250>.<n % 250 + 1>: a source address of its own per signup.
        conn = app.connect(f"127.{run + 1}.{n // 250}.{n % 250 + 1}")
        try:
            with loading:
                status, html, csrf = app.get("/subscribe/", conn=conn)
            token = _CSRF_FIELD.search(html)
            assert status == 200 and token and csrf, f"GET /subscribe/ answered {status}"
            barrier.wait()
            return app.post_form(conn, "/subscribe/", {"email": emails[n], "keywords": keywords, "timezone": "UTC"},
                                 csrf_cookie=csrf, csrf_field=token.group(1))
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=len(emails)) as pool:
        return list(pool.map(one, range(len(emails))))
