"""The two account emails: subject, text and HTML parts, inlined CSS, and links that work."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from subscriptions.models import Subscriber
from tests.factories import KeywordFactory, SubscriberFactory

from .conftest import link_in, links_in

pytestmark = pytest.mark.django_db


def html_part(message) -> str:
    (html, mimetype), = message.alternatives
    assert mimetype == "text/html"
    return html


def test_the_confirmation_email_has_both_parts_and_a_working_link(signup, outbox):
    signup(email="ada@example.org", keywords="diffusion, speech recognition")
    message, = outbox
    assert message.subject == "Confirm your Trending Papers subscription"
    assert message.to == ["ada@example.org"]
    assert "diffusion" in message.body and "speech recognition" in message.body
    assert "7 days" in message.body
    html = html_part(message)
    assert "Confirm my subscription" in html
    # CSS written once in <style> is inlined; only @media stays in <style>.
    assert 'style="' in html and "background:#9a3412" in html.replace(": ", ":")
    assert re.search(r'class="card" style="[^"]*max-width:\s*560px', html)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.S)
    assert all(block.strip().startswith("@media") for block in styles)

    link = link_in(message, "/confirm/")
    assert link in html  # the same link in both parts
    client = Client()
    page = client.get(link)
    assert page.status_code == 200 and "Confirm my subscription" in page.content.decode()
    client.post(link)
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


def test_the_manage_email_has_working_manage_and_unsubscribe_links(signup, outbox):
    subscriber = SubscriberFactory(email="ada@example.org")
    KeywordFactory(subscriber=subscriber, text="graphs")
    signup(email="ada@example.org")
    message, = outbox
    assert message.subject == "Your link to manage your Trending Papers subscription"
    assert "graphs" in message.body and "graphs" in html_part(message)
    client = Client()
    manage = link_in(message, "/manage/")
    assert "Your subscription" in client.get(manage).content.decode()
    unsubscribe = link_in(message, "/unsubscribe/")
    assert unsubscribe in html_part(message)
    client.post(unsubscribe)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_links_use_the_site_url(signup, outbox, settings):
    signup()
    urls = re.findall(r"https?://\S+/confirm/\S+", outbox[0].body)
    assert urls and all(u.startswith(settings.SITE_URL + "/confirm/") for u in urls)
    assert links_in(outbox[0], "/confirm/") == [urls[0][len(settings.SITE_URL):]]
