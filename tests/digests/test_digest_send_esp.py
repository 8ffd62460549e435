"""Sending through an email provider's HTTP API (django-anymail), against a real local HTTP server.

anymail's Postmark backend posts to POSTMARK_API_URL; here that is a small
server on loopback that answers as Postmark does (accepted, invalid request,
inactive recipient, overloaded, bad token) or takes too long to answer. What
matters is what each answer does to the digest row: sent once, failed without
a resend when the provider may have it, back to ready when it surely does not.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from digests.services.send import UNCERTAIN_ERROR, DigestsDeferred, digest_send_batch
from digests.smtp import SenderRefused
from subscriptions.models import DeliveryEvent, Digest, Subscriber
from tests.digests.test_digest_send import built, statuses  # the same day, seen through the SMTP tests

CLIENT_TIMEOUT = 0.5


class FakePostmark(ThreadingHTTPServer):
    """Answers POST /email with the next scripted reply; records every message it accepted."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # "ok", "slow-ok", "invalid", "inactive", "no-credits", "busy", "bad-token"; then "ok"
        self.replies: list[str] = []
        self.accepted: list[str] = []
        self.requests = 0


class _Handler(BaseHTTPRequestHandler):
    server: FakePostmark

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests += 1
        reply = self.server.replies.pop(0) if self.server.replies else "ok"
        to = body["To"]
        if reply in ("ok", "slow-ok"):
            self.server.accepted.append(to)  # accepted before answering, as a provider does
            if reply == "slow-ok":
                time.sleep(CLIENT_TIMEOUT * 3)  # the answer never reaches the client in time
            self._answer(200, {"To": to, "SubmittedAt": "2024-03-12T07:00:00Z", "MessageID": str(uuid.uuid4()),
                               "ErrorCode": 0, "Message": "OK"})
        elif reply == "invalid":
            self._answer(422, {"ErrorCode": 300, "Message": "Invalid 'From' address: 'nobody'."})
        elif reply == "inactive":
            self._answer(422, {"ErrorCode": 406, "Message": (
                f"You tried to send to a recipient that has been marked as inactive.\n Found inactive addresses: "
                f"{to}.\n Inactive recipients are ones that have generated a hard bounce or a spam complaint. ")})
        elif reply == "no-credits":
            self._answer(422, {"ErrorCode": 405, "Message": "Not allowed to send: you have run out of credits."})
        elif reply == "busy":
            self._answer(503, {"ErrorCode": 100, "Message": "Maintenance"})
        elif reply == "bad-token":
            self._answer(401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (slow-ok)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def postmark(settings):
    server = FakePostmark()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "test-token", "REQUESTS_TIMEOUT": CLIENT_TIMEOUT,
                        "POSTMARK_API_URL": f"http://127.0.0.1:{server.server_address[1]}/"}
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_it_sends_each_digest_once_through_the_provider(postmark):
    ids = built(3)

    counts = digest_send_batch(digest_ids=ids)

    assert counts.sent == 3 and sorted(postmark.accepted) == ["r0@example.org", "r1@example.org", "r2@example.org"]
    assert set(statuses().values()) == {"sent"}


@pytest.mark.django_db
def test_an_answer_that_times_out_is_never_resent(postmark):
    ids = built(3)
    postmark.replies = ["ok", "slow-ok"]  # the second message is accepted, its answer lost

    with pytest.raises(DigestsDeferred):
        digest_send_batch(digest_ids=ids)
    assert statuses() == {"r0@example.org": "sent", "r1@example.org": "failed", "r2@example.org": "ready"}
    assert Digest.objects.get(subscriber__email="r1@example.org").error.startswith(UNCERTAIN_ERROR)

    digest_send_batch(digest_ids=ids)  # the task's retry

    assert sorted(postmark.accepted) == ["r0@example.org", "r1@example.org", "r2@example.org"]  # nobody twice
    assert statuses()["r2@example.org"] == "sent"


@pytest.mark.django_db
def test_a_provider_that_is_down_or_overloaded_gets_everything_later(postmark, settings):
    ids = built(2)
    postmark.replies = ["busy"]

    with pytest.raises(DigestsDeferred):
        digest_send_batch(digest_ids=ids)
    assert set(statuses().values()) == {"ready"} and postmark.accepted == []

    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_API_URL": "http://127.0.0.1:9/"}  # nothing listens there
    with pytest.raises(DigestsDeferred):
        digest_send_batch(digest_ids=ids)
    assert set(statuses().values()) == {"ready"}


@pytest.mark.django_db
def test_a_refused_recipient_fails_and_counts_a_bounce_and_a_rejected_message_fails(postmark):
    ids = built(3)
    postmark.replies = ["inactive", "invalid"]

    counts = digest_send_batch(digest_ids=ids)

    assert counts.sent == 1 and counts.failed == 2
    assert statuses() == {"r0@example.org": "failed", "r1@example.org": "failed", "r2@example.org": "sent"}
    assert list(DeliveryEvent.objects.filter(email="r0@example.org", kind=DeliveryEvent.Kind.BOUNCED)
                .values_list("provider", flat=True)) == ["postmark"]
    assert not DeliveryEvent.objects.filter(email="r1@example.org").exists()
    assert Subscriber.objects.get(email="r0@example.org").status == Subscriber.Status.ACTIVE  # one bounce of three


@pytest.mark.django_db
def test_bad_credentials_stop_the_batch_and_keep_every_digest(postmark):
    ids = built(2)
    postmark.replies = ["bad-token"]

    with pytest.raises(SenderRefused, match="refuses our credentials"):
        digest_send_batch(digest_ids=ids)

    assert set(statuses().values()) == {"ready"} and postmark.requests == 1


@pytest.mark.django_db
def test_the_same_rejection_twice_in_a_row_is_the_account_and_fails_nobody(postmark):
    ids = built(3)
    postmark.replies = ["no-credits", "no-credits"]

    with pytest.raises(SenderRefused, match="rejects every message"):
        digest_send_batch(digest_ids=ids)

    assert set(statuses().values()) == {"ready"} and postmark.accepted == []
    assert digest_send_batch(digest_ids=ids).sent == 3  # credits bought: everyone gets theirs, once
    assert sorted(postmark.accepted) == ["r0@example.org", "r1@example.org", "r2@example.org"]
