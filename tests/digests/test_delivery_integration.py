"""Delivery on the real parts: Celery worker processes, the Redis broker, an SMTP server.

Each test checks what arrives at the SMTP sink and the Digest rows, never a
mock. Exactly once means: every due subscriber has one Digest row for the day
and the server accepted at most one message per subscriber, whatever we rerun,
race or kill.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import signal
import time
from collections import Counter

import pytest

from subscriptions.models import Digest, Subscriber
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 3, 12)
TOPICS = {
    "diffusion": "Diffusion Models Beat GANs on Protein Design",
    "speech recognition": "Streaming Speech Recognition with Tiny Transformers",
    "retrieval": "Retrieval Heads Explain Long-Context Factuality",
}
COUNTS = re.compile(r"built=(\d+) sent=(\d+) skipped=(\d+) failed=(\d+)")


def seed_day(due: int) -> list[str]:
    """Papers listed on DAY, `due` subscribers whose keywords match one of them, and people who must get nothing."""
    for rank, title in enumerate(TOPICS.values(), start=1):
        paper = PaperFactory(title=title, abstract=f"{title}. We report results.")
        ListingFactory(paper=paper, listed_on=DAY, rank=rank)
    keywords = list(TOPICS)
    emails = []
    for i in range(due):
        sub = SubscriberFactory(email=f"due{i:03d}@example.org")
        KeywordFactory(subscriber=sub, text=keywords[i % len(keywords)])
        emails.append(sub.email)
    for status in (Subscriber.Status.PAUSED, Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.PENDING):
        KeywordFactory(subscriber=SubscriberFactory(email=f"{status}@example.org", status=status), text="diffusion")
    # Active, but nothing new matches: skipped, no email.
    KeywordFactory(subscriber=SubscriberFactory(email="nomatch@example.org"), text="quantum chromodynamics")
    return emails


def counts_of(result) -> dict[str, int]:
    assert result.returncode == 0, f"send_digests exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    found = COUNTS.findall(result.stdout)
    assert found, f"send_digests printed no counts line:\n{result.stdout}\n{result.stderr}"
    return dict(zip(("built", "sent", "skipped", "failed"), map(int, found[-1]), strict=False))


def wait_settled(delivery, *, timeout: float = 60) -> dict[str, int]:
    """Wait until no digest of the day is ready or sending; return the count per status."""
    deadline = time.monotonic() + timeout
    while True:
        by_status = Counter(Digest.objects.filter(digest_date=DAY).values_list("status", flat=True))
        if not by_status[Digest.Status.READY] and not by_status[Digest.Status.SENDING] and by_status:
            return dict(by_status)
        if time.monotonic() > deadline:
            pytest.fail(f"digests not settled in {timeout:.0f}s: {dict(by_status)}\n{delivery.worker_logs()}")
        time.sleep(0.2)


def wait_for_log(worker, task_name: str, runs: int, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while worker.succeeded(task_name) < runs:
        if time.monotonic() > deadline:
            pytest.fail(f"worker finished {worker.succeeded(task_name)} runs of {task_name}, expected {runs}:\n"
                        f"{worker.log()}")
        time.sleep(0.1)


def bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


def text_part(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg.get_body(preferencelist=("plain",)).get_content()


def assert_each_got_one(delivery, due: list[str]) -> None:
    """Every due subscriber got exactly one message, it is theirs, and the rows say so."""
    received = delivery.sink.messages
    per_rcpt = Counter(r for m in received for r in m.rcpt_tos)
    doubles = {r: n for r, n in per_rcpt.items() if n > 1}
    assert not doubles, f"someone got more than one message: {doubles}"
    missing, unexpected = set(due) - set(per_rcpt), set(per_rcpt) - set(due)
    assert sorted(per_rcpt) == sorted(due), f"missing: {missing}, unexpected: {unexpected}"
    rows = list(Digest.objects.filter(digest_date=DAY, subscriber__email__in=due).select_related("subscriber"))
    assert Counter(d.subscriber.email for d in rows) == Counter(due), "not exactly one Digest row per due subscriber"
    assert {d.status for d in rows} == {Digest.Status.SENT}
    assert all(d.sent_at for d in rows)
    ids = [bare(m.message_id) for m in received]
    assert len(set(ids)) == len(ids) == len(due), f"Message-IDs not distinct: {Counter(ids).most_common(3)}"
    assert set(ids) == {bare(d.message_id) for d in rows}, "Message-IDs at the server differ from the rows'"
    for m in received:
        to = email.message_from_bytes(m.raw, policy=email.policy.default)["To"]
        assert m.rcpt_tos[0] in str(to).lower(), f"envelope {m.rcpt_tos} but To: {to}"


def test_it_delivers_a_day_once_through_a_worker(delivery):
    due = seed_day(9)
    delivery.start_worker()

    counts = counts_of(delivery.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "60"))

    assert counts == {"built": 9, "sent": 9, "skipped": 1, "failed": 0}
    assert_each_got_one(delivery, due)
    by_rcpt = {m.rcpt_tos[0]: m for m in delivery.sink.messages}
    # due000 follows "diffusion": its email is about the diffusion paper, not the others.
    body = text_part(by_rcpt["due000@example.org"].raw)
    assert TOPICS["diffusion"] in body
    assert TOPICS["retrieval"] not in body
    assert Digest.objects.get(subscriber__email="nomatch@example.org", digest_date=DAY).status == Digest.Status.SKIPPED
    assert not Digest.objects.filter(subscriber__status__in=["paused", "unsubscribed", "pending"]).exists()


def test_it_sends_nothing_more_when_the_day_runs_again(delivery):
    due = seed_day(6)
    worker = delivery.start_worker()
    first = counts_of(delivery.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "60"))
    assert first["sent"] == 6
    assert_each_got_one(delivery, due)
    ids = list(Digest.objects.filter(digest_date=DAY, status=Digest.Status.SENT).values_list("id", flat=True))

    again = counts_of(delivery.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "60"))
    # And a batch task delivered a second time, as a broker redelivery would.
    delivery.send_task("subscriptions.tasks.digest_send_batch", kwargs={"digest_ids": ids})
    delivery.send_task("subscriptions.tasks.digests_dispatch")
    wait_for_log(worker, "subscriptions.tasks.digest_send_batch", 2)  # the first run's batch, then the repeat
    wait_for_log(worker, "subscriptions.tasks.digests_dispatch", 1)

    assert again["built"] == 0 and again["sent"] == 0
    assert_each_got_one(delivery, due)
    assert Digest.objects.filter(digest_date=DAY).count() == 7  # 6 sent + 1 skipped


def test_it_never_doubles_when_two_workers_race_for_the_same_batches(delivery):
    from digests.services.build import digests_build

    due = seed_day(30)
    delivery.sink.handler.reply_delay = 0.02  # each batch takes a while, so both workers get some
    workers = [delivery.start_worker(wait=False), delivery.start_worker(wait=False)]
    for worker in workers:
        worker.wait_ready()
    assert digests_build(digest_date=DAY).built == 30
    ids = sorted(Digest.objects.filter(digest_date=DAY, status=Digest.Status.READY).values_list("id", flat=True))
    # Every batch is enqueued twice, so four pool processes fight over each row.
    for start in range(0, len(ids), 5):
        for _ in range(2):
            delivery.send_task("subscriptions.tasks.digest_send_batch", kwargs={"digest_ids": ids[start : start + 5]})

    wait_settled(delivery)
    delivery.sink.wait_for(30, timeout=10)
    time.sleep(1)  # a late duplicate would land now

    assert_each_got_one(delivery, due)
    logs = [w.log(tail=10_000) for w in workers]
    assert all("succeeded" in log for log in logs), "both workers should have taken part in the race"


def test_it_recovers_from_a_worker_killed_mid_batch_without_doubling(delivery):
    from digests.services.sweep import digests_sweep_stuck

    due = seed_day(40)
    delivery.sink.handler.reply_delay = 0.05  # a slow server, so the kill lands mid-batch
    worker = delivery.start_worker()
    run = delivery.manage_background("send_digests", "--date", DAY.isoformat(), "--timeout", "120")
    try:
        delivery.sink.wait_for(10, timeout=60, why="before the kill")
        worker.sigkill()
        at_kill = {m.rcpt_tos[0] for m in delivery.sink.messages}
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
        run.wait(timeout=10)
    assert 10 <= len(at_kill) < 40, f"the kill did not land mid-batch ({len(at_kill)} of 40 delivered)"
    stuck = Digest.objects.filter(digest_date=DAY, status=Digest.Status.SENDING).count()
    assert stuck > 0, "rows claimed by the killed batch should be left in 'sending'"

    delivery.sink.handler.reply_delay = 0
    delivery.start_worker()
    digests_sweep_stuck(older_than=dt.timedelta(0))
    counts_of(delivery.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "60"))
    by_status = wait_settled(delivery)

    received = delivery.sink.messages
    per_rcpt = Counter(r for m in received for r in m.rcpt_tos)
    assert max(per_rcpt.values()) == 1, f"someone got two: {per_rcpt.most_common(3)}"
    rows = Digest.objects.filter(digest_date=DAY, subscriber__email__in=due)
    assert Counter(rows.values_list("subscriber__email", flat=True)) == Counter(due)
    # The message in flight at the kill: the server had it (committed before its 250)
    # but the worker never heard back. It must not be sent again.
    in_doubt = [d for d in rows.select_related("subscriber") if d.status != Digest.Status.SENT]
    missing = set(due) - set(per_rcpt)
    assert len(in_doubt) <= 2, f"more rows in doubt than pool processes killed: {by_status}"
    assert missing <= {d.subscriber.email for d in in_doubt}, f"lost without a failed row: {missing}"
    for d in in_doubt:
        assert d.status == Digest.Status.FAILED and d.error, (
            f"in-doubt row {d.subscriber.email}: {d.status} {d.error!r}")
    print(f"in flight at the kill: {[(d.subscriber.email, d.subscriber.email in per_rcpt, d.error) for d in in_doubt]}")


# Postfix offers PIPELINING and the sender then batches commands; servers without it get one at a time.
BOTH_SMTP_DIALOGUES = pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-at-a-time"])


@BOTH_SMTP_DIALOGUES
def test_it_retries_a_451_and_delivers_once(delivery, pipelining):
    due = seed_day(5)
    delivery.sink.handler.pipelining = pipelining
    delivery.sink.handler.defer_first = 2
    delivery.start_worker()

    counts = counts_of(delivery.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "90", timeout=150))

    refusals = delivery.sink.handler.refusals
    assert [r.code for r in refusals] == [451, 451], "the server should have deferred twice"
    assert counts["sent"] == 5 and counts["failed"] == 0
    assert_each_got_one(delivery, due)
    deferred = {r.rcpt_tos[0] for r in refusals}
    assert all(d.attempts >= 2 for d in Digest.objects.filter(subscriber__email__in=deferred, digest_date=DAY))


@BOTH_SMTP_DIALOGUES
def test_it_fails_only_the_digest_the_server_rejects_with_550(delivery, pipelining):
    due = seed_day(6)
    delivery.sink.handler.pipelining = pipelining
    rejected = due[2]
    delivery.sink.handler.reject_rcpt = {rejected}
    delivery.start_worker()

    counts = counts_of(delivery.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "60"))

    assert counts["sent"] == 5 and counts["failed"] == 1
    assert rejected not in delivery.sink.recipients()
    failed = Digest.objects.get(subscriber__email=rejected, digest_date=DAY)
    assert failed.status == Digest.Status.FAILED
    assert "550" in failed.error
    assert Subscriber.objects.get(email=rejected).hard_bounces == 1
    others = [e for e in due if e != rejected]
    assert sorted(delivery.sink.recipients()) == sorted(others)
    assert max(delivery.sink.recipients().values()) == 1
