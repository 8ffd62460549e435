"""The one place that builds email messages (subject, text, HTML, headers), and sends one.

Templates live in templates/emails/<name>-subject.txt, <name>-body.txt and
<name>-body.html. CSS is written once in a <style> block of the HTML template
and inlined here at build time with premailer, so mail clients that strip
<style> still get the styles; only @media rules stay in <style>.

Daily digests use the same templates and the same inlining, but assembled from
pre-inlined fragments (premailer once per process, not per email): see
digests/render.py and docs/digests.md. They take their doctype, `Date` and
`Feedback-ID` from here too.
"""
from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from functools import cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from premailer import Premailer

from .errors import TransientError, is_transient

# premailer's serializer drops the doctype; without one, clients render in quirks mode.
DOCTYPE = "<!DOCTYPE html>\n"
# Gmail's feedback loop groups complaints by this header's fields ("<kind>:<sender>"),
# so a rise in complaints about one kind of email shows as that kind.
FEEDBACK_SENDER = "trendingpapers"


@cache
def _premailer_options() -> dict:
    return {
        "keep_style_tags": False,
        "strip_important": False,
        "remove_classes": False,
        "disable_validation": True,
        "cssutils_logging_level": "CRITICAL",
        "allow_network": False,
    }


def inline_css(html: str) -> str:
    """Inline the <style> block into style="" attributes; @media rules stay in <style>."""
    return Premailer(html, **_premailer_options()).transform()


def html_document(html: str) -> str:
    """A rendered HTML email as it is sent: CSS inlined, doctype first."""
    return DOCTYPE + inline_css(html)


def date_header(when: dt.datetime | None = None) -> str:
    """RFC 5322 `Date` in UTC written "+0000" (Python's default "-0000" means "zone unknown")."""
    return format_datetime((when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))


def feedback_id(kind: str) -> str:
    """The `Feedback-ID` header value for one kind of email ("digest", "confirm", "manage-link")."""
    return f"{kind}:{FEEDBACK_SENDER}"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def make_message(name: str, to: str, ctx: dict, headers: dict | None = None) -> EmailMultiAlternatives:
    """Render emails/<name>-* with ctx into a text+HTML message with inlined CSS, a doctype,
    a UTC `Date` and a `Feedback-ID` naming the kind of email."""
    ctx = {"site_url": settings.SITE_URL, **ctx}
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", ctx).split())
    text = render_to_string(f"emails/{name}-body.txt", ctx)
    html = html_document(render_to_string(f"emails/{name}-body.html", ctx))
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Date": date_header(), "Feedback-ID": feedback_id(name), **(headers or {})},
    )
    message.attach_alternative(html, "text/html")
    return message


def message_send(message) -> None:
    """Send one message; raise TransientError for failures a retry can fix."""
    try:
        message.send()
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        raise
