"""EMAIL_URL: SMTP in its usual forms, or any django-anymail ESP."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.mail import get_connection, send_mail

from digest_site.email_url import EmailURLError, anymail_esps, email_url_settings


def test_it_reads_plain_smtp_for_mailpit():
    assert email_url_settings("smtp://mailpit:1025") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mailpit", "EMAIL_PORT": 1025, "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False,
    }


@pytest.mark.parametrize(
    "url, port, tls, ssl",
    [
        ("smtp://u:p@mail.example.org", 25, False, False),
        ("smtp+tls://u:p@mail.example.org", 587, True, False),
        ("smtps://u:p@mail.example.org", 465, False, True),
        ("smtp+ssl://u:p@mail.example.org:2465", 2465, False, True),
    ],
)
def test_it_picks_port_and_encryption_from_the_scheme(url, port, tls, ssl):
    config = email_url_settings(url)
    assert (config["EMAIL_PORT"], config["EMAIL_USE_TLS"], config["EMAIL_USE_SSL"]) == (port, tls, ssl)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("u", "p")


def test_it_decodes_a_percent_encoded_login():
    config = email_url_settings("smtp+tls://apikey%40example.org:p%2Fa%3As%40s@smtp.example.org:587?timeout=7")
    assert config["EMAIL_HOST_USER"] == "apikey@example.org"
    assert config["EMAIL_HOST_PASSWORD"] == "p/a:s@s"
    assert config["EMAIL_TIMEOUT"] == 7


def test_it_maps_an_anymail_url_to_the_esp_backend_and_its_settings():
    assert email_url_settings("anymail://postmark?server_token=abc-123") == {
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL": {"POSTMARK_SERVER_TOKEN": "abc-123"},
    }
    mailgun = email_url_settings(
        "anymail://mailgun?api_key=key-1&sender_domain=mg.example.org&webhook_signing_key=whk"
        "&api_url=https%3A%2F%2Fapi.eu.mailgun.net%2Fv3"
    )
    assert mailgun["ANYMAIL"] == {
        "MAILGUN_API_KEY": "key-1", "MAILGUN_SENDER_DOMAIN": "mg.example.org",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "whk", "MAILGUN_API_URL": "https://api.eu.mailgun.net/v3",
    }
    assert email_url_settings("anymail://amazon-ses")["EMAIL_BACKEND"] == "anymail.backends.amazon_ses.EmailBackend"


def test_it_knows_the_esps_anymail_ships():
    assert {"postmark", "mailgun", "sendgrid", "amazon_ses", "brevo", "sparkpost"} <= set(anymail_esps())
    assert "base" not in anymail_esps() and "test" not in anymail_esps()


@pytest.mark.parametrize(
    "url, message",
    [
        ("junk", "unknown scheme ''"),
        ("postmark://TOKEN@", "unknown scheme 'postmark'"),
        ("anymail://nosuchesp?api_key=1", "unknown ESP 'nosuchesp'"),
        ("anymail://postmark?server_token", "bad query string"),
        ("smtp://", "needs a host"),
        ("smtp://mail.example.org:99999", "out of range"),
        ("smtp://mail.example.org?tls=1", "unknown SMTP option"),
        ("smtp://mail.example.org?timeout=soon", "timeout='soon'"),
    ],
)
def test_it_refuses_what_it_cannot_use(url, message):
    with pytest.raises(EmailURLError, match=message):
        email_url_settings(url)


class _FakePostmark(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, dict(self.headers), body))
        answer = json.dumps({"To": body["To"], "SubmittedAt": "2024-03-12T07:00:00Z",
                             "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d", "ErrorCode": 0, "Message": "OK"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args):
        pass


def test_it_sends_through_the_esp_an_anymail_url_names(settings):
    """The whole path: EMAIL_URL -> anymail's Postmark backend -> an HTTP API (ours, on 127.0.0.1)."""
    _FakePostmark.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakePostmark)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = email_url_settings(
            f"anymail://postmark?server_token=tok-42&api_url=http%3A%2F%2F127.0.0.1%3A{server.server_port}%2F"
        )
        settings.ANYMAIL = config["ANYMAIL"]
        connection = get_connection(config["EMAIL_BACKEND"])
        sent = send_mail("Your papers", "Three new papers.", "digest@papers.example.org", ["reader@example.org"],
                         connection=connection)
    finally:
        server.shutdown()
        server.server_close()
    assert sent == 1
    path, headers, body = _FakePostmark.received[0]
    assert path == "/email"
    assert headers["X-Postmark-Server-Token"] == "tok-42"
    assert body["To"] == "reader@example.org" and body["Subject"] == "Your papers"
