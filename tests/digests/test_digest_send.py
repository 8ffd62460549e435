"""Sending: exactly once, over one SMTP connection, and what 4xx, 5xx and dropped connections do.

The mail server is a real aiosmtpd server on a loopback port, told per test to
answer 451 or 550 or to hang up; nothing of ours is mocked.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from celery.exceptions import Retry
from django.core import mail
from django.db import connection
from django.utils import timezone

from digests.services.build import digests_build
from digests.services.day import digests_run_day
from digests.services.send import UNCERTAIN_ERROR, DigestsDeferred, digest_send_batch
from digests.services.sweep import digests_sweep_stuck
from digests.tasks import digest_send_batch as send_task
from subscriptions.errors import TransientError
from subscriptions.models import DeliveryEvent, Digest, Subscriber
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

DAY = dt.date(2024, 3, 12)


class Server:
    """aiosmtpd handler: records what it accepts and answers what a test asks for."""

    def __init__(self, *, pipelining: bool) -> None:
        self.pipelining = pipelining
        self.messages: list[email.message.EmailMessage] = []
        self.sessions = 0
        self.refuse_rcpt: dict[str, str] = {}  # address -> reply
        self.data_replies: list[str] = []  # replies to the next messages' end of DATA, in order
        self.hang_up_after_data = False
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.sessions += 1
        return [responses[0], "250-PIPELINING", *responses[1:]] if self.pipelining else responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.data_replies:
                reply = self.data_replies.pop(0)
                if not reply.startswith("250"):
                    return reply
            message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            self.messages.append(message)
        if self.hang_up_after_data:
            server.transport.close()  # took the message, never said so
        return "250 OK: queued"

    def recipients(self) -> Counter:
        return Counter(str(m["To"]) for m in self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["pipelining", "one command at a time"])
def smtp(request, settings):
    handler = Server(pipelining=request.param == "pipelining")
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()


def built(n: int) -> list[int]:
    """n subscribers with a ready digest for DAY; their digest ids, in order."""
    ListingFactory(paper=PaperFactory(title="Diffusion Policies for Robots"), listed_on=DAY)
    for i in range(n):
        KeywordFactory(subscriber=SubscriberFactory(email=f"r{i}@example.org"), text="diffusion")
    digests_build(digest_date=DAY)
    return list(Digest.objects.filter(digest_date=DAY, status=Digest.Status.READY).order_by("id")
                .values_list("id", flat=True))


def statuses() -> dict[str, str]:
    return dict(Digest.objects.values_list("subscriber__email", "status"))


@pytest.mark.django_db
def test_it_sends_each_digest_once_over_one_connection(smtp):
    ids = built(5)

    counts = digest_send_batch(digest_ids=ids)
    again = digest_send_batch(digest_ids=ids)  # a redelivered task

    assert (counts.sent, counts.failed, counts.deferred) == (5, 0, 0)
    assert (again.sent, again.failed) == (0, 0)
    assert smtp.sessions == 1
    assert smtp.recipients() == Counter({f"r{i}@example.org": 1 for i in range(5)})
    rows = {d.message_id: d for d in Digest.objects.filter(pk__in=ids)}
    assert {m["Message-ID"] for m in smtp.messages} == set(rows)
    assert all(d.status == Digest.Status.SENT and d.sent_at and d.attempts == 1 for d in rows.values())


@pytest.mark.django_db
def test_it_puts_the_rest_back_and_asks_for_a_retry_on_451(smtp):
    ids = built(5)
    smtp.data_replies = ["250", "250", "451 4.3.0 Try again later"]

    with pytest.raises(DigestsDeferred) as raised:
        digest_send_batch(digest_ids=ids)

    assert isinstance(raised.value, TransientError)  # what the task retries on
    assert (raised.value.counts.sent, raised.value.counts.deferred) == (2, 3)
    assert Counter(statuses().values()) == {"sent": 2, "ready": 3}
    assert "451" in Digest.objects.filter(status=Digest.Status.READY).first().error
    # The retry sends the other three, and nobody gets two.
    assert digest_send_batch(digest_ids=ids).sent == 3
    assert smtp.recipients() == Counter({f"r{i}@example.org": 1 for i in range(5)})
    assert set(statuses().values()) == {"sent"}


@pytest.mark.django_db
def test_it_fails_a_refused_recipient_counts_a_bounce_and_goes_on(smtp):
    ids = built(4)
    smtp.refuse_rcpt["r1@example.org"] = "550 5.1.1 <r1@example.org>: Recipient address rejected: User unknown"

    counts = digest_send_batch(digest_ids=ids)

    assert (counts.sent, counts.failed, counts.deferred) == (3, 1, 0)
    refused = Digest.objects.get(subscriber__email="r1@example.org")
    assert refused.status == Digest.Status.FAILED and "550 5.1.1" in refused.error
    assert Subscriber.objects.get(email="r1@example.org").hard_bounces == 1
    event = DeliveryEvent.objects.get(email="r1@example.org")
    assert event.kind == DeliveryEvent.Kind.BOUNCED and event.provider == "smtp"
    assert sorted(smtp.recipients()) == ["r0@example.org", "r2@example.org", "r3@example.org"]


@pytest.mark.django_db
def test_it_stops_mailing_after_three_hard_bounces(smtp):
    someone = SubscriberFactory(email="gone@example.org")
    KeywordFactory(subscriber=someone, text="diffusion")
    smtp.refuse_rcpt["gone@example.org"] = "550 5.1.1 User unknown"
    for offset in range(4):
        day = DAY + dt.timedelta(days=offset)
        ListingFactory(paper=PaperFactory(title=f"Diffusion Study {offset}"), listed_on=day)
        digests_run_day(digest_date=day)

    someone.refresh_from_db()
    assert someone.hard_bounces == 3 and someone.status == Subscriber.Status.BOUNCED
    assert Digest.objects.filter(subscriber=someone).count() == 3  # no fourth digest built
    assert not smtp.messages


@pytest.mark.django_db
def test_it_defers_a_recipient_the_server_wants_later_and_retries_only_that_one(smtp):
    ids = built(3)
    smtp.refuse_rcpt["r2@example.org"] = "452 4.2.2 Mailbox full, try later"

    with pytest.raises(DigestsDeferred):
        digest_send_batch(digest_ids=ids)

    assert statuses() == {"r0@example.org": "sent", "r1@example.org": "sent", "r2@example.org": "ready"}
    del smtp.refuse_rcpt["r2@example.org"]
    assert digest_send_batch(digest_ids=ids).sent == 1
    assert smtp.recipients() == Counter({f"r{i}@example.org": 1 for i in range(3)})


@pytest.mark.django_db
def test_it_never_resends_a_message_whose_answer_was_lost(smtp):
    ids = built(3)
    smtp.hang_up_after_data = True  # the server takes the first message, then the line drops

    with pytest.raises(DigestsDeferred):
        digest_send_batch(digest_ids=ids)
    smtp.hang_up_after_data = False
    digest_send_batch(digest_ids=ids)

    first = Digest.objects.get(pk=ids[0])
    assert first.status == Digest.Status.FAILED and first.error.startswith(UNCERTAIN_ERROR)
    assert first.message_id  # so it can be looked up in the mail server's log
    assert smtp.recipients() == Counter({f"r{i}@example.org": 1 for i in range(3)})


@pytest.mark.django_db
def test_it_puts_everything_back_when_the_server_is_down(settings):
    ids = built(2)
    port = free_port()  # nobody listens there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2

    with pytest.raises(DigestsDeferred):
        digest_send_batch(digest_ids=ids)

    assert set(statuses().values()) == {"ready"}
    assert "connect to 127.0.0.1" in Digest.objects.first().error


@pytest.mark.django_db
def test_the_task_retries_with_backoff_on_transient_failures(smtp):
    ids = built(2)
    smtp.data_replies = ["451 4.3.0 Try again later"]

    with pytest.raises(Retry) as retry:  # eager tasks propagate: the worker would schedule the retry
        send_task.apply(args=[ids])
    second = send_task.apply(args=[ids])

    assert isinstance(retry.value.exc, TransientError)
    assert second.state == "SUCCESS"
    assert second.result == {"sent": 2, "failed": 0, "deferred": 0}
    assert smtp.recipients() == Counter({"r0@example.org": 1, "r1@example.org": 1})
    options = send_task
    assert options.acks_late and options.reject_on_worker_lost
    assert options.autoretry_for == (TransientError,)
    assert options.retry_backoff and options.retry_jitter and options.time_limit


@pytest.mark.django_db
def test_a_second_batch_with_the_same_rows_claims_nothing(smtp):
    ids = built(4)
    stamp = timezone.now() - dt.timedelta(minutes=1)
    # Another worker holds two of them right now.
    Digest.objects.filter(pk__in=ids[:2]).update(status=Digest.Status.SENDING, claimed_at=stamp)

    counts = digest_send_batch(digest_ids=ids)

    assert counts.sent == 2
    assert sorted(smtp.recipients()) == ["r2@example.org", "r3@example.org"]
    assert Digest.objects.filter(pk__in=ids[:2], status=Digest.Status.SENDING, claimed_at=stamp).count() == 2


@pytest.mark.django_db(transaction=True)
def test_racing_batches_send_each_digest_once():
    ids = built(40)
    results, errors = [], []

    def worker(start=None):
        try:
            if start:
                start.wait()
            results.append(digest_send_batch(digest_ids=ids))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            if start:
                connection.close()

    if connection.vendor == "postgresql":
        # Four threads, four connections, released at the same instant.
        start = threading.Barrier(4)
        threads = [threading.Thread(target=worker, args=(start,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    else:
        # SQLite's shared in-memory test database locks whole tables across threads,
        # so the four batches arrive one after the other instead.
        for _ in range(4):
            worker()

    assert not errors
    assert sum(r.sent for r in results) == 40
    assert Counter(m.to[0] for m in mail.outbox) == Counter({f"r{i}@example.org": 1 for i in range(40)})


@pytest.mark.django_db
def test_the_sweeper_frees_a_dead_workers_rows_and_fails_the_one_in_flight(settings,
                                                                            django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in a worker: a broker takes the new send tasks
    ids = built(4)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    # A worker died mid-batch: one sent, one handed over (message_id set), two never touched.
    Digest.objects.filter(pk=ids[0]).update(status=Digest.Status.SENT, claimed_at=long_ago, sent_at=long_ago,
                                            message_id="<sent@x>")
    Digest.objects.filter(pk=ids[1]).update(status=Digest.Status.SENDING, claimed_at=long_ago, message_id="<flight@x>")
    Digest.objects.filter(pk__in=ids[2:]).update(status=Digest.Status.SENDING, claimed_at=long_ago)
    recent = Digest.objects.create(subscriber=SubscriberFactory(), digest_date=DAY, status=Digest.Status.SENDING,
                                   claimed_at=timezone.now(), papers=[1])

    with django_capture_on_commit_callbacks() as enqueued:
        reset = digests_sweep_stuck(older_than=dt.timedelta(minutes=20))

    assert reset == 2
    in_flight = Digest.objects.get(pk=ids[1])
    assert in_flight.status == Digest.Status.FAILED and in_flight.error == UNCERTAIN_ERROR
    assert Digest.objects.get(pk=ids[0]).status == Digest.Status.SENT
    assert set(Digest.objects.filter(status=Digest.Status.READY).values_list("id", flat=True)) == set(ids[2:])
    assert Digest.objects.get(pk=recent.pk).status == Digest.Status.SENDING  # its worker may be alive
    assert len(enqueued) == 1  # one send task for the two rows made ready
    # What that task does with them: sends the two never handed over, and only those.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    digest_send_batch(digest_ids=ids)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        Digest.objects.filter(pk__in=ids[2:]).values_list("subscriber__email", flat=True))


@pytest.mark.django_db
def test_the_sweeper_leaves_ready_rows_for_the_next_run_without_a_broker(django_capture_on_commit_callbacks):
    ids = built(2)
    Digest.objects.filter(pk__in=ids).update(status=Digest.Status.SENDING,
                                             claimed_at=timezone.now() - dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks() as enqueued:
        assert digests_sweep_stuck(older_than=dt.timedelta(minutes=20)) == 2

    assert not enqueued and not mail.outbox
    assert digests_run_day(digest_date=DAY).sent == 2  # the next run picks them up


@pytest.mark.django_db
def test_it_skips_a_digest_whose_reader_left_after_it_was_built():
    ids = built(2)
    Subscriber.objects.filter(email="r0@example.org").update(status=Subscriber.Status.UNSUBSCRIBED)

    counts = digest_send_batch(digest_ids=ids)

    assert counts.sent == 1 and [m.to for m in mail.outbox] == [["r1@example.org"]]
    left = Digest.objects.get(subscriber__email="r0@example.org")
    assert left.status == Digest.Status.SKIPPED and "unsubscribed" in left.error


@pytest.mark.django_db
def test_it_writes_eml_files_with_the_file_backend(settings, tmp_path):
    settings.EMAIL_BACKEND = "digest_site.mailfiles.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    ids = built(1)

    digest_send_batch(digest_ids=ids)

    [eml] = tmp_path.glob("*.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == Digest.objects.get(pk=ids[0]).message_id
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Diffusion Policies for Robots" in parsed.get_body(("html",)).get_content()
    assert list(tmp_path.glob("*.html"))  # opens in a browser


@pytest.mark.django_db
def test_a_line_starting_with_a_dot_arrives_intact(smtp):
    from tests.factories import DailyNoteFactory

    DailyNoteFactory(date=DAY, body=".NET 9 ships today.\n\n.\n\nThat line above was a lone dot.")
    ids = built(1)

    digest_send_batch(digest_ids=ids)

    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "\n.NET 9 ships today.\n\n.\n\nThat line above was a lone dot.\n" in text


@pytest.mark.django_db
def test_the_sweeper_does_not_requeue_rows_still_in_line_behind_a_long_send(settings, redis_url,
                                                                           django_capture_on_commit_callbacks):
    from celery import current_app
    from kombu import Connection

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_url
    previous_broker, current_app.conf.broker_url = current_app.conf.broker_url, redis_url
    queue = current_app.conf.task_default_queue
    ids = built(2)
    Digest.objects.filter(pk__in=ids).update(created_at=timezone.now() - dt.timedelta(hours=1))  # never claimed
    try:
        with Connection(redis_url) as conn:
            line = conn.SimpleQueue(queue)
            line.clear()
            line.put({"a": "task still waiting"})  # the day's send is not finished
            with django_capture_on_commit_callbacks() as while_busy:
                digests_sweep_stuck(older_than=dt.timedelta(minutes=20))
            line.clear()
            with django_capture_on_commit_callbacks() as once_empty:
                digests_sweep_stuck(older_than=dt.timedelta(minutes=20))
            line.close()
    finally:
        current_app.conf.broker_url = previous_broker

    assert while_busy == []
    assert len(once_empty) == 1  # now they are truly forgotten: one task for both
