"""The manage page: keywords, frequency, send time and zone, pause/resume, unsubscribe, data, delete, sign out."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from subscriptions.models import Keyword, Subscriber
from subscriptions.tokens import subscriber_token
from tests.factories import DigestFactory, KeywordFactory, SubscriberFactory

from .conftest import link_in

pytestmark = pytest.mark.django_db

Status = Subscriber.Status


@pytest.fixture
def subscriber():
    s = SubscriberFactory(email="ada@example.org", timezone="Europe/Berlin", send_hour=8)
    KeywordFactory(subscriber=s, text="diffusion")
    KeywordFactory(subscriber=s, text="graphs")
    return s


@pytest.fixture
def token(subscriber):
    return subscriber_token(subscriber, "manage")


def url(name, token):
    return reverse(f"subscriptions:{name}", args=[token])


def prefs(**overrides):
    data = {"keywords": "diffusion\ngraphs", "frequency": "daily", "send_weekday": "0", "send_hour": "8",
            "timezone": "Europe/Berlin"}
    data.update(overrides)
    return data


def test_it_shows_the_current_settings(client, token):
    response = client.get(url("manage", token))
    html = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.org" in html
    assert "diffusion\ngraphs</textarea>" in html
    assert '<option value="Europe/Berlin" selected>' in html
    assert '<option value="8" selected>08:00</option>' in html
    assert "Pause digests" in html and "Download my data" in html and "Delete me" in html


def test_it_saves_keywords_and_preferences(client, token, subscriber):
    response = client.post(url("manage", token), prefs(
        keywords="Speech recognition, speech-recognition\nretrieval", frequency="weekly", send_weekday="4",
        send_hour="18", timezone="America/New_York"), follow=True)
    assert "Saved." in response.content.decode()
    subscriber.refresh_from_db()
    assert [k.text for k in subscriber.keywords.all()] == ["Speech recognition", "retrieval"]
    assert (subscriber.frequency, subscriber.send_weekday, subscriber.send_hour, subscriber.timezone) == (
        "weekly", 4, 18, "America/New_York")


def test_it_accepts_a_valid_zone_that_is_not_in_the_short_list(client, token, subscriber):
    client.post(url("manage", token), prefs(timezone="America/Halifax"))
    subscriber.refresh_from_db()
    assert subscriber.timezone == "America/Halifax"
    assert '<option value="America/Halifax" selected>' in client.get(url("manage", token)).content.decode()


BAD_PREFS = [
    ({"keywords": ""}, "Enter at least one keyword"),
    ({"keywords": ",".join(f"k{i}" for i in range(25))}, "at most 20"),
    ({"keywords": "q" * 120}, "at most 100"),
    ({"frequency": "hourly"}, "Choose daily or weekly."),
    ({"send_hour": "24"}, "Choose an hour"),
    ({"send_hour": "-1"}, "Choose an hour"),
    ({"send_hour": "seven"}, "Choose an hour"),
    ({"send_weekday": "7"}, "Choose a day of the week."),
    ({"timezone": "Mars/Olympus_Mons"}, "Choose a time zone from the list."),
    ({"timezone": "../../../etc/passwd"}, "Choose a time zone from the list."),
    ({"timezone": "/etc/localtime"}, "Choose a time zone from the list."),
    ({"timezone": ""}, "This field is required."),
    ({"timezone": "Europe/Berlin\x00"}, "Null characters are not allowed"),
    ({"timezone": "x" * 300}, "at most 64 characters"),
]


@pytest.mark.parametrize("overrides,message", BAD_PREFS)
def test_it_rejects_bad_preferences_and_changes_nothing(client, token, subscriber, overrides, message):
    response = client.post(url("manage", token), prefs(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    subscriber.refresh_from_db()
    assert [k.text for k in subscriber.keywords.all()] == ["diffusion", "graphs"]
    assert (subscriber.frequency, subscriber.send_hour, subscriber.timezone) == ("daily", 8, "Europe/Berlin")


def test_it_pauses_and_resumes(client, token, subscriber):
    response = client.post(url("manage_pause", token), follow=True)
    assert "Paused." in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Status.PAUSED
    assert "Resume digests" in response.content.decode()
    client.post(url("manage_resume", token))
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE


def test_it_unsubscribes_and_can_subscribe_again(client, token, subscriber):
    response = client.post(url("manage_unsubscribe", token), follow=True)
    subscriber.refresh_from_db()
    assert subscriber.status == Status.UNSUBSCRIBED and subscriber.unsubscribed_at is not None
    assert "Subscribe again" in response.content.decode()
    client.post(url("manage_resume", token))
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE and subscriber.unsubscribed_at is None


def test_it_refuses_get_on_actions(client, token, subscriber):
    for name in ("manage_pause", "manage_resume", "manage_unsubscribe", "manage_sign_out"):
        assert client.get(url(name, token)).status_code == 405
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE


def test_it_downloads_my_data_as_json(client, token, subscriber):
    DigestFactory(subscriber=subscriber, papers=[3, 1])
    response = client.get(url("manage_export", token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["email"] == "ada@example.org"
    assert [k["text"] for k in data["keywords"]] == ["diffusion", "graphs"]
    assert data["preferences"]["timezone"] == "Europe/Berlin"
    assert data["digests"][0]["papers"] == [3, 1]


def test_it_asks_before_deleting_and_then_erases_everything(client, token, subscriber):
    DigestFactory(subscriber=subscriber)
    page = client.get(url("manage_delete", token))
    assert "Yes, delete my data" in page.content.decode()
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()
    response = client.post(url("manage_delete", token))
    assert "Your data is deleted" in response.content.decode()
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert Keyword.objects.count() == 0
    assert client.get(url("manage", token)).status_code == 400
    # Deleting twice (a double click) is a friendly page, not an error.
    assert client.post(url("manage_delete", token)).status_code == 400


def test_it_signs_out_everywhere_and_emails_a_fresh_link(client, token, subscriber, outbox,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("manage_sign_out", token))
    assert "Signed out everywhere" in response.content.decode()
    assert client.get(url("manage", token)).status_code == 400
    assert len(outbox) == 1
    fresh = link_in(outbox[0], "/manage/")
    assert client.get(fresh).status_code == 200


def test_it_shows_keywords_with_html_escaped(client, subscriber):
    KeywordFactory(subscriber=subscriber, text="<script>alert(1)</script>")
    html = client.get(url("manage", subscriber_token(subscriber, "manage"))).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_treats_an_empty_post_as_a_form_with_errors(client, token, subscriber):
    response = client.post(url("manage", token), {})
    assert response.status_code == 400
    assert "Enter at least one keyword" in response.content.decode()
    assert [k.text for k in subscriber.keywords.all()] == ["diffusion", "graphs"]
