"""highlight(): escaped text with the matched terms in <mark>, as pages and emails show it."""
from __future__ import annotations

from django.utils.safestring import SafeString

from papers.search import PaperIndex, highlight


def test_it_escapes_hostile_text_and_marks_terms():
    out = highlight('<script>alert("BERT")</script> & BERT-based <b>', ["BERT"])
    assert isinstance(out, SafeString)
    assert out == (
        "&lt;script&gt;alert(&quot;<mark>BERT</mark>&quot;)&lt;/script&gt; &amp; "
        "<mark>BERT</mark>-based &lt;b&gt;"
    )


def test_it_escapes_hostile_terms_too():
    assert highlight("a <b> tag", ["<b>"]) == "a <mark>&lt;b&gt;</mark> tag"


def test_it_escapes_text_without_terms():
    assert highlight("<i>x</i>", []) == "&lt;i&gt;x&lt;/i&gt;"
    assert highlight("<i>x</i>", ["", "  "]) == "&lt;i&gt;x&lt;/i&gt;"
    assert highlight("", ["BERT"]) == ""


def test_it_marks_whole_tokens_only():
    text = "BERT, RoBERTa, mBERT, BERTs and GPT3"
    assert highlight(text, ["BERT", "GPT"]) == "<mark>BERT</mark>, RoBERTa, mBERT, BERTs and <mark>GPT</mark>3"


def test_it_prefers_the_longest_term_where_terms_overlap():
    assert highlight("graph neural networks", ["graph", "graph neural networks"]) == (
        "<mark>graph neural networks</mark>"
    )


def test_it_is_case_sensitive_because_terms_are_exact_text():
    assert highlight("Pre-training and pre-training", ["pre-training"]) == "Pre-training and <mark>pre-training</mark>"


def test_it_marks_what_the_matcher_matched():
    title = "Pre-Trained <Graph> Neural Networks & RoBERTa"
    abstract = "We pretrain graph neural networks. Pre-training helps; BERT-style masking too."
    index = PaperIndex.build([(1, title, abstract)])
    (match,) = index.match("pretraining")
    assert highlight(title, match.terms) == "<mark>Pre-Trained</mark> &lt;Graph&gt; Neural Networks &amp; RoBERTa"
    assert highlight(abstract, match.terms) == (
        "We <mark>pretrain</mark> graph neural networks. <mark>Pre-training</mark> helps; BERT-style masking too."
    )
    (match,) = index.match("graph neural network")
    assert highlight(abstract, match.terms) == (
        "We pretrain <mark>graph neural networks</mark>. Pre-training helps; BERT-style masking too.")
