"""Errors shared by services and tasks.

`TransientError` is what a Celery task retries on (`autoretry_for`): the mail
server was down, slow or answered "try again later". Anything else is a bug or
a permanent refusal and is raised as it is, so it is seen, not retried.
"""
from __future__ import annotations

import smtplib
import socket


class TransientError(Exception):
    """A failure worth retrying later (mail server down, slow, or said 4xx)."""


def is_transient(exc: BaseException) -> bool:
    """True for network trouble and SMTP 4xx replies; False for 5xx and bugs."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPException):
        return isinstance(exc, smtplib.SMTPServerDisconnected)
    # Refused, reset, timed out, unreachable, DNS: the network, not the message.
    return isinstance(exc, (OSError, socket.gaierror))
