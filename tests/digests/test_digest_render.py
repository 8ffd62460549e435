"""What the digest email looks like: subject, preheader, headers, both parts, styles, size, escaping."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import re
from urllib.parse import unquote

import lxml.html
import pytest
import time_machine
from django.core import mail

from digests import render as digest_render
from digests.content import (
    ABSTRACT_CHARS,
    AUTHORS_CHARS,
    TITLE_CHARS,
    DigestInput,
    Note,
    PaperData,
    note_from_markdown,
)
from digests.mime import email_message, message_bytes
from digests.pages import digest_preview
from digests.render import HTML_LIMIT, SHORT_ABSTRACT_CHARS, render_digest
from digests.services.day import digests_run_day
from papers.notes import EMAIL_NOTE_CHARS, READ_ON_SITE
from subscriptions.models import Digest, Subscriber
from subscriptions.tokens import token_read
from tests.digests.reference import render_reference
from tests.factories import DailyNoteFactory, KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

DAY = dt.date(2024, 3, 12)


def paper_data(n: int, **fields) -> PaperData:
    values = dict(
        id=n, version="v1", title=f"Speech Pretraining, Part {n}", authors="Ada Lovelace, Alan Turing",
        abstract="We pretrain speech models at scale and report results. " * 3, url=f"https://site.test/papers/{n}/",
        arxiv_url=f"https://arxiv.org/abs/2403.{n:05d}", pdf_url=f"https://arxiv.org/pdf/2403.{n:05d}",
        code_url="", upvotes=10 * n,
    )
    values.update(fields)
    values["version"] = str(hash(tuple(sorted(values.items()))))  # like updated_at: changes with the paper
    return PaperData(**values)


def digest_input(items, *, matched_count=None, note: Note | None = None, keywords=("pretraining", "speech"),
                 email_address="reader@example.org") -> DigestInput:
    return DigestInput(
        digest_id=42, digest_date=DAY, subscriber_id=7, token_version=1, email=email_address, frequency="daily",
        keywords=tuple(keywords), items=list(items),
        matched_count=len(items) if matched_count is None else matched_count, note=note,
    )


def canonical(html: str) -> str:
    """The page as a browser reads it: parsed and serialized again, whitespace collapsed."""
    text = lxml.html.tostring(lxml.html.document_fromstring(html), encoding="unicode")
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", text)).strip()


def style_blocks(html: str) -> list[str]:
    return re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S)


# --- through the real pipeline -------------------------------------------------------------------


@pytest.fixture
def delivered(db, settings):
    """One subscriber's real digest for DAY, built and sent (locmem backend)."""
    settings.SITE_URL = "https://papers.example.org"
    settings.DEFAULT_FROM_EMAIL = "Trending Papers <digest@papers.example.org>"
    for n, title in enumerate(["Scaling Pretraining for Speech", "Speech Recognition in the Wild",
                               "Pretraining Without Labels"], start=1):
        paper = PaperFactory(title=title, abstract=f"{title}. Costs fall as $\\mathcal{{O}}(n^2)$, about 5times less.",
                             github_url="https://github.com/x/y" if n == 1 else "")
        ListingFactory(paper=paper, listed_on=DAY, upvotes=n * 7)
    DailyNoteFactory(date=DAY, body="Three **speech** papers today.")
    subscriber = SubscriberFactory(email="reader@example.org")
    for text in ("pretraining", "speech"):
        KeywordFactory(subscriber=subscriber, text=text)

    counts = digests_run_day(digest_date=DAY)

    assert (counts.built, counts.sent) == (1, 1)
    [message] = mail.outbox
    return message, Digest.objects.get(subscriber=subscriber, digest_date=DAY)


def test_it_says_what_is_inside_in_the_subject_and_preheader(delivered):
    message, _ = delivered
    html = message.alternatives[0][0]

    assert message.subject == "3 new papers on pretraining, speech — Mar 12"
    preheader = lxml.html.document_fromstring(html).find_class("preheader")[0]
    assert preheader.text_content().startswith("Top: Scaling Pretraining for Speech")
    assert "display:none" in preheader.get("style").replace(" ", "")


