"""Handing digest messages to the mail server: one connection per batch, one outcome per message.

`SmtpBatchSender` speaks SMTP itself on top of smtplib's connection (connect,
EHLO, STARTTLS, AUTH are smtplib's). When the server offers PIPELINING (RFC
2920; Postfix does) the end of one message and the envelope of the next go out
in one write, so each message costs one round trip instead of four. Servers
without it get the same commands one at a time.

The caller's `checkpoint(done, in_flight)` runs at the one moment that matters
for exactly-once delivery: after the previous message's outcome is known and
before the next message's content is handed over. It records the outcome and
marks the next message as in flight; only a marked message can have reached
the server, so whoever recovers from a crash knows which single message per
connection is uncertain (see docs/digests.md). It returns False if the next
message is no longer ours to send; the sender then drops the connection, which
discards that message at the server.

`DjangoBatchSender` does the same through Django's mail backend (files, locmem,
anymail ESPs), one message per call.
"""
from __future__ import annotations

import enum
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection

from subscriptions.errors import is_transient


class Outcome(enum.Enum):
    SENT = "sent"
    REFUSED = "refused"  # 5xx for the recipient: a hard bounce
    REJECTED = "rejected"  # 5xx for this message's content
    DEFERRED = "deferred"  # 4xx for this recipient only: try again later
    UNCERTAIN = "uncertain"  # handed over, then the connection died before the answer


@dataclass
class Item:
    digest_id: int
    to: str
    mail_from: str
    data: bytes | None = None  # the message, CRLF lines ending in CRLF; dot-stuffed here when sent
    message: object = None  # a Django EmailMessage for DjangoBatchSender


@dataclass
class Result:
    item: Item
    outcome: Outcome
    detail: str = ""


class ConnectionTrouble(Exception):
    """The connection failed or the server answered 4xx for the whole session: retry later.

    `unrecorded` holds outcomes the checkpoint has not seen yet (an UNCERTAIN one
    for a message in flight when the connection died). Every other message the
    checkpoint did not see was not handed over.
    """

    def __init__(self, detail: str, unrecorded: list[Result] | None = None) -> None:
        super().__init__(detail)
        self.unrecorded = unrecorded or []


class SenderRefused(Exception):
    """The server refused our envelope sender (5xx on MAIL FROM): a configuration error."""


# checkpoint(done, next_item) -> may next_item be handed over?
Checkpoint = Callable[[list[Result], "Item | None"], bool]

_ENVELOPE = (("MAIL", 250), ("RCPT", 250), ("DATA", 354))


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _stuffed(data: bytes) -> bytes:
    """RFC 5321 dot-stuffing (a line starting with "." gets another); rare, so checked first."""
    return _LEADING_DOT.sub(b"..", data) if data.startswith(b".") or b"\n." in data else data


def _reply(code: int, text: bytes) -> str:
    return f"{code} {text.decode('utf-8', 'replace')}".strip()


