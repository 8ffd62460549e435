"""The import service: one paper per identity, richer sources fill poorer ones, re-imports change nothing."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from papers.models import Listing, Paper
from papers.services import papers_import_text
from tests.conftest import DATA
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
ATOM = (DATA / "papers" / "arxiv_api.atom.xml").read_text()
DAILY = (DATA / "papers" / "daily_papers.json").read_text()


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(TODAY)


def _import(text, name="file", **kwargs):
    result = papers_import_text(text=text, name=name, **kwargs)
    assert result.error is None, result.error
    return result


def _seed(seeds_dir, prefix):
    return next(seeds_dir.glob(prefix + "*")).read_text()


def _counts(result):
    return result.created, result.updated, result.unchanged, result.skipped


def test_it_imports_all_seed_pages_once_and_a_reimport_changes_nothing(seeds_dir):
    files = sorted(seeds_dir.iterdir())
    first = [_import(p.read_text(), p.name) for p in files]
    assert [_counts(r) for r in first] == [(9, 0, 0, 0), (20, 0, 0, 0), (63, 4, 0, 0), (4, 0, 0, 0)]
    assert [r.listed_on for r in first] == [dt.date(2026, 3, 11), None, dt.date(2026, 3, 12), None]
    papers = {p.pk: (p.title, p.abstract, p.updated_at) for p in Paper.objects.all()}
    listings = set(Listing.objects.values_list("pk", "paper_id", "listed_on", "source", "rank"))
    assert len(papers) == 96
    assert len(listings) == 9 + 67  # only the dated pages make listings

    again = [_import(p.read_text(), p.name) for p in files]
    assert [_counts(r) for r in again] == [(0, 0, 9, 0), (0, 0, 20, 0), (0, 0, 67, 0), (0, 0, 4, 0)]
    assert {p.pk: (p.title, p.abstract, p.updated_at) for p in Paper.objects.all()} == papers
    assert set(Listing.objects.values_list("pk", "paper_id", "listed_on", "source", "rank")) == listings


def test_it_lists_a_paper_on_every_page_it_appears_on(seeds_dir):
    _import(_seed(seeds_dir, "000"))
    _import(_seed(seeds_dir, "002"))
    ernie = Paper.objects.get(title__startswith="ERNIE 3.0")
    assert [(listing.listed_on, listing.source, listing.rank) for listing in ernie.listings.order_by("listed_on")] == [
        (dt.date(2026, 3, 11), "hf-page", 1),
        (dt.date(2026, 3, 12), "hf-page", 1),
    ]
    assert Paper.objects.filter(title__startswith="VL-GPT").count() == 1


def test_it_dates_an_undated_page_with_the_date_given(seeds_dir):
    result = _import(_seed(seeds_dir, "001"), listed_on=dt.date(2026, 3, 13))
    assert result.listed_on == dt.date(2026, 3, 13)
    assert Listing.objects.filter(listed_on=dt.date(2026, 3, 13), source="hf-page").count() == 20
    # A page's own date wins over the one given.
    dated = _import(_seed(seeds_dir, "000"), listed_on=dt.date(2026, 3, 13))
    assert dated.listed_on == dt.date(2026, 3, 11)


def test_it_gives_a_listing_record_its_title_when_the_atom_record_arrives(seeds_dir):
    _import(_seed(seeds_dir, "004"), listed_on=dt.date(2026, 3, 10))
    ofa = Paper.objects.get(arxiv_id="2202.03052")
    assert (ofa.title, ofa.comments, ofa.authors) == ("", "23 pages, 11 figures", [])
    listing_abstract = ofa.abstract

    result = _import(ATOM)
    assert _counts(result) == (2, 2, 0, 0)  # OFA and M6-T filled in, ERNIE and the old-style id new
    ofa.refresh_from_db()
    assert ofa.title.startswith("OFA: Unifying Architectures, Tasks, and Modalities")
    assert ofa.title_key.startswith("ofa unifying architectures")
    assert ofa.authors == ["Peng Wang", "An Yang", "Rui Men", "Junyang Lin"]
    assert ofa.categories == ["cs.CV", "cs.CL"]
    assert ofa.published_on == dt.date(2022, 2, 7)
    assert ofa.abstract == listing_abstract  # what was there stays
    assert Paper.objects.filter(arxiv_id="2202.03052").count() == 1
    assert _counts(_import(ATOM)) == (0, 0, 4, 0)


def test_it_gives_a_title_only_page_paper_its_arxiv_id(seeds_dir):
    _import(_seed(seeds_dir, "000"))
    ernie = Paper.objects.get(title__startswith="ERNIE 3.0")
    assert ernie.arxiv_id is None
    _import(ATOM)
    adopted = Paper.objects.get(arxiv_id="2107.02137")
    assert adopted.pk == ernie.pk
    assert adopted.authors == ["Yu Sun", "Shuohuan Wang"]
    assert Paper.objects.filter(title_key=ernie.title_key).count() == 1
    # The page seen again still finds it, by its title.
    assert _counts(_import(_seed(seeds_dir, "000"))) == (0, 0, 9, 0)


def test_it_merges_a_title_only_paper_into_the_arxiv_paper_that_already_exists(seeds_dir):
    ernie_abstract = _seed(seeds_dir, "000").splitlines()[12]
    _import(f"{ernie_abstract}\narXiv:2107.02137\n", "listing.txt", listed_on=dt.date(2026, 3, 10))
    _import(_seed(seeds_dir, "000"))
    title_only = Paper.objects.get(title__startswith="ERNIE 3.0")
    title_only.is_featured, title_only.editor_note = True, "A *classic*."
    title_only.save()
    assert Paper.objects.get(arxiv_id="2107.02137").title == ""

    result = _import(DAILY, "daily.json")
    assert _counts(result) == (3, 1, 0, 0)  # ERNIE merged; OFA, GPT-3 and IPT new
    ernie = Paper.objects.get(arxiv_id="2107.02137")
    assert not Paper.objects.filter(pk=title_only.pk).exists()
    assert Paper.objects.filter(title_key=ernie.title_key).count() == 1
    assert ernie.title == (
        "ERNIE 3.0: Large-scale Knowledge Enhanced Pre-training for Language Understanding and Generation")
    assert (ernie.is_featured, ernie.editor_note) == (True, "A *classic*.")
    assert (ernie.upvotes, ernie.github_url, ernie.github_stars) == (42, "https://github.com/PaddlePaddle/ERNIE", 6201)
    assert sorted((str(listing.listed_on), listing.source) for listing in ernie.listings.all()) == [
        ("2024-03-11", "hf-json"), ("2026-03-10", "arxiv-listing"), ("2026-03-11", "hf-page"),
    ]
    assert _counts(_import(DAILY, "daily.json")) == (0, 0, 4, 0)
    assert _counts(_import(_seed(seeds_dir, "000"))) == (0, 0, 9, 0)


def test_it_matches_titles_whatever_their_case_and_punctuation(seeds_dir):
    _import(_seed(seeds_dir, "002"))
    page_paper = Paper.objects.get(title="Language Models are Few-Shot Learners")
    _import(DAILY)  # spells it "Language Models Are Few-shot Learners"
    gpt3 = Paper.objects.get(arxiv_id="2005.14165")
    assert gpt3.pk == page_paper.pk
    assert gpt3.title == "Language Models are Few-Shot Learners"  # the first spelling stays
    assert gpt3.upvotes == 120


def test_it_keeps_the_highest_upvotes_and_updates_the_listing():
    _import(DAILY)
    items = json.loads(DAILY)
    items[0]["paper"]["upvotes"] = 40  # an older snapshot
    assert _counts(_import(json.dumps(items))) == (0, 1, 3, 0)  # the listing's count follows the file
    ernie = Paper.objects.get(arxiv_id="2107.02137")
    assert ernie.upvotes == 42
    assert ernie.listings.get().upvotes == 40
    items[0]["paper"]["upvotes"] = 57
    assert _counts(_import(json.dumps(items))) == (0, 1, 3, 0)
    ernie.refresh_from_db()
    assert (ernie.upvotes, ernie.listings.get().upvotes) == (57, 57)


def test_it_never_overwrites_what_a_paper_already_has():
    PaperFactory(arxiv_id="2202.03052", title="OFA (edited)", comments="ICML 2022", authors=["P. Wang"])
    _import(ATOM)
    ofa = Paper.objects.get(arxiv_id="2202.03052")
    assert (ofa.title, ofa.comments, ofa.authors) == ("OFA (edited)", "ICML 2022", ["P. Wang"])
    assert ofa.categories == ["cs.CV", "cs.CL"]  # but what it lacked is filled


def test_it_skips_a_paper_listed_twice_on_the_same_day():
    items = json.loads(DAILY)
    result = _import(json.dumps(items + [items[0]]))
    assert _counts(result) == (4, 0, 0, 1)
    assert Listing.objects.filter(paper__arxiv_id="2107.02137").count() == 1


def test_it_writes_nothing_from_a_file_with_one_bad_record():
    items = json.loads(DAILY)
    items[3]["publishedAt"] = "the 12th of March"
    result = papers_import_text(text=json.dumps(items, indent=1), name="daily.json")
    assert result.error.startswith("daily.json:")
    assert "publishedAt 'the 12th of March' is not an ISO date" in result.error
    assert (result.created, result.updated) == (0, 0)
    assert Paper.objects.count() == 0 and Listing.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty.txt:1: empty file: nothing to import"),
        ("\n \n", "empty.txt:1: empty file: nothing to import"),
        ("Get trending papers in your email inbox!\n\nMar 11\n", "empty.txt:1: no papers found in this hf-page file"),
        ("line one\nline two\x00\x01\x02", "empty.txt:2: binary data (a NUL byte), not a text file"),
        ("\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11 junk",
         "empty.txt:1: binary data (control characters), not a text file"),
        ("Some notes.\n", "empty.txt:1: unrecognized format: expected a Hugging Face papers page, an arXiv listing, "
                          "arXiv Atom XML or daily_papers JSON (use --format to say which)"),
    ],
)
def test_it_answers_bad_input_with_a_message_and_writes_nothing(text, expected):
    result = papers_import_text(text=text, name="empty.txt")
    assert result.error == expected
    assert Paper.objects.count() == 0


def test_it_refuses_text_over_the_size_limit():
    from papers import services

    text = "x" * (services.MAX_IMPORT_BYTES + 1)
    result = papers_import_text(text=text, name="huge.json")
    assert result.error == "huge.json:1: file is larger than the import limit of 40 MB; split it"


def test_it_refuses_a_forced_format_that_does_not_fit(seeds_dir):
    result = papers_import_text(text=_seed(seeds_dir, "000"), name="page.txt", format="hf-json")
    assert result.error.startswith("page.txt:1: invalid JSON")
    result = papers_import_text(text=_seed(seeds_dir, "000"), name="page.txt", format="nonsense")
    assert result.error.startswith("page.txt:1: unknown format 'nonsense'")