def test_it_carries_the_list_and_identity_headers(delivered, client):
    message, digest = delivered
    headers = message.extra_headers

    assert message.from_email == "Trending Papers <digest@papers.example.org>"
    assert message.to == ["reader@example.org"]
    assert headers["Message-ID"] == digest.message_id == f"<digest-{digest.pk}.20240312@papers.example.org>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Trending Papers digest <digest.papers.example.org>"
    one_click, mailto = re.findall(r"<([^>]+)>", headers["List-Unsubscribe"])
    assert one_click.startswith("https://papers.example.org/unsubscribe/") and one_click.endswith("/one-click/")
    address, subject = mailto.split("?subject=")
    assert address == "mailto:digest@papers.example.org"
    # What an inbound unsubscribe (subscriptions.webhooks) reads: "unsubscribe <this reader's token>".
    word, token = unquote(subject).split(" ")
    assert word == "unsubscribe"
    assert token_read(token, purpose="unsubscribe").subscriber_id == digest.subscriber_id
    # The one-click URL really unsubscribes (RFC 8058: a POST with that body).
    response = client.post(one_click.removeprefix("https://papers.example.org"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscriber.objects.get(email="reader@example.org").status == Subscriber.Status.UNSUBSCRIBED


def test_it_sends_a_text_part_that_reads_on_its_own(delivered):
    message, _ = delivered
    text = message.body

    assert text.startswith("3 new papers on pretraining, speech — Mar 12")
    assert "1. Scaling Pretraining for Speech" in text
    assert "EDITOR'S NOTE\nThree speech papers today." in text
    assert "matched: pretraining, speech" in text
    assert "Code: https://github.com/x/y" in text
    assert "▲ 7" in text  # upvotes: the best a listing reported
    assert "Unsubscribe: https://papers.example.org/unsubscribe/" in text
    assert "You get this daily digest because reader@example.org subscribed" in text
    assert "<strong>" not in text and "**" not in text  # the note's Markdown, read as text


def test_it_shows_latex_as_readable_text(delivered):
    message, _ = delivered
    html, text = message.alternatives[0][0], message.body

    for part in (html, text):
        assert "\\mathcal" not in part and "$" not in part and "5times" not in part
        assert "5× less" in part


def test_it_inlines_the_styles_and_keeps_only_media_rules(delivered):
    message, _ = delivered
    html = message.alternatives[0][0]
    page = lxml.html.document_fromstring(html)

    [css] = style_blocks(html)
    assert re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", css).strip() == ""
    assert "prefers-color-scheme: dark" in css  # dark-mode colours for clients that read <style>
    paper = page.find_class("paper")[0]
    assert "padding:16px 24px" in paper.get("style").replace("; ", ";")
    # Fluid: a client that strips <style> still fits a phone; Outlook gets a 600 px ghost table.
    container = page.find_class("container")[0]
    assert container.get("width") == "100%" and "max-width:600px" in container.get("style").replace(" ", "")
    assert '<!--[if mso]><table role="presentation" width="600"' in html
    assert not page.xpath("//img | //link | //script")  # nothing to fetch, nothing to run
    assert "@import" not in html and "@font-face" not in html
    mark = page.xpath("//mark")[0]
    assert mark.text in ("Pretraining", "Speech") and "background-color" in mark.get("style")


def test_it_links_titles_arxiv_pdf_code_and_the_web_view(delivered, client):
    message, digest = delivered
    page = lxml.html.document_fromstring(message.alternatives[0][0])
    links = {a.text_content().strip(): a.get("href") for a in page.iter("a")}

    assert links["arXiv"].startswith("https://arxiv.org/abs/")
    assert links["PDF"].startswith("https://arxiv.org/pdf/")
    assert links["Code"] == "https://github.com/x/y"
    title = page.find_class("title")[0].find("a")
    assert title.get("href") == f"https://papers.example.org/papers/{digest.papers[0]}/"
    view = links["View in browser"]
    response = client.get(view.removeprefix("https://papers.example.org"))
    assert response.status_code == 200
    shown = lxml.html.document_fromstring(response.content.decode()).text_content()
    assert "Scaling Pretraining for Speech" in " ".join(shown.split())


# --- the fast assembly against the reference render ------------------------------------------------


CASES = {
    "plain": lambda: digest_input([(paper_data(1), ("speech",), ("Speech",))]),
    "note and more": lambda: digest_input(
        [(paper_data(n), ("pretraining",), ("Pretraining",)) for n in range(1, 11)], matched_count=17,
        note=note_from_markdown("A **good** day. [Read](https://example.org/x) <script>alert(1)</script>")),
    "no arxiv, code, no authors": lambda: digest_input(
        [(paper_data(3, arxiv_url="", pdf_url="", code_url="https://github.com/a/b", authors=""), ("speech",), ())]),
    "hostile": lambda: digest_input(
        [(paper_data(4, title='<script>alert("x")</script> & Speech <b>bold</b>', authors="O'Brien & <Co>",
                      abstract="<img src=x onerror=alert(1)> speech \u2028 done"),
          ('<img src=x onerror=alert(1)>', "speech & \"co\""), ("Speech", "speech"))],
        keywords=('<img src=x onerror=alert(1)>', "speech & \"co\""), email_address="o'brien+x@example.org"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
# Frozen clock: the signed links carry a timestamp, and the two renders must not straddle a second.
@time_machine.travel(dt.datetime(2024, 3, 12, 7, 0, tzinfo=dt.UTC), tick=False)
def test_it_assembles_exactly_what_the_templates_and_premailer_render(case):
    digest = CASES[case]()

    fast = render_digest(digest)
    subject, text, html = render_reference(digest)

    assert fast.subject == subject
    assert fast.text == text
    assert canonical(fast.html) == canonical(html)


@pytest.mark.django_db
def test_it_falls_back_to_base64_when_a_line_would_be_too_long_for_8bit():
    wide = "&" * 400  # escaped, five bytes each: one 2,000-byte line
    rendered = render_digest(digest_input([(paper_data(1, title=wide, abstract=wide), ("speech",), ())]))

    raw = message_bytes(rendered, eight_bit=True)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)

    assert rendered.html_longest > 998
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert parsed.get_body(("html",))["Content-Transfer-Encoding"] == "base64"
    assert lines(parsed.get_body(("html",)).get_content()) == lines(rendered.html)


@pytest.mark.django_db
def test_it_escapes_hostile_titles_and_keywords():
    fast = render_digest(CASES["hostile"]())
    page = lxml.html.document_fromstring(fast.html)

    assert not page.xpath("//script | //img | //b")
    assert '<script>alert("x")</script> & Speech <b>bold</b>' in page.find_class("title")[0].text_content()
    assert "matched: <img src=x onerror=alert(1)>" in page.find_class("why")[0].text_content()
    assert "&lt;script&gt;" in fast.html
    assert '<script>alert("x")</script>' in fast.text  # plain text is plain


def shrink_step(html: str) -> tuple[int, int, bool]:
    """What a reader sees of the shrinking: (papers shown, the abstract length step, the note shown in the email)."""
    page = lxml.html.document_fromstring(html)
    longest = max((len(a.text_content().strip()) for a in page.find_class("abstract")), default=0)
    abstract_step = next(step for step in (0, SHORT_ABSTRACT_CHARS, ABSTRACT_CHARS) if longest <= step + 1)  # + "…"
    note_in_email = READ_ON_SITE not in page.find_class("note-box")[0].text_content()
    return len(page.find_class("paper")), abstract_step, note_in_email


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2024, 3, 12, 7, 0, tzinfo=dt.UTC), tick=False)
def test_it_shrinks_an_email_over_the_limit_one_step_at_a_time_in_order(monkeypatch, settings, caplog):
    settings.SITE_URL = "https://papers.example.org"
    abstract = "Speech " + "pretraining at scale with many words " * 20  # longer than ABSTRACT_CHARS
    note = note_from_markdown("Today's **speech** papers, and why they matter. " * 8)
    digest = digest_input([(paper_data(n, abstract=abstract), ("speech",), ("Speech",)) for n in range(1, 11)],
                          note=note)

    # Each email's limit is one byte under the last email's size: every render must take exactly one more step.
    steps, limit = [], 10**9
    while True:
        monkeypatch.setattr(digest_render, "HTML_LIMIT", limit)
        fast = render_digest(digest)
        step = shrink_step(fast.html)
        if steps and step == steps[-1]:
            break  # nothing left to cut
        assert fast.html_size <= limit
        shown, abstract_chars, note_in_email = step
        subject, text, html = render_reference(digest, shown=shown, abstract_chars=abstract_chars,
                                               note_chars=EMAIL_NOTE_CHARS if note_in_email else 0)
        assert canonical(fast.html) == canonical(html) and fast.text == text
        if shown < 10:
            assert f"{10 - shown} more paper" in fast.text
        steps.append(step)
        limit = fast.html_size - 1

    assert steps == [
        (10, ABSTRACT_CHARS, True), (10, SHORT_ABSTRACT_CHARS, True), (10, 0, True),  # abstracts shorter, then none
        (10, 0, False),  # the note moves to the site
        *[(shown, 0, False) for shown in range(9, 0, -1)],  # papers into "N more", down to one
    ]
    assert f"{READ_ON_SITE}: https://papers.example.org/day/2024-03-12/" in fast.text
    assert "over the" in caplog.text and caplog.records[-1].levelno == logging.ERROR  # giving up is loud


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2024, 3, 12, 7, 0, tzinfo=dt.UTC), tick=False)
def test_it_shows_the_start_of_a_long_note_and_links_to_the_rest(settings):
    settings.SITE_URL = "https://papers.example.org"
    paragraphs = [f"Paragraph {n}: " + "the editor has a lot to say today " * 20 for n in range(200)]
    digest = digest_input([(paper_data(n), ("speech",), ("Speech",)) for n in range(1, 11)],
                          note=note_from_markdown("\n\n".join(paragraphs)))

    fast = render_digest(digest)

    assert fast.html_size <= HTML_LIMIT and fast.shown == 10  # the note's cut, not the papers, made the room
    note_box = lxml.html.document_fromstring(fast.html).find_class("note-box")[0]
    assert paragraphs[0] in note_box.text_content() and "Paragraph 199" not in note_box.text_content()
    assert [a.get("href") for a in note_box.iter("a")] == ["https://papers.example.org/day/2024-03-12/"]
    assert f"{READ_ON_SITE}: https://papers.example.org/day/2024-03-12/" in fast.text
    assert "Paragraph 199" not in fast.text
    subject, text, html = render_reference(digest)
    assert canonical(fast.html) == canonical(html) and fast.text == text


@pytest.mark.django_db
def test_it_keeps_a_hostile_digest_under_the_clipping_limit_and_readable(settings, client):
    settings.SITE_URL = "https://papers.example.org"
    for n in range(1, 11):
        paper = PaperFactory(title=f"Speech Pretraining {n} " + "ever longer " * 2_000,
                             authors=[f"Author {a} " + "Double-Barrelled-" * 1_200 for a in range(300)],
                             abstract="Speech pretraining at scale. " * 2_000)
        ListingFactory(paper=paper, listed_on=DAY, upvotes=n)
    # Links first: the note's first characters are already hundreds of KB of addresses.
    links = " ".join(f"[{n}](https://example.org/{'x' * 2_000})" for n in range(200))
    DailyNoteFactory(date=DAY, body=links + "\n\n" + "The editor has a lot to say today. " * 4_000)
    subscriber = SubscriberFactory(email="reader@example.org")
    for text in ("pretraining", "speech"):
        KeywordFactory(subscriber=subscriber, text=text)

    counts = digests_run_day(digest_date=DAY)

    assert (counts.built, counts.sent) == (1, 1)
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert len(html.encode()) <= HTML_LIMIT < 102 * 1024
    page = lxml.html.document_fromstring(html)
    cards = page.find_class("paper")
    titles = [c.find_class("title")[0].text_content().strip() for c in cards]
    assert titles and all(t.startswith("Speech Pretraining") and len(t) <= TITLE_CHARS + 1 for t in titles)
    assert all(len(c.find_class("authors")[0].text_content().strip()) <= AUTHORS_CHARS + len(" et al.") + 1
               for c in cards)
    assert [a.get("href") for a in page.find_class("note-box")[0].iter("a")] == [
        "https://papers.example.org/day/2024-03-12/"]
    assert client.get("/day/2024-03-12/").status_code == 200
    assert f"{READ_ON_SITE}: https://papers.example.org/day/2024-03-12/" in message.body
    # What SMTP gets: lines too long for 8bit go as base64, so every line fits 998 bytes.
    rendered, _ = digest_preview(subscriber, DAY)
    assert rendered.html_size <= HTML_LIMIT
    assert all(len(line) <= 998 for line in message_bytes(rendered, eight_bit=True).split(b"\r\n"))


