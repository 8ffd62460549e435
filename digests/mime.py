"""Digest headers and MIME: the bytes that go to the SMTP server, or the same as a Django message.

Built by hand from parts that are already bytes (digests.render keeps every
card as SMTP-ready bytes), because email.message costs more than
the rest of an email put together; tests parse the result back with the
standard library's email parser, and a test keeps the two in agreement.
"""
from __future__ import annotations

import binascii
import datetime as dt
import time
import uuid
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address

from subscriptions.emails import date_header


@dataclass
class RenderedDigest:
    subject: str
    preheader: str
    text: str
    headers: dict[str, str]
    message_id: str
    to: str
    shown: int  # papers in the email; the rest are "more on the site"
    html_data: list[bytes]  # the HTML as SMTP bytes (UTF-8, CRLF), in pieces: cards come cached
    html_longest: int = 0  # the longest line of it, in bytes (8bit MIME allows 998)

    @property
    def html_size(self) -> int:
        return sum(map(len, self.html_data))

    @property
    def html(self) -> str:
        """The HTML part as text (the Django message, previews and tests ask for it; SMTP does not)."""
        return b"".join(self.html_data).decode().replace("\r\n", "\n")


def wire(text: str) -> tuple[bytes, int]:
    """(UTF-8 bytes with CRLF line ends and no bare CR, the longest line in bytes): a MIME body as is."""
    data = text.replace("\r", "").replace("\n", "\r\n").encode()
    return data, longest_line(data)


def longest_line(data: bytes) -> int:
    """The longest CRLF-separated line of `data`, in bytes (SMTP allows 998)."""
    return max(map(len, data.split(b"\r\n")))


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
    return f"<digest-{digest_id}.{_compact(digest_date)}@{sender_domain()}>"


@lru_cache(maxsize=64)
def _compact(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def encode_header(value: str) -> str:
    """RFC 2047 base64 encoded-words of at most 75 characters, folded; ASCII stays as it is."""
    if value.isascii():
        return value
    data, words = value.encode(), []
    while data:
        cut = min(len(data), 45)
        while cut < len(data) and data[cut] & 0xC0 == 0x80:  # never split a character
            cut -= 1
        words.append(data[:cut])
        data = data[cut:]
    return "\r\n ".join(f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode()}?=" for w in words)


@lru_cache(maxsize=8)
def _list_id(value: str) -> str:
    return encode_header(value)


def _date() -> str:
    """The `Date` header, the same as every other email's (subscriptions.emails), made once a second."""
    now = int(time.time())
    if _DATE[0] != now:
        _DATE[0], _DATE[1] = now, date_header(dt.datetime.fromtimestamp(now, dt.UTC))
    return _DATE[1]


def message_bytes(r: RenderedDigest, *, eight_bit: bool = True) -> bytes:
    """The whole message as SMTP DATA (CRLF lines, not yet dot-stuffed).

    Parts go as 8bit UTF-8 (RFC 6152) when the server takes 8BITMIME and every
    line fits SMTP's 998 bytes: the cached cards are already bytes, nothing is
    encoded per email, and the server reads a third fewer bytes. Otherwise, base64.
    """
    boundary = f"=_digest_{uuid.uuid4().hex}"  # "=_" occurs in neither base64 nor our HTML
    text, text_longest = wire(r.text)
    html_longest = r.html_longest
    parts = []
    for content_type, body, longest, pieces in (("text/plain", text, text_longest, None),
                                                ("text/html", None, html_longest, r.html_data)):
        if eight_bit and longest <= 998:
            encoding, payload = "8bit", body if pieces is None else b"".join(pieces)
        else:
            raw = body if pieces is None else b"".join(pieces)
            encoding, payload = "base64", base64_lines(raw)
        parts.append((f"--{boundary}\r\nContent-Type: {content_type}; charset=\"utf-8\"\r\n"
                      f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode())
        parts.append(payload if payload.endswith(b"\r\n") else payload + b"\r\n")
    head = (
        f"From: {_sender()[0]}\r\n"
        f"To: {r.to}\r\n"
        f"Subject: {encode_header(r.subject)}\r\n"
        f"Date: {_date()}\r\n"
        f"Message-ID: {r.message_id}\r\n"
        f"List-Unsubscribe: {r.headers['List-Unsubscribe'].replace(', <', ',' + chr(13) + chr(10) + ' <')}\r\n"
        f"List-Unsubscribe-Post: {r.headers['List-Unsubscribe-Post']}\r\n"
        f"List-Id: {_list_id(r.headers['List-Id'])}\r\n"
        f"Feedback-ID: {r.headers['Feedback-ID']}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
    ).encode()
    return b"".join([head, *parts, f"--{boundary}--\r\n".encode()])


def base64_lines(data: bytes) -> bytes:
    """Base64 in CRLF-separated lines of 76 characters (RFC 2045)."""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"\r\n".join([encoded[i : i + 76] for i in range(0, len(encoded), 76)])


def email_message(r: RenderedDigest, *, to: str | None = None, connection=None) -> EmailMultiAlternatives:
    """The same email as a Django message, for non-SMTP backends (files, anymail ESPs) and admin tests."""
    message = EmailMultiAlternatives(subject=r.subject, body=r.text, from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[to or r.to], headers={"Date": _date(), **r.headers}, connection=connection)
    message.attach_alternative(r.html, "text/html")
    return message
