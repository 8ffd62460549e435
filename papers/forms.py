"""Forms for the public search box and the admin's paper and import pages."""
from __future__ import annotations

from django import forms
from django.contrib.postgres.forms import SimpleArrayField

from papers.models import Paper
from papers.parsers import FORMATS

SEARCH_MAX_CHARS = 200
IMPORT_MAX_BYTES = 25 * 1024 * 1024
IMPORT_MAX_FILES = 20
MAX_AUTHORS = 2000  # large collaborations list hundreds; this only stops a paste gone wrong



class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search papers",
        max_length=SEARCH_MAX_CHARS,
        strip=True,
        error_messages={
            "max_length": "That search is too long: please use at most %(limit_value)d characters.",
            "required": "Type a word or a phrase to search the papers.",
        },
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field taking several files at once (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        # An empty file is reported per file by the import service, not refused with the whole upload.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            if not data:  # an empty selection arrives as [], which the per-file check never sees
                return [single(None, initial)]
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportPapersForm(forms.Form):
    files = MultipleFileField(
        label="Files",
        help_text="One or more saved pages or API responses "
                  "(HF papers page, arXiv listing, arXiv Atom XML, HF daily papers JSON).",
    )
    format = forms.ChoiceField(
        choices=[("auto", "Detect automatically")] + [(f, f) for f in FORMATS],
        initial="auto",
        help_text="Force a format when detection guesses wrong.",
    )
    date = forms.DateField(
        required=False,
        label="Listing date",
        help_text="YYYY-MM-DD. The day these papers were listed, for files that carry no date.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        if len(files) > IMPORT_MAX_FILES:
            raise forms.ValidationError(f"Upload at most {IMPORT_MAX_FILES} files at a time.")
        too_big = [f.name for f in files if f.size > IMPORT_MAX_BYTES]
        if too_big:
            raise forms.ValidationError(
                f"Too large (over {IMPORT_MAX_BYTES // (1024 * 1024)} MB): {', '.join(too_big)}. "
                "Use `manage.py import_papers` for big files."
            )
        return files


class TextListField(SimpleArrayField):
    """A list of strings (a JSON list on the model) typed as text: one item per line, or per comma.

    Django's SimpleArrayField does the splitting, per-item cleaning and joining for
    display; blank items (an empty line, a trailing comma) are dropped, not errors.
    """

    def __init__(self, *, delimiter: str, max_items: int, item_max_length: int = 500, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(forms.CharField(max_length=item_max_length), delimiter=delimiter, max_length=max_items,
                         **kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = self.delimiter.join(item for item in value.split(self.delimiter) if item.strip())
        return super().to_python(value)


class PaperAdminForm(forms.ModelForm):
    """The paper change page: authors one per line and categories by comma, not raw JSON."""

    authors = TextListField(
        delimiter="\n", max_items=MAX_AUTHORS, widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text="One author per line, in the paper's order.",
    )
    categories = TextListField(
        delimiter=",", max_items=50, item_max_length=40, widget=forms.TextInput(attrs={"size": 60}),
        help_text="arXiv categories separated by commas, e.g. cs.CL, cs.LG.",
    )

    class Meta:
        model = Paper
        fields = ("title", "arxiv_id", "authors", "is_featured", "is_hidden", "editor_note", "abstract", "comments",
                  "categories", "published_on", "upvotes", "github_url", "github_stars", "title_key")
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "abstract": forms.Textarea(attrs={"rows": 8, "cols": 80}),
            "editor_note": forms.Textarea(attrs={"rows": 4, "cols": 80}),
        }
