"""LaTeX in abstracts shown as readable text, including the HF page's lost backslashes."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papers.latex import latex_to_text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Real artefacts from the seed pages.
        ("over 5times training/inference speedup", "over 5× training/inference speedup"),
        ("at least 2.44times faster for kge3. In a", "at least 2.44× faster for k≥3. In a"),
        ('The "pre-training rightarrow downstream adaptation"', 'The "pre-training → downstream adaptation"'),
        ("risk of mathcal{O}(mathcal{C_Phi/m} + mathcal{C_Psi/n}) for", "risk of O(C_Phi/m + C_Psi/n) for"),
        ("pretraining when m gg n and", "pretraining when m ≫ n and"),
        ("a budget of just 187 and \\800 each", "a budget of just 187 and 800 each"),
        ("Exam (Pa\\'nstwowy Egzamin", "Exam (Państwowy Egzamin"),
        ("a significant 45\\% improvement", "a significant 45% improvement"),
        ("Transformers (\\eg BERT) have", "Transformers (e.g. BERT) have"),
        # Real LaTeX from arXiv abstracts.
        ("experts $k$ and capacity $C$ in top-$k$ routing", "experts k and capacity C in top-k routing"),
        ("over $1$ trillion parameters, a $4\\times$ larger model", "over 1 trillion parameters, a 4× larger model"),
        ("a rate of $10^{-3}$ and $5 \\times 10^3$ steps", "a rate of 10^-3 and 5 × 10^3 steps"),
        ("$\\alpha \\leq \\beta$", "α≤β"),
        # Plain text that LaTeX would mangle stays as written.
        ("with 0.1% trainable parameters and 5 more", "with 0.1% trainable parameters and 5 more"),
        ("costs $800 and $900 per run", "costs $800 and $900 per run"),
        ("R&D, Q&A and https://github.com/~user/a_b%20c#x", "R&D, Q&A and https://github.com/~user/a_b%20c#x"),
        ("BERT_BASE and k^2 drafts", "BERT_BASE and k^2 drafts"),
    ],
)
def test_it_makes_latex_readable(source, expected):
    assert latex_to_text(source) == expected


@pytest.mark.parametrize(
    "words",
    [
        "sometimes, at times, 5 times, runtimes, lifetimes, timestamps",
        "running a language model k times",
        "the right arrow key and a leftarrowhead",
        "approx. 5 and alpha version of Phi-3",
        "Mathematics, mathcalculus and emphasis",
    ],
)
def test_it_leaves_ordinary_words_alone(words):
    assert latex_to_text(words) == words


@pytest.mark.parametrize(
    "broken", ["\\begin{itemize", "{{{{x", "}}}", "\\", "$", "$$", "\\frac{", "$x", "\\verb|x", "%"]
)
def test_it_never_raises_on_broken_latex(broken):
    assert isinstance(latex_to_text(broken), str)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("\\${}%&~^_ abc12tmesqrfx\n'`\"")) | st.characters(), max_size=80))
def test_it_never_raises_on_any_text(text):
    assert isinstance(latex_to_text(text), str)


def test_it_returns_empty_for_empty():
    assert latex_to_text("") == ""


SENTENCES = [
    "We propose a method that is $\\mathcal{O}(n \\log n)$ instead of $O(n^2)$.",
    "It runs 5times faster when $k \\ge 3$ and the dataset is huge.",
    "Results hold for kge3 layers (see Table 1).",
    "Unlike prior work, we use \\textbf{no} labels; accuracy rises by 3.2%.",
    "A plain sentence with no LaTeX at all.",
    "Our bound $\\sum_{i=1}^{n} x_i \\leq C$ is tight. Surprisingly, so is the lower one.",
    "E.g. the model ($\\alpha = 0.5$) wins.",
]


def test_it_converts_a_text_as_the_sentences_it_is_made_of():
    rng = random.Random(11)
    for _ in range(300):
        picked = [rng.choice(SENTENCES) for _ in range(rng.randint(1, 6))]
        assert latex_to_text(" ".join(picked)) == " ".join(map(latex_to_text, picked)), picked


def test_it_keeps_prices_and_math_of_different_sentences_apart():
    # On the whole text the price's dollars pair up with the next sentence's math.
    text = "Costs fall from $5 to $3 per run. E.g. the model ($\\alpha = 0.5$) wins."

    assert latex_to_text(text) == "Costs fall from $5 to $3 per run. E.g. the model (α = 0.5) wins."
