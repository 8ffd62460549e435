"""What papers exist and where they were listed.

Field names here are a contract (docs/architecture.md, "Data model"): tools outside the code read them.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q


class Paper(models.Model):
    # Identity is the arXiv id (without version) when known, otherwise the
    # normalized title in `title_key`; the import service keeps one row per paper.
    arxiv_id = models.CharField(max_length=32, null=True, blank=True, unique=True)
    title = models.TextField(blank=True)
    title_key = models.CharField(max_length=255, blank=True, db_index=True)
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    comments = models.CharField(max_length=500, blank=True)
    categories = models.JSONField(default=list, blank=True)
    published_on = models.DateField(null=True, blank=True)
    upvotes = models.PositiveIntegerField(default=0)
    github_url = models.URLField(max_length=500, blank=True)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    is_hidden = models.BooleanField(default=False,
                                    help_text="Hidden papers are not shown on the site or sent in digests.")
    is_featured = models.BooleanField(default=False, help_text="Featured papers get a boost in the trending score.")
    editor_note = models.TextField(blank=True, help_text="Markdown; shown with the paper.")
    # From the Hugging Face daily papers API when it gives them: a one-line summary
    # (shown in digests) and keywords (matched like the abstract).
    ai_summary = models.TextField(blank=True)
    ai_keywords = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A paper without an arXiv id is identified by its normalized title.
            models.UniqueConstraint(
                fields=["title_key"],
                condition=Q(arxiv_id__isnull=True) & ~Q(title_key=""),
                name="paper_unique_title_key_without_arxiv_id",
            ),
            models.CheckConstraint(
                condition=Q(arxiv_id__isnull=False) | ~Q(title_key=""),
                name="paper_has_identity",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"arXiv:{self.arxiv_id}"

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else ""

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else ""


class Listing(models.Model):
    """One appearance of a paper on a dated trending list."""

    class Source(models.TextChoices):
        HF_PAGE = "hf-page", "Hugging Face papers page"
        ARXIV_LISTING = "arxiv-listing", "arXiv listing"
        ARXIV_ATOM = "arxiv-atom", "arXiv API"
        HF_JSON = "hf-json", "Hugging Face daily papers API"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="listings")
    listed_on = models.DateField(db_index=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    rank = models.PositiveIntegerField(default=0, help_text="Position on the list, 1 = top.")
    upvotes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-listed_on", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "listed_on", "source"], name="listing_unique_per_day_and_source"),
        ]
        indexes = [models.Index(fields=["listed_on", "paper"])]

    def __str__(self) -> str:
        return f"{self.paper} on {self.listed_on} ({self.source} #{self.rank})"


class DailyNote(models.Model):
    """The editor's note for one day: shown on the site and at the top of that day's digests."""

    date = models.DateField(unique=True)
    body = models.TextField(help_text="Markdown. Rendered and sanitized before it is shown or sent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"Note for {self.date}"


class AcronymDefinition(models.Model):
    """One "long form (SHORT)" a paper writes, mined at import (papers.acronyms).

    Kept per paper, so an acronym with several long forms keeps them apart by evidence.
    """

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="acronym_definitions")
    short = models.CharField(max_length=16, db_index=True)
    long_form = models.CharField(max_length=200, help_text="As the paper writes it.")
    long_key = models.CharField(max_length=200, db_index=True,
                                help_text="Its words' stems: how the matcher compares long forms.")

    class Meta:
        ordering = ["short", "long_key"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "short", "long_key"], name="acronym_definition_unique_per_paper"),
        ]

    def __str__(self) -> str:
        return f"{self.long_form} ({self.short})"


class KeyCodesField(models.Field):
    """A paper's search keys as 32-bit codes (papers.search_index): what the index looks up.

    PostgreSQL stores `integer[]` (a GIN index finds rows holding given codes); SQLite stores
    the codes as words ("k1f3a9c0e ...") that an FTS5 table indexes. Written by the index
    code only; nothing reads it back into Python.
    """

    description = "search key codes"

    def db_type(self, connection) -> str:
        return "integer[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":
            # An array literal, cast by the server: the driver's list adapter dumps each
            # element in Python, and that was 40% of the import's time (bench_import, 2,000 papers).
            return "{" + ",".join(map(str, value)) + "}"
        return " ".join(map(code_word, value))


def code_word(code: int) -> str:
    """A key code as one FTS5 token (lowercase letters and digits, so no tokenizer splits it)."""
    return f"k{code & 0xFFFFFFFF:x}"


class SearchEntry(models.Model):
    """One visible paper in the search index: the keys it can be found by, and its rank inputs.

    Written by papers.search_index on import, curation and rebuild; hidden papers have no
    entry. `trend` orders papers as the trending score does on any date after their last
    listing (log2 of the undecayed score plus the listing day over the half-life), so it
    never needs a nightly refresh; `listed_on` is the last listing day (the preview's window).
    """

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, primary_key=True, related_name="search_entry")
    codes = KeyCodesField()
    trend = models.FloatField()
    listed_on = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["-trend", "-paper"], name="searchentry_trend"),
            models.Index(fields=["listed_on"], name="searchentry_listed_on"),
        ]

    def __str__(self) -> str:
        return f"search entry of paper {self.paper_id}"
