"""Provider tracking webhooks: bounces, complaints and unsubscribes change the subscriber."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings

import pytest
from django.test import override_settings

from subscriptions.models import DeliveryEvent, Subscriber
from subscriptions.services.subscribers import subscriber_confirm, subscriber_resume
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

SECRET = "hooks:s3cret-Pa55"
MAILGUN_KEY = "mailgun-signing-key-123"


@pytest.fixture(autouse=True)
def _anymail(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": [SECRET], "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    # anymail warns that it no longer supports SendGrid officially; we still accept its events.
    warnings.filterwarnings("ignore", message=".*dropped official support for SendGrid.*")


def _auth(secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def sending_through(esp: str):
    """Settings for mail sent through this ESP: only its webhook URLs answer."""
    return override_settings(EMAIL_BACKEND=f"anymail.backends.{esp}.EmailBackend")


def _post(client, esp: str, payload, secret: str = SECRET):
    with sending_through(esp):
        return client.post(f"/anymail/{esp}/tracking/", data=json.dumps(payload), content_type="application/json",
                           **_auth(secret))


def postmark_bounce(email: str, event_id: int, kind: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": event_id, "Type": kind, "TypeCode": 1,
        "Name": "Hard bounce", "Tag": "digest", "MessageID": f"883953f4-6105-42a2-a16a-{event_id:012d}",
        "Metadata": {}, "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email, "From": "digest@papers.example.org", "BouncedAt": "2024-03-12T07:00:05Z",
        "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Your papers for Mar 12",
    }


def postmark_complaint(email: str, event_id: int = 7001) -> dict:
    return {
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": event_id, "Type": "SpamComplaint",
        "TypeCode": 512, "Name": "Spam complaint", "Tag": "", "MessageID": "00000000-0000-0000-0000-000000000042",
        "Metadata": {}, "ServerID": 23, "Description": "", "Details": "Test spam complaint details",
        "Email": email, "From": "digest@papers.example.org", "BouncedAt": "2024-03-12T09:33:54.9070259Z",
        "DumpAvailable": True, "Inactive": True, "CanActivate": False, "Subject": "Your papers for Mar 12",
    }


def postmark_unsubscribe(email: str) -> dict:
    return {
        "RecordType": "SubscriptionChange", "MessageID": "a4909a96-73d1-4c7a-a4a5-1eb1e0b4b9b3", "ServerID": 23,
        "MessageStream": "outbound", "ChangedAt": "2024-03-12T10:53:34.416071Z", "Recipient": email,
        "Origin": "Recipient", "SuppressSending": True, "SuppressionReason": "ManualSuppression",
        "Tag": "digest", "Metadata": {},
    }


def mailgun_event(email: str, event: str, token: str, *, key: str = MAILGUN_KEY, severity: str = "permanent") -> dict:
    timestamp = "1710230400"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    data = {
        "event": event, "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": 1710230400.375624, "recipient": email,
        "message": {"headers": {"message-id": "20240312070000.1.digest@mg.papers.example.org", "to": email,
                                "from": "digest@papers.example.org", "subject": "Your papers"}},
        "tags": [], "user-variables": {},
    }
    if event == "failed":
        data.update(severity=severity, reason="bounce",
                    **{"delivery-status": {"code": 550, "message": "5.1.1 No such user", "description": ""}})
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": data}


def sendgrid_events(email: str) -> list[dict]:
    base = {"email": email, "timestamp": 1710230400, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "category": ["digest"], "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}
    return [
        {**base, "event": "delivered", "sg_event_id": "sg-delivered-1", "response": "250 OK"},
        {**base, "event": "bounce", "sg_event_id": "sg-bounce-1", "reason": "500 unknown recipient",
         "status": "5.0.0", "type": "bounce"},
        {**base, "event": "bounce", "sg_event_id": "sg-blocked-1", "reason": "554 blocked by policy",
         "status": "5.7.1", "type": "blocked"},
        {**base, "event": "spamreport", "sg_event_id": "sg-spam-1"},
    ]


def _status(subscriber) -> tuple[str, int]:
    subscriber.refresh_from_db()
    return subscriber.status, subscriber.hard_bounces


def test_it_stops_mail_after_three_postmark_hard_bounces(client):
    reader = SubscriberFactory(email="gone@example.org")
    for n in (1, 2):
        assert _post(client, "postmark", postmark_bounce("gone@example.org", 1000 + n)).status_code == 200
    assert _status(reader) == ("active", 2)
    assert _post(client, "postmark", postmark_bounce("gone@example.org", 1003)).status_code == 200
    assert _status(reader) == ("bounced", 3)
    event = DeliveryEvent.objects.filter(subscriber=reader).first()
    assert event.kind == "bounced" and event.provider == "Postmark"
    assert "does not exist" in event.detail


def test_it_counts_a_retried_webhook_once(client):
    reader = SubscriberFactory(email="retry@example.org")
    payload = postmark_bounce("retry@example.org", 555)
    for _ in range(3):
        assert _post(client, "postmark", payload).status_code == 200
    assert _status(reader) == ("active", 1)
    assert DeliveryEvent.objects.filter(provider_event_id="555").count() == 1


def test_it_counts_a_retried_event_without_an_id_once(client):
    reader = SubscriberFactory(email="twice@example.org")
    for _ in range(2):
        assert _post(client, "postmark", postmark_unsubscribe("twice@example.org")).status_code == 200
    assert _status(reader)[0] == "unsubscribed"
    assert DeliveryEvent.objects.filter(email="twice@example.org").count() == 1


def test_it_keeps_mailing_after_a_soft_bounce(client):
    reader = SubscriberFactory(email="full@example.org")
    assert _post(client, "postmark", postmark_bounce("full@example.org", 77, kind="SoftBounce")).status_code == 200
    assert _status(reader) == ("active", 0)
    assert DeliveryEvent.objects.get(email="full@example.org").kind == "deferred"


def test_it_makes_a_complaint_sticky(client):
    reader = SubscriberFactory(email="Angry@Example.org")
    assert _post(client, "postmark", postmark_complaint("angry@example.org")).status_code == 200
    assert _status(reader)[0] == "complained"
    # Nothing moves them back: not a later provider event, not a confirm or resume link.
    _post(client, "postmark", postmark_unsubscribe("angry@example.org"))
    assert subscriber_confirm(subscriber_id=reader.pk) is False
    assert subscriber_resume(subscriber_id=reader.pk) is False
    assert _status(reader)[0] == "complained"


def test_it_unsubscribes_on_a_provider_unsubscribe(client):
    reader = SubscriberFactory(email="leaving@example.org")
    assert _post(client, "postmark", postmark_unsubscribe("leaving@example.org")).status_code == 200
    reader.refresh_from_db()
    assert reader.status == "unsubscribed" and reader.unsubscribed_at is not None


def test_it_refuses_a_webhook_without_the_secret(client):
    reader = SubscriberFactory(email="safe@example.org")
    response = _post(client, "postmark", postmark_complaint("safe@example.org"), secret="hooks:guess")
    assert response.status_code == 400
    with sending_through("postmark"):
        no_auth = client.post("/anymail/postmark/tracking/", data=json.dumps(postmark_complaint("safe@example.org")),
                              content_type="application/json")
    assert no_auth.status_code == 400
    assert _status(reader)[0] == "active"
    assert not DeliveryEvent.objects.exists()


def test_it_handles_mailgun_failures_and_complaints(client):
    bouncing = SubscriberFactory(email="bouncy@example.org")
    angry = SubscriberFactory(email="spam@example.org")
    for n in range(3):
        assert _post(client, "mailgun", mailgun_event("bouncy@example.org", "failed", f"tok-{n}")).status_code == 200
    assert _post(client, "mailgun", mailgun_event("spam@example.org", "complained", "tok-c")).status_code == 200
    assert _status(bouncing) == ("bounced", 3)
    assert _status(angry)[0] == "complained"


def test_it_keeps_mailing_after_a_temporary_mailgun_failure(client):
    reader = SubscriberFactory(email="later@example.org")
    payload = mailgun_event("later@example.org", "failed", "tok-t", severity="temporary")
    assert _post(client, "mailgun", payload).status_code == 200
    assert _status(reader) == ("active", 0)


def test_it_refuses_a_mailgun_event_with_a_bad_signature(client):
    reader = SubscriberFactory(email="forged@example.org")
    payload = mailgun_event("forged@example.org", "complained", "tok-f", key="not-the-key")
    assert _post(client, "mailgun", payload).status_code == 400
    assert _status(reader)[0] == "active"


def test_it_reads_a_batch_of_sendgrid_events(client):
    reader = SubscriberFactory(email="batch@example.org")
    assert _post(client, "sendgrid", sendgrid_events("batch@example.org")).status_code == 200
    kinds = sorted(DeliveryEvent.objects.filter(subscriber=reader).values_list("kind", flat=True))
    # The delivery is not stored; "blocked" is a temporary refusal, not a hard bounce.
    assert kinds == ["bounced", "complained", "deferred"]
    assert _status(reader) == ("complained", 1)


def test_it_records_events_for_unknown_addresses(client):
    assert _post(client, "postmark", postmark_bounce("stranger@example.org", 9)).status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.subscriber is None and event.email == "stranger@example.org"
    assert not Subscriber.objects.exists()


def postmark_inbound(subject: str, sender: str = "ada@example.org") -> dict:
    return {
        "FromName": "Ada", "MessageStream": "inbound", "From": sender,
        "FromFull": {"Email": sender, "Name": "Ada", "MailboxHash": ""},
        "To": "digest@papers.example.org",
        "ToFull": [{"Email": "digest@papers.example.org", "Name": "", "MailboxHash": ""}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": "digest@papers.example.org",
        "Subject": subject, "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "ReplyTo": "", "MailboxHash": "", "Date": "Tue, 12 Mar 2024 07:05:00 +0000",
        "TextBody": "", "HtmlBody": "", "StrippedTextReply": "", "Tag": "",
        "Headers": [{"Name": "X-Spam-Status", "Value": "No"}], "Attachments": [],
    }


def _inbound(client, payload, secret: str = SECRET):
    with sending_through("postmark"):
        return client.post("/anymail/postmark/inbound/", data=json.dumps(payload), content_type="application/json",
                           **_auth(secret))


def test_the_list_unsubscribe_mailto_unsubscribes_by_its_token(client):
    from subscriptions.tokens import subscriber_token

    ada = SubscriberFactory(email="ada@example.org", status=Subscriber.Status.ACTIVE)
    grace = SubscriberFactory(email="grace@example.org", status=Subscriber.Status.ACTIVE)
    token = subscriber_token(ada, "unsubscribe")

    assert _inbound(client, postmark_inbound(f"Re: unsubscribe {token}")).status_code == 200

    ada.refresh_from_db()
    grace.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED and grace.status == Subscriber.Status.ACTIVE


@pytest.mark.parametrize("subject", ["unsubscribe", "unsubscribe not-a-token", "Thanks for the papers!"])
def test_inbound_mail_without_a_valid_token_changes_nobody(client, subject):
    ada = SubscriberFactory(email="ada@example.org", status=Subscriber.Status.ACTIVE)

    # The From address alone is no proof: anyone can write it.
    assert _inbound(client, postmark_inbound(subject, sender="ada@example.org")).status_code == 200

    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE


def test_inbound_mail_needs_the_webhook_secret(client):
    from subscriptions.tokens import subscriber_token

    ada = SubscriberFactory(email="ada@example.org", status=Subscriber.Status.ACTIVE)
    response = _inbound(client, postmark_inbound(f"unsubscribe {subscriber_token(ada, 'unsubscribe')}"),
                        secret="hooks:wrong")

    assert response.status_code in (400, 401, 403)
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE
