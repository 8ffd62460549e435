"""Curation in the admin: the paper list, its filters and actions, previews, the import page."""
from __future__ import annotations

import datetime as dt
import json

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from digests.content import note_from_markdown
from papers.models import Listing, Paper
from papers.notes import EMAIL_NOTE_CHARS, markdown_html
from tests.factories import DailyNoteFactory, ListingFactory, PaperFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 11)
CHANGELIST = "/admin/papers/paper/"
IMPORT = "/admin/papers/paper/import/"
XSS = '<script>alert("x")</script>'


def page(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_it_lists_papers_with_a_link_to_import(admin_client):
    PaperFactory(title="Graph Networks Revisited", arxiv_id="2403.00001")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert "Graph Networks Revisited" in page(response)
    assert f'href="{IMPORT}"' in page(response)


@pytest.mark.parametrize("query", ["networks revisited", "2403.00001", "Hopper"])
def test_it_searches_title_arxiv_id_and_authors(admin_client, query):
    PaperFactory(title="Graph Networks Revisited", arxiv_id="2403.00001", authors=["Grace Hopper"])
    PaperFactory(title="Something Else", arxiv_id="2403.00002", authors=["Ada Lovelace"])

    text = page(admin_client.get(CHANGELIST, {"q": query}))

    assert "Graph Networks Revisited" in text
    assert "Something Else" not in text


def test_its_search_finds_what_the_sites_matcher_finds(admin_client):
    PaperFactory(title="Deep Convolutional Neural Networks", abstract="Images.")
    PaperFactory(title="Summaries of CNN/DailyMail articles", abstract="News.")

    text = page(admin_client.get(CHANGELIST, {"q": "CNN"}))

    assert "Deep Convolutional Neural Networks" in text  # the keyword's long form
    assert "Summaries of CNN/DailyMail articles" in text  # and the plain title lookup


def test_it_lists_the_mined_acronyms_read_only(admin_client, tmp_path):
    feed = tmp_path / "papers.json"
    feed.write_text(json.dumps([{"title": "Routing", "summary": "Sparse mixture routing (SMR) is new.",
                                 "publishedAt": "2024-03-11T00:00:00.000Z"}]))
    admin_client.post(IMPORT, {"files": SimpleUploadedFile("p.json", feed.read_bytes()), "format": "hf-json"})

    text = page(admin_client.get("/admin/papers/acronymdefinition/"))

    assert "SMR" in text and "Sparse mixture routing" in text
    assert admin_client.get("/admin/papers/acronymdefinition/add/").status_code == 403


def test_it_filters_by_listing_date(admin_client):
    on_day = PaperFactory(title="Listed that day")
    ListingFactory(paper=on_day, listed_on=DAY, source="hf-json")
    ListingFactory(paper=on_day, listed_on=DAY, source="hf-page")
    ListingFactory(paper=PaperFactory(title="Listed another day"), listed_on=DAY - dt.timedelta(days=1))

    response = admin_client.get(CHANGELIST, {"listed_on": DAY.isoformat()})

    text = page(response)
    assert "Listed that day" in text
    assert "Listed another day" not in text
    assert response.context["cl"].result_count == 1  # two sources that day, one paper


@pytest.mark.parametrize(
    ("params", "shown", "not_shown"),
    [
        ({"is_featured__exact": "1"}, "Featured one", "Plain one"),
        ({"is_hidden__exact": "1"}, "Hidden one", "Plain one"),
        ({"has_code": "yes"}, "Coded one", "Plain one"),
        ({"has_code": "no"}, "Plain one", "Coded one"),
    ],
)
def test_it_filters_by_featured_hidden_and_code(admin_client, params, shown, not_shown):
    PaperFactory(title="Plain one")
    PaperFactory(title="Featured one", is_featured=True)
    PaperFactory(title="Hidden one", is_hidden=True)
    PaperFactory(title="Coded one", github_url="https://github.com/example/code")

    text = page(admin_client.get(CHANGELIST, params))

    assert shown in text
    assert not_shown not in text


@pytest.mark.parametrize(
    ("action", "field", "start", "end"),
    [
        ("feature", "is_featured", False, True),
        ("unfeature", "is_featured", True, False),
        ("hide", "is_hidden", False, True),
        ("unhide", "is_hidden", True, False),
    ],
)
def test_it_applies_bulk_actions_to_the_selection_only(admin_client, action, field, start, end):
    chosen = [PaperFactory(**{field: start}) for _ in range(3)]
    bystander = PaperFactory(**{field: start})

    response = admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [p.pk for p in chosen], "index": 0},
        follow=True,
    )

    assert response.status_code == 200
    assert any(m.startswith("3 papers") for m in messages_of(response))
    for paper in chosen:
        paper.refresh_from_db()
        assert getattr(paper, field) is end
    bystander.refresh_from_db()
    assert getattr(bystander, field) is start


def test_it_edits_featured_and_hidden_in_the_list(admin_client):
    paper = PaperFactory(title="Toggle me")
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(paper.pk),
        "form-0-is_featured": "on",
        "form-0-is_hidden": "on",
        "_save": "Save",
    }

    response = admin_client.post(CHANGELIST, data, follow=True)

    assert response.status_code == 200
    paper.refresh_from_db()
    assert paper.is_featured and paper.is_hidden


def test_it_previews_the_editor_note_sanitized_with_listings_inline(admin_client):
    paper = PaperFactory(title="Noted", editor_note=f"Read **this** {XSS} [x](javascript:alert(1))")
    ListingFactory(paper=paper, listed_on=DAY, rank=7)

    response = admin_client.get(f"/admin/papers/paper/{paper.pk}/change/")

    text = page(response)
    assert response.status_code == 200
    assert "<strong>this</strong>" in text
    assert "<script>alert" not in text
    assert 'href="javascript:' not in text
    assert "Listings" in text and "March 11, 2024" in text


def test_it_escapes_a_script_title_in_the_changelist(admin_client):
    PaperFactory(title=XSS)

    text = page(admin_client.get(CHANGELIST))

    assert "<script>alert" not in text
    assert "&lt;script&gt;" in text


def test_it_previews_a_daily_note(admin_client):
    note = DailyNoteFactory(body=f"# Big day\n\nA *fine* day. {XSS}")

    text = page(admin_client.get(f"/admin/papers/dailynote/{note.pk}/change/"))

    assert "<em>fine</em>" in text
    assert "<script>alert" not in text
    assert page(admin_client.get("/admin/papers/dailynote/")).count("A *fine* day.") == 1


def note_preview(admin_client, note) -> lxml.html.HtmlElement:
    """The preview block of a daily note's change page."""
    page_html = page(admin_client.get(f"/admin/papers/dailynote/{note.pk}/change/"))
    return lxml.html.document_fromstring(page_html).find_class("field-body_preview")[0]


def test_it_previews_a_daily_note_as_the_email_shows_it(admin_client, settings):
    settings.SITE_URL = "https://papers.example.org"
    body = "#### Results\n\nWe **won**:\n\n    code = 1\n\n---\n\n1. [one](https://example.org/a)"
    note = DailyNoteFactory(body=body)
    email = note_from_markdown(body)

    preview = note_preview(admin_client, note)

    site = markdown_html(body)
    assert "<h4>" in site and "<pre>" in site and "<hr>" in site  # what the site keeps and the email does not
    shown = preview.find_class("markdown-preview")[0]
    assert not shown.xpath(".//h4 | .//pre | .//hr")
    assert email.html in lxml.html.tostring(shown, encoding="unicode")
    assert preview.find_class("text-preview")[0].text_content() == email.text


def test_it_previews_where_the_email_cuts_a_long_daily_note(admin_client, settings):
    settings.SITE_URL = "https://papers.example.org"
    words = [f"word{n}" for n in range(EMAIL_NOTE_CHARS // 4)]  # well over the cap
    note = DailyNoteFactory(date=DAY, body=" ".join(words))

    preview = note_preview(admin_client, note)

    shown = preview.find_class("markdown-preview")[0]
    assert words[0] in shown.text_content() and words[-1] not in shown.text_content()
    [link] = shown.iter("a")
    assert link.get("href") == f"https://papers.example.org/day/{DAY.isoformat()}/"
    assert words[-1] not in preview.find_class("text-preview")[0].text_content()


def test_it_shows_listings_read_only(admin_client):
    listing = ListingFactory(listed_on=DAY, rank=3)

    assert admin_client.get("/admin/papers/listing/").status_code == 200
    assert admin_client.get("/admin/papers/listing/add/").status_code == 403
    response = admin_client.post(f"/admin/papers/listing/{listing.pk}/change/", {"rank": 1})
    assert response.status_code == 403
    listing.refresh_from_db()
    assert listing.rank == 3


def test_it_keeps_the_import_page_for_staff(client):
    response = client.get(IMPORT)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_shows_the_import_form(admin_client):
    response = admin_client.get(IMPORT)

    assert response.status_code == 200
    text = page(response)
    assert 'type="file"' in text and "multiple" in text
    assert "Listing date" in text


def _hf_json(*items) -> bytes:
    return json.dumps(
        [
            {
                "paper": {
                    "id": arxiv_id,
                    "title": title,
                    "summary": f"We study {title.lower()} in depth.",
                    "authors": [{"name": "Ada Lovelace"}],
                    "publishedAt": "2024-03-10T12:00:00.000Z",
                    "upvotes": 12,
                    "githubRepo": "https://github.com/example/repo",
                },
                "publishedAt": "2024-03-11T08:00:00.000Z",
                "title": title,
                "summary": f"We study {title.lower()} in depth.",
                "numComments": 1,
            }
            for arxiv_id, title in items
        ]
    ).encode()


def test_it_imports_uploaded_files_and_reports_each(admin_client):
    good = SimpleUploadedFile("daily.json", _hf_json(("2403.11111", "Uploaded Paper One"), ("2403.22222", "Two")))
    junk = SimpleUploadedFile("junk.txt", b"\x00\x01\x02 this is not a paper list \xff\xfe")
    bad_json = SimpleUploadedFile("broken.json", b'[{"paper": {"id": "2403.33333", "title": ')
    empty = SimpleUploadedFile("empty.txt", b"")

    response = admin_client.post(
        IMPORT, {"files": [good, junk, bad_json, empty], "format": "auto", "date": "2024-03-11"}, follow=True
    )

    assert response.status_code == 200
    shown = messages_of(response)
    assert any("daily.json" in m and "2 created" in m for m in shown), shown
    assert any(m.startswith("junk.txt") for m in shown), shown
    assert any("broken.json:" in m and "nothing imported" in m for m in shown), shown
    assert any(m.startswith("empty.txt") for m in shown), shown
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2403.11111", "2403.22222"}
    assert Listing.objects.filter(listed_on=DAY).count() == 2


def test_it_reimports_without_duplicates(admin_client):
    for _ in range(2):
        upload = SimpleUploadedFile("daily.json", _hf_json(("2403.11111", "Uploaded Paper One")))
        response = admin_client.post(IMPORT, {"files": [upload], "format": "hf-json", "date": "2024-03-11"},
                                     follow=True)

    assert any("1 unchanged" in m for m in messages_of(response)), messages_of(response)
    assert Paper.objects.count() == 1


def test_it_shows_form_errors_for_a_missing_file_or_bad_date(admin_client):
    response = admin_client.post(IMPORT, {"format": "auto", "date": "2024-13-45"})

    assert response.status_code == 200
    text = page(response)
    assert "This field is required." in text
    assert "Enter a valid date." in text
    assert Paper.objects.count() == 0


def test_it_saves_an_editor_note_and_previews_it(admin_client):
    paper = PaperFactory(title="Noted later", arxiv_id="2403.44444")
    listing = ListingFactory(paper=paper, listed_on=DAY, rank=2)
    url = f"/admin/papers/paper/{paper.pk}/change/"
    data = {
        "title": paper.title,
        "arxiv_id": paper.arxiv_id,
        "title_key": paper.title_key,
        "authors": "Ada Lovelace\r\n  Alan Turing \r\n\r\n",
        "categories": "cs.CL, cs.LG,",
        "abstract": paper.abstract,
        "comments": "",
        "published_on": "2024-03-11",
        "editor_note": "Now with a *note* and `code`.",
        "upvotes": "5",
        "github_url": "github.com/example/noted",
        "github_stars": "",
        "listings-TOTAL_FORMS": "1",
        "listings-INITIAL_FORMS": "1",
        "listings-MIN_NUM_FORMS": "0",
        "listings-MAX_NUM_FORMS": "1000",
        "listings-0-id": str(listing.pk),
        "listings-0-paper": str(paper.pk),
        "_continue": "Save and continue editing",
    }

    response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    paper.refresh_from_db()
    assert paper.editor_note == "Now with a *note* and `code`."
    assert paper.github_url == "https://github.com/example/noted"
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]  # one per line; blank lines dropped
    assert paper.categories == ["cs.CL", "cs.LG"]
    assert "<em>note</em>" in page(response) and "<code>code</code>" in page(response)
    assert Listing.objects.filter(pk=listing.pk).exists()


def test_it_refuses_an_oversized_upload_with_a_message(admin_client):
    from papers.forms import IMPORT_MAX_BYTES

    big = SimpleUploadedFile("huge.txt", b"a" * (IMPORT_MAX_BYTES + 1))

    response = admin_client.post(IMPORT, {"files": [big], "format": "auto"})

    assert response.status_code == 200
    assert "Too large" in page(response) and "huge.txt" in page(response)
    assert Paper.objects.count() == 0


def test_it_edits_authors_one_per_line_and_curation_comes_before_the_abstract(admin_client):
    paper = PaperFactory(title="Shown as lines", authors=["Ada Lovelace", "Alan Turing"], categories=["cs.CL", "cs.LG"],
                         abstract="A long abstract. " * 40)

    text = page(admin_client.get(f"/admin/papers/paper/{paper.pk}/change/"))

    doc = lxml.html.document_fromstring(text)
    assert doc.get_element_by_id("id_authors").text_content().strip() == "Ada Lovelace\nAlan Turing"
    assert doc.get_element_by_id("id_categories").get("value") == "cs.CL,cs.LG"
    assert '["Ada Lovelace"' not in text  # no raw JSON
    assert text.index('name="is_featured"') < text.index('name="is_hidden"') < text.index('name="abstract"')
    assert text.index('name="editor_note"') < text.index('name="abstract"')


def test_it_names_the_site_in_the_admin_header(admin_client):
    text = page(admin_client.get("/admin/"))

    assert "Trending Papers admin" in text and "Django administration" not in text


def test_it_lists_the_latest_day_in_the_sites_order_first(admin_client):
    # Source rank and upvotes disagree with the site's order: the list follows the site.
    second = PaperFactory(title="Second on the site", upvotes=0)
    ListingFactory(paper=second, listed_on=DAY, rank=1, upvotes=0)
    first = PaperFactory(title="First on the site", upvotes=900)
    ListingFactory(paper=first, listed_on=DAY, rank=2, upvotes=900)
    older = PaperFactory(title="From the day before")
    ListingFactory(paper=older, listed_on=DAY - dt.timedelta(days=1), rank=1)
    PaperFactory(title="Never listed")

    text = page(admin_client.get(CHANGELIST))

    order = ["First on the site", "Second on the site", "From the day before", "Never listed"]
    assert [text.index(t) for t in order] == sorted(text.index(t) for t in order)
    day_before = page(admin_client.get(CHANGELIST, {"listed_on": (DAY - dt.timedelta(days=1)).isoformat()}))
    assert "From the day before" in day_before and "First on the site" not in day_before


@pytest.mark.parametrize("url, field", [
    ("/admin/papers/paper/note-preview/", "text"),
    ("/admin/papers/dailynote/preview/", "text"),
])
def test_it_previews_markdown_before_saving_with_bullets_and_sanitized(admin_client, url, field):
    response = admin_client.post(url, {field: f"Picks:\n\n- **one**\n- two {XSS}\n\n1. first", "date": DAY.isoformat()})

    assert response.status_code == 200
    doc = lxml.html.fragment_fromstring(page(response), create_parent="div")
    shown = doc.find_class("markdown-preview")[0]
    assert [li.text_content().strip() for li in shown.xpath(".//ul/li")] == ["one", "two"]
    assert [li.text_content() for li in shown.xpath(".//ol/li")] == ["first"]
    assert "<script>" not in page(response)


def test_it_keeps_bullets_and_link_addresses_in_the_notes_text_part(admin_client, settings):
    settings.SITE_URL = "https://papers.example.org"

    response = admin_client.post("/admin/papers/dailynote/preview/", {
        "text": "Picks:\n\n- one\n- two, see [the code](https://example.org/c)\n\n1. first\n2. second",
        "date": DAY.isoformat(),
    })

    doc = lxml.html.fragment_fromstring(page(response), create_parent="div")
    assert doc.find_class("text-preview")[0].text_content() == (
        "Picks:\n\n- one\n- two, see the code (https://example.org/c)\n\n1. first\n2. second"
    )


def test_it_refuses_note_previews_to_visitors_and_gets(client, admin_client):
    assert client.post("/admin/papers/dailynote/preview/", {"text": "x"}).status_code == 302  # to the login page
    assert admin_client.get("/admin/papers/dailynote/preview/").status_code == 400
