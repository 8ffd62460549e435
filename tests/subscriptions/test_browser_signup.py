"""The whole signup flow in a real headless Chromium against Django's live server:
sign up on the home page (with the live keyword preview) → open the confirmation
link from the captured email → confirm → change keywords on the manage page →
unsubscribe. Every page is saved under var/screenshots/ at phone and desktop
widths, for a person to look at, and checked at both widths with axe-core and for
24 px tap targets (tests/browser.py).
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from subscriptions.models import Subscriber
from subscriptions.services.subscribers import subscriber_link
from tests.browser import (
    SCREENSHOTS,
    browser,  # noqa: F401 - the pytest fixture
    checked,
    screenshot,
    wait_for,
)
from tests.factories import ListingFactory, PaperFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_signs_up_confirms_edits_keywords_and_unsubscribes_in_a_real_browser(browser, live_server, settings):  # noqa: F811
    from selenium.webdriver.common.by import By

    settings.SITE_URL = live_server.url  # links in the emails point at the live server
    day = dt.date.today()
    for title in ("Scaling Diffusion Transformers to Video", "Diffusion Models for Protein Design",
                  "Speech Recognition Without Labels"):
        ListingFactory(paper=PaperFactory(title=title, abstract=f"{title}. We study it."), listed_on=day)

    # 1. The home page's subscribe box, with the live preview of what each keyword matches.
    browser.get(live_server.url + "/")
    email = wait_for(browser, "#sub-email")
    email.send_keys("ada@example.org")
    keywords = browser.find_element(By.ID, "sub-keywords")
    keywords.send_keys("diffusion, speech recognition")
    preview = wait_for(browser, "#sub-keywords-preview", "Scaling Diffusion Transformers to Video")
    assert "speech recognition" in preview.text
    checked(browser, "01-home-subscribe")

    # A mistake first: the error shows next to the field, nothing is stored.
    browser.get(live_server.url + "/subscribe/")
    browser.find_element(By.ID, "sub-email").send_keys("ada@example.org")
    browser.find_element(By.ID, "sub-keywords").send_keys("x" * 101)
    browser.find_element(By.CSS_SELECTOR, ".subscribe-form button[type=submit]").click()
    assert "at most 100" in wait_for(browser, "#sub-keywords-errors", "at most 100").text
    assert not Subscriber.objects.exists()
    checked(browser, "02-subscribe-error")
    field = browser.find_element(By.ID, "sub-keywords")
    field.clear()
    field.send_keys("diffusion, speech recognition")
    browser.find_element(By.CSS_SELECTOR, ".subscribe-form button[type=submit]").click()

    # 2. "Check your inbox".
    assert "Check your inbox" in wait_for(browser, "main h1", "Check your inbox").text
    checked(browser, "03-check-inbox")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.timezone != ""  # filled from the browser's zone

    # 3. The confirmation email, opened in the browser; the link shows a Confirm button.
    message, = mail.outbox
    assert message.subject == "Confirm your Trending Papers subscription"
    confirm_url = next(w for w in message.body.split() if "/confirm/" in w)
    assert confirm_url.startswith(live_server.url)
    html_file = SCREENSHOTS / "email-confirm.html"
    html_file.write_text(message.alternatives[0][0], encoding="utf-8")
    browser.get(html_file.as_uri())
    screenshot(browser, "04-email-confirm")
    browser.get(confirm_url)
    assert "One last step" in wait_for(browser, "main h1", "One last step").text
    checked(browser, "05-confirm")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING  # opening the link confirms nothing
    browser.find_element(By.XPATH, "//button[contains(., 'Confirm my subscription')]").click()

    # 4. Welcome page with a link to manage.
    assert "You’re subscribed" in wait_for(browser, "main h1", "You’re subscribed").text
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    checked(browser, "06-welcome")
    browser.find_element(By.LINK_TEXT, "Manage my subscription").click()

    # 5. The manage page: change keywords and frequency.
    assert "Your subscription" in wait_for(browser, "main h1", "Your subscription").text
    checked(browser, "07-manage")
    box = browser.find_element(By.ID, "id_keywords")
    box.clear()
    box.send_keys("protein design\nSpeech Recognition")
    wait_for(browser, "#manage-keywords-preview", "Diffusion Models for Protein Design")
    browser.find_element(By.CSS_SELECTOR, "input[name=frequency][value=weekly]").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Save changes']").click()
    assert "Saved." in wait_for(browser, ".messages", "Saved.").text
    subscriber.refresh_from_db()
    assert [k.text for k in subscriber.keywords.all()] == ["protein design", "Speech Recognition"]
    assert subscriber.frequency == "weekly"
    checked(browser, "08-manage-saved")

    # 6. Unsubscribe from the link a digest carries: a page with one button, then done.
    browser.get(subscriber_link(subscriber, "unsubscribe"))
    assert "Unsubscribe?" in wait_for(browser, "main h1", "Unsubscribe?").text
    checked(browser, "09-unsubscribe")
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Unsubscribe']").click()
    assert "You’re unsubscribed" in wait_for(browser, "main h1", "You’re unsubscribed").text
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    checked(browser, "10-unsubscribed")

    # 7. The pages nobody hopes to see still look finished.
    browser.get(live_server.url + "/manage/not-a-token/")
    assert "This link doesn’t work" in wait_for(browser, "main h1", "This link doesn’t work").text
    checked(browser, "11-bad-link")

    assert len(list(SCREENSHOTS.glob("*-phone-390.png"))) >= 11
    # No script errors; the 400 answers to the bad form and the bad link are expected.
    errors = [e["message"] for e in browser.get_log("browser")
              if e.get("level") == "SEVERE" and "status of 400" not in e["message"]]
    assert errors == []
