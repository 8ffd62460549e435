"""Mail backend for the embedded default: every message becomes a file.

Each message is written as ``var/mail/<stamp>-<n>-<recipient>.eml`` (open it
with any mail client) and, when it has an HTML part, a sibling ``.html`` file
that a browser opens directly.
"""
from __future__ import annotations

import itertools
import re
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

_counter = itertools.count(1)
_lock = threading.Lock()


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]+", "_", part)[:80]


class EmlFileBackend(BaseEmailBackend):
    def __init__(self, *args, file_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            with _lock:
                n = next(_counter)
            stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{n:06d}-{_safe(message.to[0] if message.to else 'nobody')}"
            (self.directory / f"{stem}.eml").write_bytes(message.message().as_bytes(linesep="\n"))
            for content, mimetype in getattr(message, "alternatives", []) or []:
                if mimetype == "text/html":
                    (self.directory / f"{stem}.html").write_text(content, encoding="utf-8")
            sent += 1
        return sent
