"""Signing up: the form, the same answer for every address, and every bad input."""
from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions.models import Keyword, Subscriber
from tests.factories import KeywordFactory, SubscriberFactory

from .conftest import link_in

pytestmark = pytest.mark.django_db

Status = Subscriber.Status


def test_it_shows_the_form_at_subscribe(client):
    response = client.get(reverse("subscriptions:subscribe"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="email"' in html and 'name="keywords"' in html
    assert "Subscribe" in html
    assert 'name="website"' in html  # the honeypot is there, hidden


def test_it_renders_the_partial_without_any_context():
    from django.template.loader import render_to_string

    html = render_to_string("subscriptions/_subscribe_form.html")
    assert 'action="/subscribe/"' in html
    assert 'name="keywords"' in html


def test_it_creates_a_pending_subscriber_and_sends_a_confirmation(signup, outbox):
    response = signup(email="ada@example.org", keywords="diffusion, speech recognition")
    assert response.status_code == 302
    assert response.url == reverse("subscriptions:subscribe_done")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Status.PENDING
    assert [k.text for k in subscriber.keywords.all()] == ["diffusion", "speech recognition"]
    assert len(outbox) == 1
    assert outbox[0].to == ["ada@example.org"]
    assert "Confirm" in outbox[0].subject
    assert "/confirm/" in link_in(outbox[0], "/confirm/")


def test_it_answers_check_your_inbox(client, signup):
    response = signup()
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Check your inbox" in page.content.decode()


@pytest.mark.parametrize("status", [Status.PENDING, Status.ACTIVE, Status.PAUSED, Status.UNSUBSCRIBED, Status.BOUNCED])
def test_it_answers_the_same_for_every_existing_address(signup, status):
    new = signup(email="new@example.org")
    SubscriberFactory(email="known@example.org", status=status)
    known = signup(email="known@example.org")
    assert (known.status_code, known.url) == (new.status_code, new.url)


def test_it_sends_an_active_subscriber_a_manage_link_not_a_second_confirmation(signup, outbox):
    subscriber = SubscriberFactory(email="ada@example.org", status=Status.ACTIVE)
    KeywordFactory(subscriber=subscriber, text="graphs")
    signup(email="ADA@example.org", keywords="something else entirely")
    assert len(outbox) == 1
    assert "manage" in outbox[0].subject.lower()
    assert link_in(outbox[0], "/manage/")
    assert not [link for link in outbox[0].body.split() if "/confirm/" in link]
    # A stranger cannot change an active subscriber's keywords from the public form.
    assert [k.text for k in subscriber.keywords.all()] == ["graphs"]
    assert Subscriber.objects.count() == 1


def test_it_resends_a_confirmation_to_a_pending_address_with_the_new_keywords(signup, outbox):
    signup(email="ada@example.org", keywords="old topic")
    signup(email="Ada@Example.org", keywords="new topic")
    assert Subscriber.objects.count() == 1
    assert [k.text for k in Keyword.objects.all()] == ["new topic"]
    assert len(outbox) == 2
    assert all("Confirm" in m.subject for m in outbox)


def test_it_lets_an_unsubscribed_address_confirm_again(signup, outbox, client):
    SubscriberFactory(email="ada@example.org", status=Status.UNSUBSCRIBED)
    signup(email="ada@example.org", keywords="retrieval")
    assert Subscriber.objects.get().status == Status.UNSUBSCRIBED  # nothing changes until they confirm
    confirm = link_in(outbox[0], "/confirm/")
    client.post(confirm)
    assert Subscriber.objects.get().status == Status.ACTIVE


def test_it_sends_nothing_to_an_address_with_a_spam_complaint(signup, outbox):
    SubscriberFactory(email="ada@example.org", status=Status.COMPLAINED)
    response = signup(email="ada@example.org")
    assert response.status_code == 302
    assert outbox == []


def test_it_stores_addresses_case_insensitively_unique(signup):
    signup(email="Ada@Example.ORG")
    signup(email="ada@example.org")
    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().email == "Ada@example.org"


def test_it_accepts_idn_domains_in_either_spelling(signup, outbox):
    signup(email="ada@bücher.de")
    signup(email="ada@xn--bcher-kva.de")
    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().email == "ada@bücher.de"
    # The message goes out with the domain in its ASCII form.
    assert "ada@xn--bcher-kva.de" in outbox[0].message()["To"]


def test_it_trims_and_collapses_duplicate_keywords(signup):
    signup(keywords="  Pre-training ,pretraining\n\n pre training, Diffusion,diffusion ,,\n")
    assert [k.text for k in Keyword.objects.order_by("id")] == ["Pre-training", "Diffusion"]


def test_it_stores_the_browser_time_zone_and_ignores_junk(signup):
    signup(email="a@example.org", timezone="Europe/Berlin")
    signup(email="b@example.org", timezone="../../etc/passwd")
    assert Subscriber.objects.get(email="a@example.org").timezone == "Europe/Berlin"
    assert Subscriber.objects.get(email="b@example.org").timezone == "UTC"


def test_it_pretends_success_when_the_honeypot_is_filled(signup, outbox):
    response = signup(website="http://spam.example")
    assert response.status_code == 302
    assert Subscriber.objects.count() == 0
    assert outbox == []


BAD_EMAILS = [
    ("", "Enter your email address."),
    ("not-an-address", "Enter a valid email address"),
    ("ada@", "Enter a valid email address"),
    ("@example.org", "Enter a valid email address"),
    ("ada@example..org", "Enter a valid email address"),
    ("ada@example.org\r\nBcc: victim@example.org", "without line breaks"),
    ("ada@example.org\nBcc: victim@example.org", "without line breaks"),
    ("victim@example.org%0d%0aBcc:x@example.org", "Enter a valid email address"),
    ("a" * 65 + "@example.org", "too long"),
    ("ada@" + "a" * 250 + ".org", "too long"),
    ("ada@" + ("a" * 63 + ".") * 4 + "org", "too long"),
    ("ada\x00@example.org", "Null characters are not allowed"),
    ("ada@exa mple.org", "Enter a valid email address"),
    ("<script>@example.org", "Enter a valid email address"),
    ("ada@-bad-.org", "Enter a valid email address"),
]


@pytest.mark.parametrize("email,message", BAD_EMAILS)
def test_it_rejects_a_bad_address_next_to_the_field_and_stores_nothing(signup, outbox, email, message):
    response = signup(email=email)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="sub-email-errors"' in html
    assert message in html
    assert Subscriber.objects.count() == 0
    assert outbox == []


# No keywords at all is not an error: it is the trending list (tests/subscriptions/test_trending_choice.py).
BAD_KEYWORDS = [
    (", ".join(f"topic {i}" for i in range(21)), "at most 20"),
    ("x" * 101, "at most 100"),
    ("fine, " + "y" * 150, "at most 100"),
    ("!!!, ???", "no letters or digits"),
    ("k\x00w", "Null characters are not allowed"),
    ("bell\x07ring", "control characters"),
    ("z" * 5000, "too much text"),
]


@pytest.mark.parametrize("keywords,message", BAD_KEYWORDS)
def test_it_rejects_bad_keywords_next_to_the_field_and_stores_nothing(signup, outbox, keywords, message):
    response = signup(keywords=keywords)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="sub-keywords-errors"' in html
    assert message in html
    assert Subscriber.objects.count() == 0 and Keyword.objects.count() == 0
    assert outbox == []


def test_it_accepts_exactly_twenty_keywords_of_a_hundred_characters(signup):
    keywords = ", ".join(f"{i:02d}" + "k" * 98 for i in range(20))
    response = signup(keywords=keywords)
    assert response.status_code == 302
    assert Keyword.objects.count() == 20


def test_it_keeps_what_was_typed_when_the_form_has_errors(signup):
    response = signup(email="not-an-address", keywords="diffusion, graphs")
    html = response.content.decode()
    assert 'value="not-an-address"' in html
    assert "diffusion, graphs</textarea>" in html


def test_it_escapes_html_in_keywords_everywhere_they_are_shown(signup, outbox, client):
    signup(keywords="<script>alert(1)</script>, <b>bold</b>")
    html = outbox[0].alternatives[0][0]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    page = client.get(link_in(outbox[0], "/confirm/")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    bad = signup(email="x", keywords="<img src=x onerror=alert(1)>").content.decode()
    assert "<img src=x" not in bad


@pytest.mark.parametrize("payload", [
    {"email": ["a@example.org", "b@example.org"], "keywords": "x"},
    {"keywords": "only keywords"},
    {"email": "a@example.org"},
    {},
    {"email": "a@example.org", "keywords": "ok", "timezone": "\x00"},
])
def test_it_never_fails_on_odd_posts(client, payload):
    response = client.post(reverse("subscriptions:subscribe"), payload)
    assert response.status_code in (302, 400)


def test_it_refuses_other_methods(client):
    assert client.put(reverse("subscriptions:subscribe")).status_code == 405


def test_it_treats_an_empty_post_as_a_form_with_errors(client):
    response = client.post(reverse("subscriptions:subscribe"), {})
    assert response.status_code == 400
    assert "Enter your email address." in response.content.decode()
