"""Site search: the keyword matcher behind a search box, with highlights and pages."""
from __future__ import annotations

import pytest

from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


def test_it_finds_papers_by_keyword_and_marks_the_words(client):
    PaperFactory(title="Scaling Pre-Training for Vision", abstract="We pretrain large models on images.")
    PaperFactory(title="Cooking with Robots", abstract="Robots cook dinner.")

    response = client.get("/search/", {"q": "pretraining"})

    assert response.status_code == 200
    page = text_of(response)
    assert "Scaling" in page and "Cooking with Robots" not in page
    assert "<mark>" in page
    assert "1 paper matches" in page


def test_it_leaves_hidden_papers_out_of_results(client):
    PaperFactory(title="Visible Graph Neural Network Study")
    PaperFactory(title="Secret Graph Neural Network Study", is_hidden=True)

    page = text_of(client.get("/search/", {"q": "graph neural network"}))

    assert "Visible <mark>Graph Neural Network</mark> Study" in page
    assert "Secret" not in page


def test_it_escapes_titles_in_results(client):
    PaperFactory(title='Transformers <script>alert("x")</script>', abstract="About transformers <b>bold</b>.")

    page = text_of(client.get("/search/", {"q": "transformers"}))

    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page


def test_it_says_when_nothing_matches(client):
    PaperFactory(title="Diffusion Models")

    response = client.get("/search/", {"q": "quantum chromodynamics"})

    assert response.status_code == 200
    assert "No papers match" in text_of(response)


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "Type a word or a phrase"), ("   ", "Type a word or a phrase"), ("x" * 201, "too long")],
)
def test_it_answers_empty_and_overlong_queries_with_a_message(client, query, message):
    response = client.get("/search/", {"q": query})

    assert response.status_code == 200
    assert message in text_of(response)


def test_it_survives_queries_with_nothing_searchable(client):
    PaperFactory(title="Diffusion Models")

    for query in ("!!!", "\"", "-", "%", "<>"):
        response = client.get("/search/", {"q": query})
        assert response.status_code == 200, query
        assert 'id="search-error"' in text_of(response), query
    assert client.get("/search/", {"q": "' OR 1=1 --"}).status_code == 200
    assert client.get("/search/", {"q": "diffusion " * 15}).status_code == 200  # over the matcher's 100 chars


def test_it_shows_an_intro_without_a_query(client):
    response = client.get("/search/")

    assert response.status_code == 200
    assert '<label for="search-q"' in text_of(response)


def test_it_paginates_results_and_keeps_the_query(client):
    for n in range(45):
        PaperFactory(title=f"Retrieval Study {n:02d}", abstract="We retrieve documents.")

    first = text_of(client.get("/search/", {"q": "retrieval"}))
    third = client.get("/search/", {"q": "retrieval", "page": 3})
    beyond = client.get("/search/", {"q": "retrieval", "page": 99})
    junk = client.get("/search/", {"q": "retrieval", "page": "abc"})

    assert "45 papers match" in first
    assert "page 1 of 3" in first
    assert first.count('class="paper"') + first.count('class="paper ') == 20
    assert 'href="?q=retrieval&amp;page=2"' in first
    third_text = text_of(third)
    assert third.status_code == 200 and "page 3 of 3" in third_text
    assert third_text.count("<mark>Retrieval</mark> Study") == 5  # 45 = 20 + 20 + 5
    assert beyond.status_code == 200 and "page 3 of 3" in text_of(beyond)
    assert junk.status_code == 200 and "page 1 of 3" in text_of(junk)


def test_it_searches_in_constant_queries(client, django_assert_max_num_queries):
    for n in range(30):
        PaperFactory(title=f"Retrieval Study {n:02d}", abstract="We retrieve documents.")

    # The corpus's acronym table (its version check, and its load the first time), count,
    # ranked candidates, verified papers; on PostgreSQL also the savepoint and the
    # statement time limit around them.
    with django_assert_max_num_queries(10):
        assert client.get("/search/", {"q": "retrieval"}).status_code == 200
