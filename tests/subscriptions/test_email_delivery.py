"""Emails leave only after commit, and a broken mail server never breaks a signup."""
from __future__ import annotations

import socket

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from subscriptions import tasks
from subscriptions.errors import TransientError, is_transient
from subscriptions.models import Subscriber
from subscriptions.services.subscribers import subscriber_signup
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    # A port nothing listens on: bind, read the number, close.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mail_server_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2


def test_it_sends_nothing_before_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        subscriber_signup(email="ada@example.org", keywords="diffusion")
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_it_sends_nothing_when_the_signup_rolls_back(django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        subscriber_signup(email="ada@example.org", keywords="diffusion")
        raise RuntimeError("something later in the request failed")
    assert callbacks == []
    assert mail.outbox == []
    assert not Subscriber.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_sends_after_a_real_commit_and_not_after_a_real_rollback():
    with pytest.raises(RuntimeError), transaction.atomic():
        subscriber_signup(email="rolled@example.org", keywords="diffusion")
        raise RuntimeError("boom")
    assert mail.outbox == []
    subscriber_signup(email="kept@example.org", keywords="diffusion")  # autocommit: commits, then sends
    assert [m.to for m in mail.outbox] == [["kept@example.org"]]


def test_it_signs_up_while_the_mail_server_is_down(client, mail_server_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("subscriptions:subscribe"),
                               {"email": "ada@example.org", "keywords": "diffusion"})
    assert response.status_code == 302
    assert client.get(response.url).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


@pytest.fixture
def hanging_up_server(settings):
    """A real TCP server that accepts and hangs up at once, counting connections."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.getsockname()[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    yield accepted
    stop.set()
    thread.join(2)
    server.close()


def test_the_task_retries_with_backoff_when_the_mail_server_is_down(hanging_up_server):
    task = tasks.send_confirmation_email
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
    propagates = task.app.conf.task_eager_propagates
    task.app.conf.task_eager_propagates = False  # so each eager retry reports instead of raising
    try:
        result = task.apply(args=[subscriber.pk])
    finally:
        task.app.conf.task_eager_propagates = propagates
    # Eager mode walks the whole retry chain at once; a worker waits 1 s, 2 s, 4 s ... between them.
    assert len(hanging_up_server) == 1 + task.max_retries
    assert result.state == "FAILURE"
    assert isinstance(result.result, TransientError)
    assert "SMTPServerDisconnected" in str(result.result)
    assert task.retry_backoff is True and task.retry_jitter is True
    assert task.autoretry_for == (TransientError,)


def test_the_task_does_not_retry_a_bug(settings):
    settings.EMAIL_BACKEND = "tests.subscriptions.test_email_delivery.BrokenBackend"
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
    result = tasks.send_confirmation_email.apply(args=[subscriber.pk], throw=False)
    assert result.state == "FAILURE"  # at once: no retry
    assert isinstance(result.result, ValueError)


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ValueError("a bug in the backend, not a network problem")


def test_the_task_payload_is_an_id_that_survives_json():
    import json

    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
    payload = json.loads(json.dumps([subscriber.pk]))
    assert tasks.send_confirmation_email.apply(args=payload).get() is True
    assert mail.outbox[0].to == [subscriber.email]


def test_the_task_skips_a_subscriber_who_confirmed_or_was_erased_meanwhile():
    active = SubscriberFactory(status=Subscriber.Status.ACTIVE)
    assert tasks.send_confirmation_email.apply(args=[active.pk]).get() is False
    assert tasks.send_confirmation_email.apply(args=[999999]).get() is False
    assert tasks.send_manage_link_email.apply(args=[999999]).get() is False
    assert mail.outbox == []


@pytest.mark.parametrize("exc,transient", [
    (ConnectionRefusedError(), True),
    (TimeoutError(), True),
    (socket.gaierror(), True),
    (__import__("smtplib").SMTPServerDisconnected("gone"), True),
    (__import__("smtplib").SMTPResponseException(421, b"try later"), True),
    (__import__("smtplib").SMTPResponseException(550, b"no such user"), False),
    (__import__("smtplib").SMTPRecipientsRefused({"a@b": (450, b"busy")}), True),
    (__import__("smtplib").SMTPRecipientsRefused({"a@b": (550, b"unknown")}), False),
    (ValueError("a bug"), False),
])
def test_it_retries_only_failures_a_retry_can_fix(exc, transient):
    assert is_transient(exc) is transient
