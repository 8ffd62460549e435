"""/healthz: 200 when the database and the broker answer, 503 naming what failed."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from digest_site.health import probe

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_is_ok_in_the_embedded_mode(client, settings):
    settings.CELERY_BROKER_URL = None
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_it_checks_a_real_broker_and_cache(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    settings.REDIS_URL = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "cache": "ok"}


def test_it_says_503_and_names_an_unreachable_broker(client, settings, caplog):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    # The reason is logged for the operator, not shown to the public.
    assert "check=broker status=fail" in caplog.text
    assert "127.0.0.1" not in response.content.decode()


def test_it_says_503_for_an_unreachable_amqp_broker(client, settings):
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{_closed_port()}//"
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_it_is_exempt_from_the_https_redirect(client, settings):
    settings.CELERY_BROKER_URL = None
    settings.REDIS_URL = None
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/login/").status_code == 301


class _Health(BaseHTTPRequestHandler):
    seen_hosts: list[str] = []
    status = 200

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen_hosts.append(self.headers["Host"])
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status, code", [(200, 0), (503, 1)])
def test_it_probes_with_the_site_host_for_the_container_healthcheck(monkeypatch, status, code):
    _Health.seen_hosts, _Health.status = [], status
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SITE_URL", "https://papers.example.org")
        assert probe(f"http://127.0.0.1:{server.server_port}/healthz") == code
    finally:
        server.shutdown()
        server.server_close()
    assert _Health.seen_hosts == ["papers.example.org"]


def test_it_probes_a_dead_server_as_unhealthy():
    assert probe(f"http://127.0.0.1:{_closed_port()}/healthz") == 1
