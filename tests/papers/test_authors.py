"""Author names compared as a reader means them: accents, initials, "Surname, Given"."""
from __future__ import annotations

import pytest

from papers.authors import author_key, authors_keys


@pytest.mark.parametrize("name,key", [
    ("Yann LeCun", "y lecun"),
    ("Y. LeCun", "y lecun"),
    ("LeCun, Yann", "y lecun"),
    ("  yann   lecun ", "y lecun"),
    ("José García", "j garcia"),
    ("Jose Garcia", "j garcia"),
    ("Laurens van der Maaten", "l van der maaten"),
    ("L. van der Maaten", "l van der maaten"),
    ("J. R. R. Tolkien", "j tolkien"),
    ("Łukasz Kaiser", "l kaiser"),
    ("Lukasz Kaiser", "l kaiser"),
    ("Søren Hauberg", "s hauberg"),
    ("Ashish Vaswani", "a vaswani"),
    ("Bengio", "bengio"),
    ("123", ""),
    ("", ""),
])
def test_it_normalises_names(name, key):
    assert author_key(name) == key


def test_it_tells_different_surnames_apart():
    assert author_key("Yann LeCun") != author_key("Yann Dauphin")
    assert authors_keys(["Yann LeCun", "Y. LeCun", "", 7]) == {"y lecun"}
