"""The reader's new pages in a real headless Chromium (issue 13): subscribing to just the
trending list, words to keep out and authors on the manage page, a "more like this"
vote, leaving gently, signing up from a search and from a paper. Every page is saved
under var/screenshots/ at phone and desktop widths and checked with axe-core.
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from digests.services.build import digests_build
from subscriptions.models import Subscriber, Vote
from subscriptions.services.subscribers import subscriber_link
from subscriptions.tokens import subscriber_token
from tests.browser import (
    browser,  # noqa: F401 - the pytest fixture
    checked,
    page_text,
    wait_for,
)
from tests.factories import ListingFactory, PaperFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def papers():
    day = dt.date.today()
    made = {}
    for n, (key, title, abstract) in enumerate([
        ("top", "The Paper Everyone Reads: Scaling Laws", "Scaling laws for language models."),
        ("survey", "A Survey of Diffusion Models", "We review diffusion models."),
        ("diffusion", "Fast Diffusion Sampling", "A sampler for diffusion models."),
        ("protein", "Diffusion for Protein Design", "Protein design with diffusion models."),
    ]):
        made[key] = PaperFactory(title=title, abstract=abstract, upvotes=100 - 10 * n,
                                 ai_keywords=["diffusion models"] if key == "diffusion" else [],
                                 ai_summary="A faster sampler." if key == "diffusion" else "",
                                 authors=["Yann LeCun"] if key == "protein" else ["Ada Lovelace"])
        ListingFactory(paper=made[key], listed_on=day, rank=n + 1, upvotes=100 - 10 * n)
    return made


def test_a_reader_talks_back_in_a_real_browser(browser, live_server, settings, papers):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    settings.SITE_URL = live_server.url

    # 1. Subscribe with no keywords: the form and its preview say it is the trending list.
    browser.get(live_server.url + "/subscribe/")
    browser.find_element(By.ID, "sub-email").send_keys("ada@example.org")
    box = browser.find_element(By.ID, "sub-keywords")
    box.send_keys("x")
    box.send_keys(Keys.BACK_SPACE)
    preview = wait_for(browser, "#sub-keywords-preview", "top 10 trending papers")
    assert "The Paper Everyone Reads" in preview.text
    checked(browser, "20-subscribe-trending-only")
    browser.find_element(By.CSS_SELECTOR, ".subscribe-form button[type=submit]").click()
    wait_for(browser, "main h1")
    subscriber = Subscriber.objects.get()
    assert subscriber.trending == Subscriber.Trending.ONLY
    assert "top 10 trending" in mail.outbox[-1].body
    browser.get(subscriber_link(subscriber, "confirm"))
    browser.find_element(By.XPATH, "//button[contains(., 'Confirm my subscription')]").click()
    assert "top 10 trending papers" in wait_for(browser, "main", "You’re subscribed").text

    # 2. The manage page: switch to keywords plus the top 3, keep out surveys, follow an author.
    browser.get(subscriber_link(subscriber, "manage"))
    browser.find_element(By.CSS_SELECTOR, "input[name=trending][value=top3]").click()
    browser.find_element(By.ID, "id_keywords").send_keys("diffusion")
    browser.find_element(By.ID, "id_exclusions").send_keys("survey")
    preview = wait_for(browser, "#manage-keywords-preview", "keeps out 1 of its papers")
    assert "A Survey of Diffusion Models" in preview.text and "Plus the day’s top 3 trending papers" in preview.text
    browser.find_element(By.ID, "id_authors").send_keys("Y. LeCun")
    checked(browser, "21-manage-trending-exclusions-authors")
    browser.find_element(By.XPATH, "//button[normalize-space()='Save changes']").click()
    assert "Saved." in wait_for(browser, ".messages", "Saved.").text
    subscriber.refresh_from_db()
    assert subscriber.trending == "top3"
    assert [e.text for e in subscriber.exclusions.all()] == ["survey"]
    assert [a.key for a in subscriber.followed_authors.all()] == ["y lecun"]
    assert "/feed/" in browser.find_element(By.CSS_SELECTOR, ".sub-feed-url").get_attribute("value")

    # 3. The digest's web view: each paper with its reason and More / Fewer like this.
    digests_build(digest_date=dt.date.today(), subscriber_ids=[subscriber.pk])
    web_token = subscriber_token(subscriber, "digest", extra=dt.date.today().isoformat())
    browser.get(f"{live_server.url}/digest/{web_token}/")
    text = page_text(browser)
    assert "Trending today" in text and "By an author you follow: Y. LeCun" in text
    assert "In one line: A faster sampler." in text
    checked(browser, "22-digest-view-votes")

    # "More like this" from an email link: a page with one button, then what changed and undo.
    token = subscriber_token(subscriber, "digest", extra=dt.date.today().isoformat())
    browser.get(f"{live_server.url}/vote/{token}/{papers['diffusion'].id}/more/")
    checked(browser, "23-vote-confirm")
    assert not Vote.objects.exists()
    browser.find_element(By.XPATH, "//main//button[normalize-space()='More like this']").click()
    assert "Noted: more like this" in wait_for(browser, "main h1", "Noted").text
    assert "Diffusion for Protein Design" in page_text(browser)  # a recent paper it moves up
    checked(browser, "24-vote-done")
    assert Vote.objects.get().value == 1
    browser.get(subscriber_link(subscriber, "manage") + "#votes")
    assert "Fast Diffusion Sampling" in browser.find_element(By.ID, "votes").text

    # 4. Leaving gently: weekly, pause or keywords before the button.
    browser.get(subscriber_link(subscriber, "unsubscribe"))
    checked(browser, "25-unsubscribe-gently")
    browser.find_element(By.XPATH, "//button[normalize-space()='Pause for now']").click()
    assert "Your digests are paused" in wait_for(browser, "main h1", "paused").text
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PAUSED

    # 5. Sign up from a search and from a paper page.
    browser.get(live_server.url + "/search/?q=diffusion")
    browser.find_element(By.LINK_TEXT, "Get these by email").click()
    assert wait_for(browser, "#sub-keywords").get_attribute("value") == "diffusion"
    browser.get(f"{live_server.url}/papers/{papers['diffusion'].id}/")
    assert "In one line: A faster sampler." in page_text(browser)
    checked(browser, "26-paper-topics")
    browser.find_element(By.LINK_TEXT, "diffusion models").click()
    assert wait_for(browser, "#sub-keywords").get_attribute("value") == "diffusion models"
