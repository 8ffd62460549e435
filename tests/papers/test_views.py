"""The public pages as a visitor sees them: home, a day, the archive, a paper, errors."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import DailyNoteFactory, ListingFactory, PaperFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 11)
XSS = '<script>alert("x")</script>'


def listed(title="A Study of Things", day=DAY, rank=1, upvotes=0, **paper_fields):
    paper = PaperFactory(title=title, **paper_fields)
    ListingFactory(paper=paper, listed_on=day, rank=rank, upvotes=upvotes)
    return paper


def text_of(response) -> str:
    return response.content.decode()


def test_it_shows_the_latest_day_on_the_home_page(client):
    listed("Old news", day=DAY - dt.timedelta(days=3))
    listed(
        "Attention Is Still All You Need",
        upvotes=42,
        authors=["Ada Lovelace", "Alan Turing"],
        comments="23 pages, 11 figures",
        arxiv_id="2403.01234",
        github_url="https://github.com/example/attention",
    )

    response = client.get("/")

    assert response.status_code == 200
    page = text_of(response)
    assert "Get trending papers in your email inbox!" in page
    assert 'action="/subscribe/"' in page and 'type="email"' in page  # the subscribe box
    assert '<span class="day-weekday">Monday, </span>March 11, 2024' in page
    assert "Attention Is Still All You Need" in page
    assert "Old news" not in page
    assert "Ada Lovelace and Alan Turing" in page
    assert "23 pages, 11 figures" in page
    assert "https://arxiv.org/abs/2403.01234" in page
    assert "https://arxiv.org/pdf/2403.01234" in page
    assert "https://github.com/example/attention" in page
    assert ">42<" in page
    assert 'href="/day/2024-03-08/"' in page  # previous day with listings


def test_it_lists_the_day_in_trending_order(client):
    listed("Third", rank=3, upvotes=1)
    listed("First", rank=2, upvotes=200)
    listed("Second", rank=1, upvotes=20)

    page = text_of(client.get("/"))

    assert page.index("First") < page.index("Second") < page.index("Third")


def test_it_shows_a_friendly_home_page_with_no_papers(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "Get trending papers in your email inbox!" in text_of(response)
    assert "No papers yet" in text_of(response)


def test_it_shortens_long_abstracts_behind_more(client):
    first = "We propose a method that reads every paper twice. " * 10
    rest = "Experiments on forty datasets show the tail of this abstract only after more."
    listed("Long one", abstract=first + rest)

    page = text_of(client.get("/"))
    card = page[page.index('<article class="paper"'):]

    assert "<details>" in card and "more" in card
    lead, hidden = card.split("<summary>", 1)
    assert "We propose a method" in lead
    assert rest not in lead
    assert rest in hidden


def test_it_shows_latex_as_readable_text(client):
    listed("Math", abstract=r"We sort $k$ items in $O(n \log n)$ time with a $3 \times 3$ kernel.")

    page = text_of(client.get("/"))

    assert "$k$" not in page
    assert r"\times" not in page


def test_it_shows_the_same_latex_text_as_the_email(client):
    # Converted as a whole, the price's "$" paired with the next sentence's math.
    paper = listed("Prices", abstract=r"Costs fall from $5 to $3 per run. E.g. the model ($\alpha = 0.5$) wins.")

    page = text_of(client.get(f"/papers/{paper.pk}/"))

    assert "Costs fall from $5 to $3 per run. E.g. the model (α = 0.5) wins." in page


def test_it_renders_the_days_editor_note_sanitized(client):
    listed("Something")
    DailyNoteFactory(date=DAY, body=f"A **strong** day. [Read](https://example.org) {XSS} [bad](javascript:alert(1))")

    page = text_of(client.get("/"))

    assert "<strong>strong</strong>" in page
    assert 'href="https://example.org"' in page
    assert "<script>alert" not in page
    assert "javascript:" not in page


def test_it_escapes_titles_abstracts_and_authors_everywhere(client):
    paper = listed(XSS, abstract=f"Abstract {XSS}", authors=[XSS], comments=XSS)

    for url in ("/", f"/day/{DAY}/", f"/papers/{paper.id}/"):
        page = text_of(client.get(url))
        assert "<script>alert" not in page, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page, url


def test_it_shows_an_archive_day_with_previous_and_next(client):
    listed("Earlier", day=dt.date(2024, 3, 7))
    listed("Middle", day=DAY)
    listed("Later", day=dt.date(2024, 3, 14))

    response = client.get("/day/2024-03-11/")

    assert response.status_code == 200
    page = text_of(response)
    assert "Middle" in page and "Earlier" not in page and "Later" not in page
    assert 'href="/day/2024-03-07/"' in page
    assert 'href="/day/2024-03-14/"' in page
    assert "Get trending papers in your email inbox!" not in page


def test_it_has_no_next_link_on_the_latest_day(client):
    listed("Earlier", day=dt.date(2024, 3, 7))
    listed("Latest", day=DAY)

    page = text_of(client.get("/day/2024-03-11/"))

    assert 'rel="next"' not in page
    assert 'rel="prev"' in page


@pytest.mark.parametrize("url", ["/day/2024-03-10/", "/day/2024-02-30/", "/day/2024-3-1/", "/day/yesterday/"])
def test_it_answers_404_for_days_without_papers_or_bad_dates(client, url):
    listed("Something")

    response = client.get(url)

    assert response.status_code == 404
    assert "Page not found" in text_of(response)


def test_it_shows_the_note_of_a_day_without_listings(client):
    # A weekend: nothing listed, but the editor wrote, and the digest links to this page.
    listed("Something")
    DailyNoteFactory(date=dt.date(2024, 3, 16), body="Nothing new on arXiv today; **catch up** instead.")

    response = client.get("/day/2024-03-16/")

    assert response.status_code == 200
    page = text_of(response)
    assert "No papers were listed on this day." in page and "catch up" in page


def test_it_hides_hidden_papers_from_lists_and_pages(client):
    listed("Visible")
    hidden = listed("Secret", is_hidden=True)

    assert "Secret" not in text_of(client.get("/"))
    assert client.get(f"/papers/{hidden.id}/").status_code == 404


def test_it_answers_404_for_a_day_whose_papers_are_all_hidden(client):
    listed("Secret", is_hidden=True)

    assert client.get(f"/day/{DAY}/").status_code == 404


def test_it_shows_a_paper_page_with_abstract_note_and_listings(client):
    paper = listed(
        "Deep Things",
        abstract="Full abstract sentence one. " * 30 + "The very end.",
        editor_note="Worth a read: *really*.",
        upvotes=7,
        github_stars=1234,
        github_url="https://github.com/example/deep",
    )
    ListingFactory(paper=paper, listed_on=dt.date(2024, 3, 12), rank=4, upvotes=9, source="hf-page")
    listed("Above it that day", day=dt.date(2024, 3, 12), rank=1, upvotes=500)

    response = client.get(f"/papers/{paper.id}/")

    assert response.status_code == 200
    page = text_of(response)
    assert "<h1>Deep Things</h1>" in page
    assert "The very end." in page
    assert "<details>" not in page  # the paper page shows the whole abstract
    assert "<em>really</em>" in page
    assert 'href="/day/2024-03-11/"' in page and 'href="/day/2024-03-12/"' in page
    # Its place on each day's list as the day page numbers it, not the source's rank (#4).
    assert "#2 <span class=\"muted\">of 2</span>" in page and "#4" not in page
    assert "Hugging Face papers" in page and "daily papers API" not in page
    assert "9 upvotes" in page
    assert "1,234" in page


def test_it_answers_404_for_unknown_papers(client):
    assert client.get("/papers/999999/").status_code == 404
    assert client.get("/papers/abc/").status_code == 404


def test_it_lists_days_in_the_archive(client):
    listed("One", day=dt.date(2024, 2, 28))
    listed("Two", day=DAY)
    listed("Three", day=DAY)

    response = client.get("/archive/")

    assert response.status_code == 200
    page = text_of(response)
    assert "March 2024" in page and "February 2024" in page
    assert 'href="/day/2024-03-11/"' in page
    assert "2 papers" in page


def test_it_refuses_posts_to_pages(client):
    assert client.post("/").status_code == 405


def test_it_has_landmarks_a_skip_link_and_a_labelled_search(client):
    listed("Something")

    page = text_of(client.get("/"))

    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert "<header" in page and "<footer" in page and 'aria-label="Main"' in page
    assert '<label for="site-search"' in page
    assert 'lang="en"' in page


def test_it_renders_a_page_in_constant_queries(client, django_assert_max_num_queries):
    for n in range(30):
        paper = listed(f"Paper {n}", rank=n + 1, upvotes=n)
        ListingFactory(paper=paper, listed_on=DAY - dt.timedelta(days=1), rank=n + 1)
    DailyNoteFactory(date=DAY)

    # latest day, papers, their listings, the note, previous day, next day
    with django_assert_max_num_queries(6):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(f"/day/{DAY - dt.timedelta(days=1)}/").status_code == 200
    # the paper and its listings, then each listing day's list (3 each) for its place on it
    with django_assert_max_num_queries(2 + 3 * 2):
        assert client.get(f"/papers/{paper.id}/").status_code == 200
    with django_assert_max_num_queries(2):
        assert client.get("/archive/").status_code == 200


def test_it_serves_a_friendly_500_page(client, settings):
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert "Something went wrong" in html
    assert "/static/papers/site.css" in html


def test_it_has_open_graph_tags_for_a_shared_link(client, settings):
    settings.SITE_URL = "https://papers.example.org"
    paper = listed("Sharing Is Caring", abstract="We share links. They get previews.")

    home = text_of(client.get("/"))
    page = text_of(client.get(f"/papers/{paper.id}/"))

    assert '<meta property="og:title" content="Trending Papers: get trending papers in your email inbox">' in home
    assert '<meta property="og:url" content="https://papers.example.org/">' in home
    assert '<meta property="og:image" content="https://papers.example.org/static/papers/og-image.png"' in home
    assert '<meta property="og:type" content="article">' in page
    assert '<meta property="og:title" content="Sharing Is Caring">' in page
    assert '<meta property="og:description" content="We share links. They get previews.">' in page
    assert f'<meta property="og:url" content="https://papers.example.org/papers/{paper.id}/">' in page


def test_it_explains_why_the_order_is_not_by_upvotes(client):
    listed("Fewer upvotes, top of the list", rank=1, upvotes=88)
    listed("More upvotes", rank=9, upvotes=131)

    page = text_of(client.get("/"))

    assert page.index("Fewer upvotes, top of the list") < page.index("More upvotes")
    assert "Why this order?" in page and "not upvotes alone" in page


def test_it_shows_one_search_box_on_the_search_page(client):
    listed("Something")

    assert text_of(client.get("/")).count('role="search"') == 1
    assert text_of(client.get("/search/?q=something")).count('role="search"') == 1


def test_it_keeps_internal_words_off_the_public_pages(client):
    paper = PaperFactory(title="Something")
    ListingFactory(paper=paper, listed_on=DAY, source="hf-json")

    for url in ("/", f"/papers/{paper.id}/", "/archive/"):
        page = text_of(client.get(url))
        assert "API" not in page and "import_papers" not in page, url
