"""Digest headers and MIME: the bytes that go to the SMTP server, or the same as a Django message.

Built by hand from pre-encoded parts (subscriptions.digest_render keeps every
card's base64), because email.message costs more than the rest of an email put
together; tests parse the result back with the standard library's email parser.
"""
from __future__ import annotations

import binascii
import datetime as dt
import time
import uuid
from email.utils import formatdate, parseaddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address

if TYPE_CHECKING:
    from .digest_render import RenderedDigest

_ADDRESS: dict[str, tuple[str, str, str]] = {}
_DATE = [0, ""]


def _sender() -> tuple[str, str, str]:
    """(From header, address, domain) of DEFAULT_FROM_EMAIL, parsed once."""
    raw = settings.DEFAULT_FROM_EMAIL
    hit = _ADDRESS.get(raw)
    if hit is None:
        address = parseaddr(raw)[1] or "digest@localhost"
        hit = _ADDRESS[raw] = (sanitize_address(raw, "utf-8"), address, address.rpartition("@")[2] or "localhost")
    return hit


def envelope_sender() -> str:
    """MAIL FROM: the address of DEFAULT_FROM_EMAIL."""
    return _sender()[1]


def sender_domain() -> str:
    return _sender()[2]


def digest_message_id(digest_id: int, digest_date: dt.date) -> str:
    """The Message-ID of a digest row: the same on every attempt, so a resend is recognisable."""
    return f"<digest-{digest_id}.{digest_date:%Y%m%d}@{sender_domain()}>"


def encode_header(value: str) -> str:
    """RFC 2047 base64 encoded-words of at most 75 characters, folded; ASCII stays as it is."""
    if value.isascii():
        return value
    words, chunk = [], b""
    for char in value:
        b = char.encode()
        if len(chunk) + len(b) > 45:
            words.append(chunk)
            chunk = b""
        chunk += b
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode()}?=" for w in words)


def _date() -> str:
    now = int(time.time())
    if _DATE[0] != now:
        _DATE[0], _DATE[1] = now, formatdate(now, usegmt=True)
    return _DATE[1]


def message_bytes(r: RenderedDigest) -> bytes:
    """The whole message as SMTP DATA: CRLF lines, base64 parts (so no line needs dot-stuffing)."""
    from .digest_render import base64_lines

    boundary = f"=_digest_{uuid.uuid4().hex}"  # "=_" never occurs in base64 text
    head = (
        f"From: {_sender()[0]}\r\n"
        f"To: {r.to}\r\n"
        f"Subject: {encode_header(r.subject)}\r\n"
        f"Date: {_date()}\r\n"
        f"Message-ID: {r.message_id}\r\n"
        f"List-Unsubscribe: {r.headers['List-Unsubscribe'].replace(', <', ',' + chr(13) + chr(10) + ' <')}\r\n"
        f"List-Unsubscribe-Post: {r.headers['List-Unsubscribe-Post']}\r\n"
        f"List-Id: {encode_header(r.headers['List-Id'])}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    ).encode()
    middle = (f"\r\n--{boundary}\r\n"
              'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n').encode()
    html = b"\r\n".join(r.html_b64) if r.html_b64 else base64_lines(r.html.encode())
    return b"".join([head, base64_lines(r.text.encode()), middle, html, f"\r\n--{boundary}--\r\n".encode()])


def email_message(r: RenderedDigest, *, to: str | None = None, connection=None) -> EmailMultiAlternatives:
    """The same email as a Django message, for non-SMTP backends (files, anymail ESPs) and admin tests."""
    message = EmailMultiAlternatives(subject=r.subject, body=r.text, from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[to or r.to], headers=dict(r.headers), connection=connection)
    message.attach_alternative(r.html, "text/html")
    return message
