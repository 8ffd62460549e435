"""Each email kind as a phone shows it when the mail client strips <style>: the
confirmation, the daily digest and the manage link, built by the real builder
(signup and "email me a link" over HTTP, the digest by `send_digests`), opened in
headless Chromium at 375 px with the <style> block removed. Nothing may be wider
than the screen (a fixed 600 px container would be cut off at 616 px).

`UPDATE_DOCS_SCREENSHOTS=1` (make docs-screenshots) also refreshes docs/digest-email.png.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from html import unescape

import pytest
from django.core import mail
from django.core.management import call_command

from tests.browser import (  # browser is the pytest fixture
    SCREENSHOTS,
    assert_accessible,
    browser,  # noqa: F401
    save_png,
    screenshot,
)
from tests.conftest import REPO
from tests.factories import DailyNoteFactory, KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DAY = dt.date.today()
PHONE = 375
STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style>", re.S | re.I)
# Reports each element that reaches past the right edge of the screen.
_TOO_WIDE_JS = """
const width = document.documentElement.clientWidth, wide = [];
for (const el of document.body.querySelectorAll('*')) {
  const box = el.getBoundingClientRect();
  if (box.width && box.right > width + 0.5) {
    const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
    wide.push(`${name} ends at ${Math.round(box.right)} px`);
  }
}
return {scroll: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 8)};
"""


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def seed_day() -> None:
    for rank, title in enumerate(["Scaling Diffusion Transformers to Video",
                                  "Diffusion Models for Protein Design With an Unusually Long Title That Wraps",
                                  "Latent Diffusion for Speech Recognition"], 1):
        paper = PaperFactory(title=title, upvotes=100 - rank * 10, github_url="https://github.com/example/x",
                             abstract=f"{title}. We study diffusion at scale and report gains on twelve benchmarks. "
                                      "https://example.org/a-very-long-unbroken-link-that-could-push-the-layout-wider",
                             authors=["Ada Lovelace", "Alan Turing", "Grace Hopper"])
        ListingFactory(paper=paper, listed_on=DAY, rank=rank, upvotes=100 - rank * 10)


README_PAPERS = [
    ("Scaling Diffusion Transformers to Video", 131,
     "We train diffusion transformers on 40 million video clips and find that quality keeps improving with model "
     "size. Our largest model generates minute-long clips at 1080p and sets a new state of the art on UCF-101."),
    ("Retrieval-Augmented Generation for Long Documents", 88,
     "Long documents defeat retrieval that works on passages. We index sections hierarchically and let the "
     "generator ask for more context, halving hallucinated citations on three long-document QA benchmarks."),
    ("Speech Recognition Without Labels", 64,
     "A self-supervised speech model, pretrained on 100k hours of unlabelled audio, reaches 4.1% word error "
     "rate on LibriSpeech test-other with no transcribed data at all, using a learned phone inventory."),
]


def seed_readme_day() -> None:
    """A day as the README shows it: real-looking papers and an editor's note."""
    for rank, (title, upvotes, abstract) in enumerate(README_PAPERS, 1):
        paper = PaperFactory(title=title, upvotes=upvotes, abstract=abstract, comments="12 pages, 5 figures",
                             github_url="https://github.com/example/code" if rank != 2 else "",
                             authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Katherine Johnson"])
        ListingFactory(paper=paper, listed_on=DAY, rank=rank, upvotes=upvotes)
    DailyNoteFactory(date=DAY, body="A strong day for **diffusion**: the video paper is worth your coffee.")


def emails_of_each_kind(client, *, seed=seed_day, keywords: str = "diffusion") -> dict[str, object]:
    """The confirmation, manage-link and digest emails, from the public ways in."""
    seed()
    client.post("/subscribe/", {"email": "new@example.org", "keywords": "diffusion", "timezone": "UTC"})
    reader = SubscriberFactory(email="reader@example.org", send_hour=0, timezone="UTC")
    for text in keywords.split(", "):
        KeywordFactory(subscriber=reader, text=text)
    client.post("/link/", {"email": "reader@example.org"})
    call_command("send_digests", "--date", DAY.isoformat(), verbosity=0)
    by_kind = {}
    for message in mail.outbox:
        if "Confirm" in message.subject:
            by_kind["confirmation"] = message
        elif "manage" in message.subject.lower() or "link" in message.subject.lower():
            by_kind["manage-link"] = message
        else:
            by_kind["digest"] = message
    assert set(by_kind) == {"confirmation", "manage-link", "digest"}, [m.subject for m in mail.outbox]
    return by_kind


def test_it_fits_every_email_on_a_phone_without_its_style_block(browser, client, settings, tmp_path):  # noqa: F811
    settings.SITE_URL = "https://papers.example.org"
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE, "height": 812, "deviceScaleFactor": 1, "mobile": True,
    })
    problems = []
    for kind, message in emails_of_each_kind(client).items():
        stripped = STYLE_BLOCK.sub("", html_of(message))
        assert "<style" not in stripped
        page = tmp_path / f"{kind}.html"
        page.write_text(stripped, encoding="utf-8")
        browser.get(page.as_uri())
        save_png(browser, SCREENSHOTS / f"email-{kind}-{PHONE}-no-style.png")
        found = browser.execute_script(_TOO_WIDE_JS)
        if found["scroll"] > found["width"] or found["wide"]:
            problems.append(f"{kind}: {found['scroll']} px wide on a {found['width']} px screen: {found['wide']}")
    assert not problems, "\n".join(problems)


def test_it_keeps_each_matched_line_inside_its_card_in_view_in_browser(browser, client, live_server, settings):  # noqa: F811
    settings.SITE_URL = live_server.url
    digest = emails_of_each_kind(client)["digest"]
    web_url = unescape(re.search(r'href="([^"]+)"[^>]*>View in browser<', html_of(digest)).group(1))

    browser.get(web_url)

    cards = browser.find_elements("css selector", "main article.paper")
    assert len(cards) == 3
    for card in cards:
        assert card.find_element("css selector", ".paper-why").text == "Matched: diffusion"
    # Nothing "matched: …" is left between the cards, reading as the next one's.
    assert browser.execute_script(
        "return [...document.querySelectorAll('main .paper-why')].every(p => p.closest('article.paper'))")
    screenshot(browser, "digest-view-in-browser")
    assert_accessible(browser, "view in browser")


def test_readme_digest_email_picture(browser, client, settings):  # noqa: F811
    """docs/digest-email.png: the digest as a desktop mail client shows it (with its styles)."""
    settings.SITE_URL = "https://papers.example.org"
    sent = emails_of_each_kind(client, seed=seed_readme_day, keywords="diffusion, retrieval, speech recognition")
    digest = sent["digest"]
    page = SCREENSHOTS / "digest-email.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(html_of(digest), encoding="utf-8")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 720, "height": 900, "deviceScaleFactor": 1, "mobile": False,
    })
    browser.get(page.as_uri())
    shot = save_png(browser, SCREENSHOTS / "readme-digest-email.png")

    assert shot.stat().st_size > 20_000  # a real picture, not a blank page
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        shutil.copyfile(shot, REPO / "docs" / "digest-email.png")
