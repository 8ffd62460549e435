"""Subscriber admin: search, filters, counts by status, keywords inline, actions through services."""
from __future__ import annotations

import csv
import io

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions.models import Keyword, Subscriber
from tests.factories import KeywordFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

Status = Subscriber.Status
CHANGELIST = reverse("admin:subscriptions_subscriber_changelist")


@pytest.fixture
def people():
    ada = SubscriberFactory(email="ada@example.org", status=Status.ACTIVE)
    KeywordFactory(subscriber=ada, text="diffusion")
    bob = SubscriberFactory(email="bob@example.org", status=Status.PENDING, confirmed_at=None)
    KeywordFactory(subscriber=bob, text="=HYPERLINK(\"http://evil\")")
    cy = SubscriberFactory(email="cy@example.org", status=Status.UNSUBSCRIBED)
    KeywordFactory(subscriber=cy, text="speech recognition")
    return ada, bob, cy


def emails(response) -> set[str]:
    return {s.email for s in response.context["cl"].result_list}


def test_it_lists_with_counts_by_status(admin_client, people):
    response = admin_client.get(CHANGELIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Active: 1" in html and "Pending confirmation: 1" in html and "Unsubscribed: 1" in html
    assert "Bounced: 0" in html and "All: 3" in html


def test_it_searches_by_email_and_by_keyword(admin_client, people):
    assert emails(admin_client.get(CHANGELIST, {"q": "ada@"})) == {"ada@example.org"}
    assert emails(admin_client.get(CHANGELIST, {"q": "speech"})) == {"cy@example.org"}


def test_it_filters_by_status_frequency_and_signup_date(admin_client, people):
    assert emails(admin_client.get(CHANGELIST, {"status__exact": "pending"})) == {"bob@example.org"}
    assert emails(admin_client.get(CHANGELIST, {"frequency__exact": "weekly"})) == set()
    assert len(emails(admin_client.get(CHANGELIST, {"created_at__gte": "2000-01-01 00:00:00+00:00"}))) == 3


def test_it_edits_keywords_inline_with_the_normalized_form(admin_client, people):
    ada = people[0]
    url = reverse("admin:subscriptions_subscriber_change", args=[ada.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "diffusion" in page.content.decode()
    kw = ada.keywords.get()
    data = {
        "email": ada.email, "frequency": "daily", "send_weekday": "0", "send_hour": "7", "timezone": "UTC",
        "keywords-TOTAL_FORMS": "2", "keywords-INITIAL_FORMS": "1", "keywords-MIN_NUM_FORMS": "0",
        "keywords-MAX_NUM_FORMS": "1000",
        "keywords-0-id": str(kw.pk), "keywords-0-subscriber": str(ada.pk), "keywords-0-text": "diffusion",
        "keywords-1-id": "", "keywords-1-subscriber": str(ada.pk), "keywords-1-text": "  Pre-Training ",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    new = Keyword.objects.get(subscriber=ada, text="Pre-Training")
    assert new.normalized and new.normalized != "Pre-Training"
    # The same keyword twice (once normalized) is an error on the form, not a 500.
    data.update({"keywords-1-text": "Diffusion"})
    data.update({"keywords-INITIAL_FORMS": "1", "keywords-TOTAL_FORMS": "2"})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Same as" in response.content.decode()


@pytest.mark.parametrize(("typed", "says"), [("bad\x01word", "control characters"),
                                             ("del\x7fword", "control characters"),
                                             ("!!!", "no letters or digits")])
def test_it_refuses_in_the_admin_the_keywords_the_signup_form_refuses(admin_client, people, typed, says):
    ada = people[0]
    url = reverse("admin:subscriptions_subscriber_change", args=[ada.pk])
    data = {
        "email": ada.email, "frequency": "daily", "send_weekday": "0", "send_hour": "7", "timezone": "UTC",
        "keywords-TOTAL_FORMS": "1", "keywords-INITIAL_FORMS": "0", "keywords-MIN_NUM_FORMS": "0",
        "keywords-MAX_NUM_FORMS": "1000", "keywords-0-id": "", "keywords-0-subscriber": str(ada.pk),
        "keywords-0-text": typed,
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200 and says in response.content.decode()
    assert list(ada.keywords.values_list("text", flat=True)) == ["diffusion"]


def act(admin_client, action, subscribers, **kwargs):
    return admin_client.post(CHANGELIST, {"action": action, "_selected_action": [s.pk for s in subscribers]}, **kwargs)


def test_it_resends_confirmation_only_to_those_who_can_confirm(admin_client, people,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "resend_confirmation", people, follow=True)
    assert "queued for 2 of 3" in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.org", "cy@example.org"]


def test_it_unsubscribes_and_marks_bounced(admin_client, people):
    ada, bob, cy = people
    act(admin_client, "unsubscribe", [ada, bob])
    assert set(Subscriber.objects.filter(status=Status.UNSUBSCRIBED).values_list("email", flat=True)) == {
        "ada@example.org", "bob@example.org", "cy@example.org"}
    act(admin_client, "mark_bounced", [cy])
    cy.refresh_from_db()
    assert cy.status == Status.BOUNCED


def test_it_exports_csv_without_spreadsheet_formulas(admin_client, people):
    response = act(admin_client, "export_csv", people)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["email"] for r in rows} == {"ada@example.org", "bob@example.org", "cy@example.org"}
    bob = next(r for r in rows if r["email"] == "bob@example.org")
    assert bob["keywords"].startswith("'=")


def test_it_needs_staff(client, people):
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response.url
