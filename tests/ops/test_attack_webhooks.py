"""Forged and junk provider webhooks (issue 11, items 1 and 8): refused, and nothing changes."""
from __future__ import annotations

import json

import pytest
from django.test import override_settings

from subscriptions.models import DeliveryEvent
from tests.factories import SubscriberFactory
from tests.ops.test_deploy_settings import PRODUCTION, _run
from tests.ops.test_webhooks import SECRET, _auth, postmark_complaint, sendgrid_events, sending_through

pytestmark = pytest.mark.django_db


def _forge(client, esp: str, payload, **headers):
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    return client.post(f"/anymail/{esp}/tracking/", data=body, content_type="application/json", **headers)


@override_settings(ANYMAIL={})
def test_it_refuses_events_while_no_webhook_secret_is_set(client):
    victim = SubscriberFactory(email="victim@example.org")
    with sending_through("postmark"):
        response = _forge(client, "postmark", postmark_complaint("victim@example.org"))
    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.status == "active" and not DeliveryEvent.objects.exists()


@override_settings(ANYMAIL={"WEBHOOK_SECRET": [SECRET]})
def test_it_refuses_a_signed_esp_without_its_signing_key(client):
    victim = SubscriberFactory(email="victim@example.org")
    with sending_through("mailgun"):
        response = _forge(client, "mailgun", {"event-data": {"event": "complained", "recipient": "victim@example.org"}},
                          **_auth())
    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.status == "active"


@override_settings(ANYMAIL={"WEBHOOK_SECRET": [SECRET]})
@pytest.mark.parametrize("backend", ["django.core.mail.backends.smtp.EmailBackend",
                                     "anymail.backends.postmark.EmailBackend"])
def test_only_the_configured_esp_has_webhook_urls(client, backend):
    victim = SubscriberFactory(email="victim@example.org")
    with override_settings(EMAIL_BACKEND=backend):
        sendgrid = _forge(client, "sendgrid", sendgrid_events("victim@example.org"), **_auth())
        unknown = _forge(client, "no-such-esp", {}, **_auth())
    assert sendgrid.status_code == 404 and unknown.status_code == 404
    victim.refresh_from_db()
    assert victim.status == "active"


@override_settings(ANYMAIL={"WEBHOOK_SECRET": [SECRET]})
@pytest.mark.parametrize("esp", ["postmark", "sendgrid"])
@pytest.mark.parametrize("body", [b"not json", b"[]", b"[1, 2]", b'"x"', b"\xff\xfe", b"null", b"[[]]"])
def test_junk_bodies_are_a_400_not_a_500(client, esp, body):
    client.raise_request_exception = False
    with sending_through(esp):
        response = _forge(client, esp, body, **_auth())
    # A valid empty SendGrid batch ([]) is fine; everything else is not the provider's payload.
    assert response.status_code == 400 or (esp, body) == ("sendgrid", b"[]"), response.status_code
    assert not DeliveryEvent.objects.exists()


def test_check_deploy_fails_for_an_esp_without_its_webhook_secret(tmp_path):
    missing = _run(tmp_path, ["check", "--deploy"], **{**PRODUCTION, "ANYMAIL_WEBHOOK_SECRET": ""})
    assert missing.returncode != 0
    assert "subscriptions.E001" in missing.stderr and "ANYMAIL_WEBHOOK_SECRET" in missing.stderr
    smtp = _run(tmp_path, ["check", "--deploy"],
                **{**PRODUCTION, "EMAIL_URL": "smtp://mail.internal:25", "ANYMAIL_WEBHOOK_SECRET": ""})
    assert "subscriptions.E001" not in smtp.stderr + smtp.stdout
