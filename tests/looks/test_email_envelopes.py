"""What every kind of email carries besides its words: a doctype, a preheader padded so
the inbox preview stops there, a `Date` in UTC written "+0000", and a `Feedback-ID`
naming its kind (Gmail's complaint feedback loop). The emails come from the public
ways in: signup and "email me a link" over HTTP, the digest from `send_digests`."""
from __future__ import annotations

import email.utils
import re

import lxml.html
import pytest

from tests.looks.test_browser_emails import emails_of_each_kind, html_of

pytestmark = pytest.mark.django_db(transaction=True)

PADDING = re.compile("[\u034f\u200c\u00a0\\s]+$")


@pytest.fixture
def sent(client, settings):
    settings.SITE_URL = "https://papers.example.org"
    return emails_of_each_kind(client)


@pytest.mark.parametrize("kind", ["confirmation", "manage-link", "digest"])
def test_it_starts_every_email_with_a_doctype_and_a_padded_preheader(sent, kind):
    html = html_of(sent[kind])

    assert html.startswith("<!DOCTYPE html>")
    preheader = lxml.html.document_fromstring(html).find_class("preheader")[0]
    text = preheader.text_content()
    words = PADDING.sub("", text)
    assert len(words) > 20, text[:80]  # something worth reading in the inbox list
    assert text.count("\u200c") >= 80  # then invisible padding, so no body text follows it there
    assert "display:none" in preheader.get("style").replace(" ", "")


@pytest.mark.parametrize("kind, feedback", [
    ("confirmation", "confirm:trendingpapers"),
    ("manage-link", "manage-link:trendingpapers"),
    ("digest", "digest:trendingpapers"),
])
def test_it_dates_every_email_in_utc_and_names_its_kind_for_feedback_loops(sent, kind, feedback):
    headers = sent[kind].message()

    assert headers["Date"].endswith(" +0000"), headers["Date"]
    assert email.utils.parsedate_to_datetime(headers["Date"]).utcoffset().total_seconds() == 0
    assert headers["Feedback-ID"] == feedback
