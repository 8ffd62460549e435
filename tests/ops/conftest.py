"""Plumbing for the ops tests: a local HTTP server that plays the network sources."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    at: float
    user_agent: str


@dataclass
class SourceServer:
    """Answers each path from a queue of (status, body, content type); the last answer repeats."""

    base: str = ""
    routes: dict[str, list[tuple[int, bytes, str]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, path: str, *responses: tuple[int, bytes | str, str]) -> str:
        self.routes[path] = [(s, b.encode() if isinstance(b, str) else b, t) for s, b, t in responses]
        return self.base + path

    def serve_file(self, path: str, name: str, content_type: str) -> str:
        return self.answer(path, (200, (DATA / name).read_bytes(), content_type))


def _handler(server: SourceServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            server.seen.append(Seen(parts.path, parse_qs(parts.query), time.monotonic(), self.headers["User-Agent"]))
            queue = server.routes.get(parts.path) or [(404, b"not found", "text/plain")]
            status, body, content_type = queue.pop(0) if len(queue) > 1 else queue[0]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def source_server():
    state = SourceServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _fast_sources(settings):
    """One quick retry and no arXiv pacing unless a test asks for it."""
    settings.PAPER_SOURCES_RETRIES = 1
    settings.PAPER_SOURCES_TIMEOUT = (2.0, 5.0)
    settings.ARXIV_MIN_INTERVAL = 0
    settings.ARXIV_CATEGORIES = ["cs.CL", "cs.LG"]
    settings.ARXIV_QUERY = ""
