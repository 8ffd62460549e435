"""The public site as a reader meets it, in a real headless Chromium at 1280×900 and
390×844: papers on the first screen, one search box on a phone, and every public
page free of serious or critical axe-core violations with tap targets of 24 px.

(The signup flow's pages get the same check in tests/subscriptions/test_browser_signup.py.)
`UPDATE_DOCS_SCREENSHOTS=1` (make docs-screenshots) also refreshes docs/home.png.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time

import pytest
from selenium.webdriver.common.by import By

from subscriptions.services.subscribers import subscriber_link
from tests.browser import (
    SCREENSHOTS,
    assert_accessible,
    at_width,
    browser,  # noqa: F401 - the pytest fixture
    reset_width,
    save_png,
)
from tests.conftest import REPO
from tests.factories import DailyNoteFactory, KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DAY = dt.date.today()
TOPICS = [
    ("Scaling Diffusion Transformers to Video", 131, "https://github.com/example/video-dit"),
    ("Retrieval-Augmented Generation for Long Documents", 88, ""),
    ("Speech Recognition Without Labels", 64, "https://github.com/example/asr"),
    ("Graph Neural Networks for Protein Design", 41, ""),
    ("A Survey of Preference Optimization", 30, "https://github.com/example/po-survey"),
    ("Few-Shot Learners Are Robust Reasoners", 22, ""),
]
ABSTRACT = (
    "We study {t} at scale. Our method trains on public data and improves over strong baselines on "
    "twelve benchmarks, with gains largest where labelled data is scarce. We release code and models. "
    "A second part of the abstract explains the ablations in detail, which readers open with more."
)


def seed_papers():
    papers = []
    for rank, (title, upvotes, code) in enumerate(TOPICS, 1):
        paper = PaperFactory(title=title, abstract=ABSTRACT.format(t=title.lower()), upvotes=upvotes,
                             github_url=code, github_stars=1234 if code else None, comments="14 pages, 6 figures",
                             authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Katherine Johnson"])
        ListingFactory(paper=paper, listed_on=DAY, rank=rank, upvotes=upvotes)
        papers.append(paper)
    # Yesterday's list, with its note: the day page and "On 2 trending lists".
    ListingFactory(paper=papers[1], listed_on=DAY - dt.timedelta(days=1), rank=1, upvotes=80)
    ListingFactory(paper=PaperFactory(title="Yesterday's Only Paper"), listed_on=DAY - dt.timedelta(days=1), rank=2)
    DailyNoteFactory(date=DAY - dt.timedelta(days=1), body="Two picks:\n\n- **video** diffusion\n- [a survey](https://example.org)")
    return papers


def first_paper_top(driver) -> float:
    return driver.execute_script("return document.querySelector('.paper-list .paper').getBoundingClientRect().top")


def visible(driver, css: str) -> list:
    return [el for el in driver.find_elements(By.CSS_SELECTOR, css) if el.is_displayed()]


def test_it_shows_papers_on_the_first_screen_of_the_home_page(browser, live_server):  # noqa: F811
    seed_papers()
    browser.get(live_server.url + "/")

    at_width(browser, "desktop")
    desktop_top = first_paper_top(browser)
    save_png(browser, SCREENSHOTS / "home-desktop-1280.png", full_page=False)
    at_width(browser, "phone")
    phone_top = first_paper_top(browser)
    save_png(browser, SCREENSHOTS / "home-phone-390.png", full_page=False)
    reset_width(browser)

    # The subscribe box is above the papers and the first paper starts well inside the
    # first screen (it was at y≈840 and y≈1120 when the box filled the screen).
    assert desktop_top < 900 / 2, desktop_top
    assert phone_top < 844 * 0.75, phone_top
    assert browser.find_element(By.ID, "sub-email").location["y"] < desktop_top


def test_readme_home_picture(browser, live_server):  # noqa: F811
    """docs/home.png: the home page at 1280×900 as a reader first sees it."""
    seed_papers()
    browser.get(live_server.url + "/")
    at_width(browser, "desktop")
    shot = save_png(browser, SCREENSHOTS / "readme-home.png", full_page=False)
    reset_width(browser)

    assert shot.stat().st_size > 20_000  # a real picture, not a blank page
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        shutil.copyfile(shot, REPO / "docs" / "home.png")


def test_it_passes_axe_and_tap_targets_on_every_public_page(browser, live_server):  # noqa: F811
    papers = seed_papers()
    pages = {
        "home": "/",
        "a day with a note": f"/day/{DAY - dt.timedelta(days=1)}/",
        "archive": "/archive/",
        "paper": f"/papers/{papers[1].id}/",
        "search results": "/search/?q=diffusion",
        "search, nothing typed": "/search/",
        "search refused": "/search/?q=%21%21%21",
        "subscribe": "/subscribe/",
        "email me a link": "/link/",
        "not found": "/no-such-page/",
    }
    for name, path in pages.items():
        browser.get(live_server.url + path)
        # Open every "more" and "Why this order?": what they reveal must pass too.
        browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert_accessible(browser, f"{name} ({path})")


def test_it_has_one_search_box_on_a_phone(browser, live_server):  # noqa: F811
    seed_papers()
    at_width(browser, "phone")

    browser.get(live_server.url + "/")
    assert visible(browser, "input[type=search]") == []
    assert [a.text for a in visible(browser, ".site-nav a")][-1] == "Search"

    browser.get(live_server.url + "/search/?q=diffusion")
    assert len(visible(browser, "input[type=search]")) == 1
    assert "Scaling Diffusion Transformers to Video" in browser.find_element(By.TAG_NAME, "main").text

    at_width(browser, "desktop")
    browser.get(live_server.url + "/")
    assert len(visible(browser, "input[type=search]")) == 1  # the header's, on a wide screen
    reset_width(browser)


def test_it_asks_for_the_weekday_only_for_weekly_digests(browser, live_server, settings):  # noqa: F811
    settings.SITE_URL = live_server.url
    subscriber = SubscriberFactory(frequency="daily")
    KeywordFactory(subscriber=subscriber, text="diffusion")
    browser.get(subscriber_link(subscriber, "manage"))

    weekday = browser.find_element(By.ID, "id_send_weekday")
    assert not weekday.is_displayed()  # "Weekly digests on Monday" would contradict Daily
    browser.find_element(By.CSS_SELECTOR, "input[name=frequency][value=weekly]").click()
    assert weekday.is_displayed()
    browser.find_element(By.CSS_SELECTOR, "input[name=frequency][value=daily]").click()
    assert not weekday.is_displayed()


def test_it_prints_a_refused_keyword_list_once(browser, live_server):  # noqa: F811
    browser.get(live_server.url + "/subscribe/")
    browser.find_element(By.ID, "sub-email").send_keys("ada@example.org")
    browser.find_element(By.ID, "sub-keywords").send_keys(", ".join(f"topic{n}" for n in range(21)))
    browser.find_element(By.CSS_SELECTOR, ".subscribe-form button[type=submit]").click()

    message = "you can follow at most 20"
    main = browser.find_element(By.TAG_NAME, "main")
    assert message in main.text
    time.sleep(1.2)  # the live preview's debounce (400 ms) and its request: it must not repeat the message
    assert main.text.count(message) == 1
    assert_accessible(browser, "subscribe with an error")

    # Editing hands over to the live hint: still one message, now about the new value.
    box = browser.find_element(By.ID, "sub-keywords")
    box.send_keys(", topic21")
    time.sleep(1.2)
    assert main.text.count("you can follow at most 20") == 1
    assert "That is 22 keywords" in main.text