class SmtpBatchSender:
    """SMTP to the server in Django's EMAIL_* settings (which EMAIL_URL sets)."""

    provider = "smtp"  # as recorded on the bounces it reports

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.pipelining = False
        self.eight_bit = False
        self._mail_from_options = ""

    def open(self) -> None:
        timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 20
        try:
            if getattr(settings, "EMAIL_USE_SSL", False):
                smtp = smtplib.SMTP_SSL(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=timeout,
                                        context=self._ssl_context())
            else:
                smtp = smtplib.SMTP(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=timeout)
            smtp.ehlo()
            if getattr(settings, "EMAIL_USE_TLS", False):
                smtp.starttls(context=self._ssl_context())
                smtp.ehlo()
            if settings.EMAIL_HOST_USER:
                smtp.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
        except smtplib.SMTPAuthenticationError:
            raise  # wrong credentials are ours to fix, not a retry's
        except Exception as exc:
            if is_transient(exc) or isinstance(exc, smtplib.SMTPConnectError):
                raise ConnectionTrouble(f"connect to {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {exc}") from exc
            raise
        self.smtp = smtp
        self.pipelining = smtp.has_extn("pipelining")
        self.eight_bit = smtp.has_extn("8bitmime")
        self._mail_from_options = " BODY=8BITMIME" if self.eight_bit else ""

    @staticmethod
    def _ssl_context() -> ssl.SSLContext:
        context = ssl.create_default_context()
        if getattr(settings, "EMAIL_SSL_CERTFILE", None):
            context.load_cert_chain(settings.EMAIL_SSL_CERTFILE, getattr(settings, "EMAIL_SSL_KEYFILE", None))
        return context

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:
                self.smtp.close()  # already gone: nothing to say goodbye to
            self.smtp = None

    def abort(self) -> None:
        """Drop the connection without QUIT: a message whose DATA is open is discarded."""
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def deliver(self, items: Iterable[Item], checkpoint: Checkpoint) -> None:
        """Send every item over this connection, reporting each outcome through `checkpoint`.

        Raises ConnectionTrouble (retry later) or SenderRefused (fix the configuration).
        """
        self._fresh: list[Result] = []  # outcomes the checkpoint has not seen
        self._rset = False  # a refused recipient left a transaction open
        self._in_flight: Item | None = None  # handed over (or being), answer not read
        try:
            if self.pipelining:
                self._deliver_pipelined(iter(items), checkpoint)
            else:
                self._deliver_sequential(iter(items), checkpoint)
        except ConnectionTrouble as trouble:
            self.abort()
            trouble.unrecorded = self._fresh + trouble.unrecorded
            raise
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.abort()
            if self._in_flight is not None:
                self._fresh.append(Result(self._in_flight, Outcome.UNCERTAIN,
                                          f"connection lost after the message was handed over: {exc}"))
            raise ConnectionTrouble(f"connection lost: {exc}", self._fresh) from exc
        if self._fresh:
            checkpoint(self._fresh, None)
            self._fresh = []

    def _deliver_sequential(self, items: Iterator[Item], checkpoint: Checkpoint) -> None:
        smtp = self.smtp
        for item in items:
            if self._rset:
                smtp.send(b"RSET\r\n")
                smtp.getreply()
                self._rset = False
            for command, expected in _ENVELOPE:
                line = {"MAIL": f"MAIL FROM:<{item.mail_from}>{self._mail_from_options}",
                        "RCPT": f"RCPT TO:<{item.to}>", "DATA": "DATA"}[command]
                smtp.send(f"{line}\r\n".encode())
                code, text = smtp.getreply()
                if code != expected:
                    self._envelope_failed(item, command, code, text)
                    break
            else:
                if not self._hand_over(item, checkpoint):
                    return
                smtp.send(_stuffed(item.data) + b".\r\n")
                self._settle()

    def _deliver_pipelined(self, items: Iterator[Item], checkpoint: Checkpoint) -> None:
        # Each write: the previous message's content (if one is in flight) and the next
        # envelope; then the content's answer, then the envelope's three answers.
        smtp = self.smtp
        for item in items:
            rset, self._rset = self._rset, False
            content = _stuffed(self._in_flight.data) + b".\r\n" if self._in_flight is not None else b""
            smtp.send(content + (b"RSET\r\n" if rset else b"")
                      + f"MAIL FROM:<{item.mail_from}>{self._mail_from_options}\r\nRCPT TO:<{item.to}>\r\n"
                        "DATA\r\n".encode())
            if self._in_flight is not None:
                self._settle()
            if rset:
                smtp.getreply()
            replies = [smtp.getreply() for _ in _ENVELOPE]  # all three were sent, all three answer
            for (code, text), (command, expected) in zip(replies, _ENVELOPE, strict=True):
                if code != expected:
                    self._envelope_failed(item, command, code, text)
                    break
            else:
                if not self._hand_over(item, checkpoint):
                    return
        if self._in_flight is not None:
            smtp.send(_stuffed(self._in_flight.data) + b".\r\n")
            self._settle()

    def _hand_over(self, item: Item, checkpoint: Checkpoint) -> bool:
        """The checkpoint before `item`'s content goes out; False: not ours any more, stop."""
        done, self._fresh = self._fresh, []
        if not checkpoint(done, item):
            self.abort()  # its DATA is open: dropping the connection discards it
            return False
        self._in_flight = item
        return True

    def _envelope_failed(self, item: Item, command: str, code: int, text: bytes) -> None:
        detail = f"{command}: {_reply(code, text)}"
        if command == "MAIL":
            if 400 <= code < 500:
                raise ConnectionTrouble(detail)
            raise SenderRefused(detail)
        if command == "DATA" and 400 <= code < 500:
            raise ConnectionTrouble(detail)  # the server is not taking mail right now
        if command == "RCPT":
            outcome = Outcome.DEFERRED if 400 <= code < 500 else Outcome.REFUSED
        else:
            outcome = Outcome.REJECTED
        self._fresh.append(Result(item, outcome, detail))
        self._rset = True  # MAIL was accepted: reset before the next one

    def _settle(self) -> None:
        """Read the answer to the in-flight message's content."""
        code, text = self.smtp.getreply()
        item, self._in_flight = self._in_flight, None
        if code == 250:
            self._fresh.append(Result(item, Outcome.SENT))
        elif 400 <= code < 500:
            # Refused for now, so not delivered: it goes back to the queue with the rest.
            raise ConnectionTrouble(f"end of DATA: {_reply(code, text)}")
        else:
            self._fresh.append(Result(item, Outcome.REJECTED, f"end of DATA: {_reply(code, text)}"))


