"""The Digest admin: records by day and status, errors, retry, preview as sent, "send me this test"."""
from __future__ import annotations

import datetime as dt
import html

import pytest
from django.core import mail
from django.urls import reverse

from digests.services.day import digests_run_day
from subscriptions.models import Digest
from tests.factories import DailyNoteFactory, KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

DAY = dt.date(2024, 3, 12)

pytestmark = pytest.mark.django_db


@pytest.fixture
def day():
    ListingFactory(paper=PaperFactory(title="Diffusion Policies for Robots"), listed_on=DAY)
    for name in ("ada", "grace"):
        KeywordFactory(subscriber=SubscriberFactory(email=f"{name}@example.org"), text="diffusion")
    KeywordFactory(subscriber=SubscriberFactory(email="nobody@example.org"), text="quantum chromodynamics")
    digests_run_day(digest_date=DAY)
    mail.outbox.clear()
    failed = Digest.objects.get(subscriber__email="grace@example.org")
    Digest.objects.filter(pk=failed.pk).update(status=Digest.Status.FAILED, error="550 5.1.1 User unknown")
    return failed


def test_it_lists_digests_with_counts_per_day_and_the_error(admin_client, day):
    response = admin_client.get(reverse("admin:subscriptions_digest_changelist"))
    page = response.content.decode()

    assert response.status_code == 200
    assert "2024-03-12" in page
    assert "<td>1</td>" in page  # one each: sent, failed, skipped
    assert "550 5.1.1 User unknown" in page


def test_it_filters_by_status_and_date(admin_client, day):
    url = reverse("admin:subscriptions_digest_changelist")

    failed = admin_client.get(url, {"status__exact": "failed"}).content.decode()
    other_day = admin_client.get(url, {"digest_date__day": "13", "digest_date__month": "3",
                                       "digest_date__year": "2024"}).content.decode()

    assert "grace@example.org" in failed and "ada@example.org" not in failed
    assert "grace@example.org" not in other_day


def test_retry_failed_sends_them_again(admin_client, day, django_capture_on_commit_callbacks):
    url = reverse("admin:subscriptions_digest_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"action": "retry_failed", "_selected_action": [day.pk]}, follow=True)

    assert "1 failed digest(s) of 1 selected are queued" in response.content.decode()
    day.refresh_from_db()
    assert day.status == Digest.Status.SENT
    assert [m.to for m in mail.outbox] == [["grace@example.org"]]


def test_the_preview_shows_a_digest_exactly_as_sent(admin_client, day):
    sent = Digest.objects.get(subscriber__email="ada@example.org")
    url = reverse("admin:subscriptions_digest_preview")

    response = admin_client.get(url, {"subscriber": "ada@example.org", "date": "2024-03-12"})
    page = response.content.decode()

    assert response.status_code == 200
    assert "1 new paper on diffusion — Mar 12" in page  # the subject
    assert html.escape(sent.message_id) in page  # the very Message-ID it went out with
    assert "List-Unsubscribe-Post" in page
    assert "<iframe" in page and "srcdoc=" in page and "Diffusion Policies for Robots" in page
    assert "matched: diffusion" in page  # the text part


def test_the_preview_of_a_sent_digest_keeps_the_note_its_email_carried(admin_client, settings):
    settings.SITE_URL = "https://papers.example.org"
    ListingFactory(paper=PaperFactory(title="Diffusion Policies for Robots"), listed_on=DAY)
    KeywordFactory(subscriber=SubscriberFactory(email="ada@example.org"), text="diffusion")
    note = DailyNoteFactory(date=DAY, body="First version: **read the robots paper**.")
    digests_run_day(digest_date=DAY)
    [email] = mail.outbox
    assert "read the robots paper" in email.body
    # After the day's digests went out, the editor rewrites the note, then deletes it.
    note.body = "Second version, written after sending."
    note.save()
    url = reverse("admin:subscriptions_digest_preview")

    page = admin_client.get(url, {"subscriber": "ada@example.org", "date": "2024-03-12"}).content.decode()

    assert "read the robots paper" in page and "Second version" not in page
    assert "with the editor’s note its email carried" in page
    note.delete()
    page = admin_client.get(url, {"subscriber": "ada@example.org", "date": "2024-03-12"}).content.decode()
    assert "read the robots paper" in page

    # A digest sent with no note previews with none, whatever was added later.
    KeywordFactory(subscriber=SubscriberFactory(email="grace@example.org"), text="diffusion")
    digests_run_day(digest_date=DAY)
    DailyNoteFactory(date=DAY, body="A note added after sending.")
    page = admin_client.get(url, {"subscriber": "grace@example.org", "date": "2024-03-12"}).content.decode()
    assert "A note added after sending" not in page and "Diffusion Policies for Robots" in page


def test_the_preview_shows_what_a_build_would_send_for_a_day_not_built(admin_client, day):
    someone = SubscriberFactory(email="new@example.org")
    KeywordFactory(subscriber=someone, text="robots")

    page = admin_client.get(reverse("admin:subscriptions_digest_preview"),
                            {"subscriber": str(someone.pk), "date": "2024-03-12"}).content.decode()

    assert "Not built yet" in page and "Diffusion Policies for Robots" in page
    assert not Digest.objects.filter(subscriber=someone).exists()  # a preview writes nothing


def test_the_preview_says_why_there_is_nothing(admin_client, day):
    url = reverse("admin:subscriptions_digest_preview")

    skipped = admin_client.get(url, {"subscriber": "nobody@example.org", "date": "2024-03-12"}).content.decode()
    unknown = admin_client.get(url, {"subscriber": "who@example.org", "date": "2024-03-12"}).content.decode()

    assert "Skipped: nothing new matched" in skipped
    assert "No subscriber" in unknown


def test_send_me_this_test_mails_the_admin(admin_client, admin_user, day):
    admin_user.email = "editor@example.org"
    admin_user.save()
    sent = Digest.objects.get(subscriber__email="ada@example.org")

    response = admin_client.post(reverse("admin:subscriptions_digest_preview"),
                                 {"subscriber": "ada@example.org", "date": "2024-03-12"}, follow=True)

    assert "Sent this digest to editor@example.org" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["editor@example.org"]
    assert message.subject == "[test] 1 new paper on diffusion — Mar 12"
    assert message.extra_headers["Message-ID"] != sent.message_id  # the real one stays the subscriber's
    assert "Diffusion Policies for Robots" in message.alternatives[0][0]
    # The editor's mail client must not offer a one-click unsubscribe that would act for ada.
    assert not {"List-Unsubscribe", "List-Unsubscribe-Post"} & set(message.extra_headers)
    assert "the links in it act for ada@example.org" in response.content.decode()


def test_digests_cannot_be_added_or_edited_by_hand(admin_client, day):
    assert admin_client.get(reverse("admin:subscriptions_digest_add")).status_code == 403
    page = admin_client.get(reverse("admin:subscriptions_digest_change", args=[day.pk])).content.decode()
    assert 'name="_save"' not in page