@pytest.mark.django_db
def test_it_moves_papers_into_n_more_when_shorter_abstracts_are_not_enough(monkeypatch):
    monkeypatch.setattr(digest_render, "HTML_LIMIT", 12_000)
    digest = digest_input([(paper_data(n), ("speech",), ("Speech",)) for n in range(1, 11)], matched_count=10)

    fast = render_digest(digest)

    assert len(fast.html.encode()) <= 12_000
    assert 1 <= fast.shown < 10
    page = lxml.html.document_fromstring(fast.html)
    assert len(page.find_class("paper")) == fast.shown
    assert not page.find_class("abstract")  # abstracts went first
    more = page.find_class("more")[0].text_content()
    assert f"{10 - fast.shown} more paper" in more
    subject, text, html = render_reference(digest, shown=fast.shown, abstract_chars=0)
    assert canonical(fast.html) == canonical(html) and fast.text == text


def lines(text: str) -> str:
    """A part as a mail client reads it: line ends are line ends."""
    return text.replace("\r\n", "\n").rstrip("\n")


@pytest.mark.django_db
@pytest.mark.parametrize("eight_bit", [True, False], ids=["8bit", "base64"])
def test_it_builds_mime_that_mail_clients_parse_back_to_the_same_email(eight_bit):
    rendered = render_digest(CASES["note and more"]())

    raw = message_bytes(rendered, eight_bit=eight_bit)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)

    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r" not in raw.replace(b"\r\n", b"")  # no bare CR
    assert (b"Content-Transfer-Encoding: 8bit" in raw) is eight_bit
    assert parsed["Subject"] == rendered.subject == "17 new papers on pretraining — Mar 12"
    assert parsed["Message-ID"] == rendered.message_id
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "one-click" in str(parsed["List-Unsubscribe"]) and "mailto:" in str(parsed["List-Unsubscribe"])
    assert parsed["To"] == "reader@example.org" and parsed["Date"]
    assert str(parsed["Date"]).endswith(" +0000")  # UTC, not "-0000" (zone unknown) nor "GMT"
    assert parsed["Feedback-ID"] == "digest:trendingpapers"
    assert parsed.get_content_type() == "multipart/alternative"
    assert lines(parsed.get_body(("plain",)).get_content()) == lines(rendered.text)
    assert lines(parsed.get_body(("html",)).get_content()) == lines(rendered.html)


@pytest.mark.django_db
def test_it_sends_a_cached_card_the_same_as_a_fresh_one():
    # One frozen instant: the links' signed tokens carry the second they were made.
    with time_machine.travel(dt.datetime(2024, 3, 12, 6, tzinfo=dt.UTC), tick=False):
        first = render_digest(CASES["note and more"]())
        again = render_digest(CASES["note and more"]())  # cards now come from the cache

    for rendered in (first, again):
        parsed = email.message_from_bytes(message_bytes(rendered), policy=email.policy.default)
        assert lines(parsed.get_body(("html",)).get_content()) == lines(rendered.html)
    assert canonical(first.html) == canonical(again.html)


@pytest.mark.django_db
def test_the_digest_is_a_django_message_too():
    message = email_message(render_digest(CASES["plain"]()))

    assert message.subject == "1 new paper on speech — Mar 12"
    assert message.extra_headers["Message-ID"] == "<digest-42.20240312@localhost>"
    assert "Speech Pretraining, Part 1" in message.alternatives[0][0] and "1. Speech Pretraining" in message.body