class DjangoBatchSender:
    """Django's configured backend (file, locmem, console, anymail): one message per call."""

    @property
    def provider(self) -> str:
        """"postmark" for anymail.backends.postmark.EmailBackend: the name its webhooks use too."""
        return settings.EMAIL_BACKEND.rsplit(".", 2)[-2]

    def __init__(self) -> None:
        self.connection = None

    def open(self) -> None:
        self.connection = get_connection(fail_silently=False)
        try:
            self.connection.open()
        except Exception as exc:
            if is_transient(exc):
                raise ConnectionTrouble(f"open mail backend: {exc}", []) from exc
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    abort = close

    def deliver(self, items: Iterable[Item], checkpoint: Checkpoint) -> None:
        pending: list[Result] = []
        # A message the provider rejected, held until the next answer: if that is the
        # same rejection, the provider refuses the account (Postmark's 422 "out of
        # credits", "sender signature not confirmed"), not the message, and nothing
        # of the batch should be failed for it.
        rejected: tuple[Result, tuple] | None = None
        for item in items:
            if not checkpoint(pending, item):
                return
            pending = []
            try:
                item.message.connection = self.connection
                item.message.send()
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}"
                outcome = backend_failure(exc)
                if outcome is None:
                    # Surely not handed over (ESP unreachable, 429/5xx, disk full):
                    # this message goes back to the queue with the rest.
                    raise ConnectionTrouble(detail, [rejected[0]] if rejected else []) from exc
                if outcome is Outcome.UNCERTAIN:
                    # The request may have reached the provider (a read timeout, a
                    # connection lost mid-answer): never resent; the rest waits for a retry.
                    unrecorded = [Result(item, outcome, detail), *([rejected[0]] if rejected else [])]
                    raise ConnectionTrouble(detail, unrecorded) from exc
                if outcome is Outcome.REJECTED:
                    kind = (type(exc).__name__, getattr(exc, "status_code", None))
                    if rejected is not None and rejected[1] == kind:
                        raise SenderRefused(f"the email provider rejects every message: {detail}") from exc
                    if rejected is not None:
                        pending.append(rejected[0])
                    rejected = (Result(item, outcome, detail), kind)
                    continue
                pending.append(Result(item, outcome, detail))
            else:
                pending.append(Result(item, Outcome.SENT))
            if rejected is not None:
                pending.append(rejected[0])
                rejected = None
        if rejected is not None:
            pending.append(rejected[0])
        if pending:
            checkpoint(pending, None)


def backend_failure(exc: Exception) -> Outcome | None:
    """What a failed send through Django's backend means for that message.

    None: it surely did not go out, retry later. REFUSED: the provider refuses the
    recipient (a suppressed or invalid address: counted as a bounce). REJECTED:
    the provider refuses this message. UNCERTAIN: the request may have reached
    the provider. Raises SenderRefused for a provider that refuses our account
    (401/403: a configuration error, nothing will go out until it is fixed).
    anymail's API errors are also `OSError`s (requests' HTTPError), so they must be
    told apart before the generic "network trouble is transient" rule.
    """
    import requests
    from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused

    if isinstance(exc, AnymailRecipientsRefused):
        return Outcome.REFUSED
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        if status is None:  # no HTTP answer: did the request get out?
            return None if _never_sent(exc, requests) else Outcome.UNCERTAIN
        if status in (401, 403):
            raise SenderRefused(f"the email provider refuses our credentials ({status}): {exc}") from exc
        if status == 429 or status >= 500:
            return None  # "slow down" or the provider's own trouble: not accepted
        if 400 <= status < 500:
            return Outcome.REJECTED
        return Outcome.UNCERTAIN  # a 2xx we could not read: it was probably accepted
    if isinstance(exc, AnymailError):
        return Outcome.REJECTED  # invalid address, unsupported feature: this message only
    return None if is_transient(exc) else Outcome.REJECTED


def _never_sent(exc: Exception, requests) -> bool:
    """True when the request failed before reaching the provider: connect timeout or refusal, TLS handshake."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    from urllib3.exceptions import NewConnectionError

    # requests wraps urllib3's MaxRetryError, whose `reason` says why the connection failed.
    cause, depth = exc.__cause__, 0
    while cause is not None and depth < 5:
        if isinstance(cause, NewConnectionError) or isinstance(getattr(cause, "reason", None), NewConnectionError):
            return True
        cause = cause.__cause__ or (cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None)
        depth += 1
    return False


def batch_sender() -> SmtpBatchSender | DjangoBatchSender:
    """The SMTP fast path when Django is configured for SMTP, else Django's backend."""
    if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        return SmtpBatchSender()
    return DjangoBatchSender()
