"""Curation screens: feature, hide and annotate papers, write the daily note, import files."""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Case, F, IntegerField, Max, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from .admin_fetch import fetch_now_view
from .forms import ImportPapersForm, PaperAdminForm
from .models import AcronymDefinition, DailyNote, Listing, Paper
from .notes import EMAIL_NOTE_CHARS, markdown_html, note_email_cut, note_email_render
from .search import KeywordError
from .search_index import search_index_update
from .search_results import papers_matching
from .selectors import latest_listing_date, papers_trending
from .services import papers_flags_set, papers_import_text

log = logging.getLogger(__name__)

RECENT_LISTING_DAYS = 30
# A preview request renders at most this much Markdown (a note is a few paragraphs).
MAX_NOTE_CHARS = 50_000


class ListingDateFilter(admin.SimpleListFilter):
    title = "listing date"
    parameter_name = "listed_on"

    def lookups(self, request, model_admin):
        days = Listing.objects.order_by("-listed_on").values_list("listed_on", flat=True).distinct()
        return [(d.isoformat(), d.strftime("%a %b %-d, %Y")) for d in days[:RECENT_LISTING_DAYS]]

    def queryset(self, request, queryset):
        if self.value():
            # A subquery, not a join: a paper listed by two sources that day appears once.
            return queryset.filter(id__in=Listing.objects.filter(listed_on=self.value()).values("paper_id"))
        return queryset


class HasCodeFilter(admin.SimpleListFilter):
    title = "code"
    parameter_name = "has_code"

    def lookups(self, request, model_admin):
        return [("yes", "Has code"), ("no", "No code")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(github_url="")
        if self.value() == "no":
            return queryset.filter(github_url="")
        return queryset


class ListingInline(admin.TabularInline):
    model = Listing
    extra = 0
    fields = ("listed_on", "source", "rank", "upvotes")
    readonly_fields = fields
    ordering = ("-listed_on", "rank")
    # Listings come from imports; an editor may remove a wrong one, not invent one.
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False


def _markdown_preview(text: str) -> str:
    if not text.strip():
        return format_html('<span class="muted">(empty)</span>')
    return format_html('<div class="markdown-preview">{}</div>', mark_safe(markdown_html(text)))  # noqa: S308 - nh3


def _live_preview(field: str, url: str, shown: str) -> str:
    """A preview box that papers/admin_note_preview.js refreshes as the editor types in `field`."""
    return format_html('<div class="note-live-preview" data-source="{}" data-url="{}" aria-live="polite">{}</div>',
                       field, url, shown)


class AdminPreviewMixin:
    """Curation screens share one stylesheet and the live Markdown preview script."""

    class Media:
        css = {"all": ["papers/admin.css"]}
        js = ["papers/admin_note_preview.js"]


def _day_in_view(request: HttpRequest) -> dt.date | None:
    """The listing day the paper list shows: the listing-date filter's, else the latest one."""
    chosen = request.GET.get(ListingDateFilter.parameter_name)
    if chosen:
        try:
            return dt.date.fromisoformat(chosen)
        except ValueError:
            return None
    return latest_listing_date()


@admin.register(Paper)
class PaperAdmin(AdminPreviewMixin, admin.ModelAdmin):
    change_list_template = "papers/admin/paper_change_list.html"
    form = PaperAdminForm
    list_display = ("place", "short_title", "arxiv_id", "last_listed_on", "upvotes", "has_code",
                    "is_featured", "is_hidden")
    list_display_links = ("short_title",)
    list_editable = ("is_featured", "is_hidden")
    list_filter = (ListingDateFilter, "is_featured", "is_hidden", HasCodeFilter)
    search_fields = ("title", "arxiv_id", "authors")
    list_per_page = 50
    inlines = [ListingInline]
    actions = ("feature", "unfeature", "hide", "unhide")

    def get_search_results(self, request, queryset, search_term):
        # The site's matcher (a keyword finds here what it finds in search and digests), plus
        # the plain lookups an editor needs: an arXiv id, an author, a hidden paper's title.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            try:
                matched = [p.id for p in papers_matching(term, queryset)]
            except KeywordError:
                matched = []
            if matched:
                found = found | queryset.filter(id__in=matched)
        return found, may_have_duplicates
    readonly_fields = ("editor_note_preview", "created_at", "updated_at", "view_on_site_link")
    # A code link typed without a scheme is an https one (and Django 6 will assume so too).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Curation first: an editor opens a paper to feature, hide or annotate it, and the
    # abstract is long enough to push those below the fold.
    fieldsets = (
        (None, {"fields": ("title", "arxiv_id", "authors")}),
        ("Curation", {"fields": ("is_featured", "is_hidden", "editor_note", "editor_note_preview")}),
        ("Abstract and details", {"fields": ("abstract", "comments", "categories", "published_on")}),
        ("Numbers and links", {"fields": ("upvotes", "github_url", "github_stars", "view_on_site_link")}),
        ("Record", {"classes": ("collapse",), "fields": ("title_key", "created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Paper]:
        latest = Listing.objects.filter(paper=OuterRef("pk")).order_by("-listed_on", "rank")
        # Not super(): it orders before these annotations exist, and the ordering uses them.
        queryset = self.model._default_manager.annotate(
            last_listed=Max("listings__listed_on"),
            last_rank=Subquery(latest.values("rank")[:1]),
        )
        # The place on the day in view, as the site numbers it (papers_trending: 3 queries);
        # papers not on that day's list (or hidden) have none and sort after it.
        day = _day_in_view(request)
        ranked = [p.id for p in papers_trending(day=day)] if day else []
        place = Case(
            *(When(pk=paper_id, then=Value(place)) for place, paper_id in enumerate(ranked, 1)),
            default=None, output_field=IntegerField(),
        ) if ranked else Cast(Value(None), IntegerField())  # PostgreSQL refuses ORDER BY a bare NULL
        return queryset.annotate(trending_place=place).order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest):
        # A day's papers in the order the site shows them, then older days, newest first.
        return (F("trending_place").asc(nulls_last=True), F("last_listed").desc(nulls_last=True), "last_rank", "-id")

    @admin.display(description="#", ordering="trending_place")
    def place(self, paper: Paper) -> str:
        return str(paper.trending_place) if paper.trending_place else ""

    def save_related(self, request, form, formsets, change) -> None:
        # After the paper and its inline listings (an editor may delete one): the edited
        # title, abstract, flags and listings are what search finds and ranks by.
        super().save_related(request, form, formsets, change)
        search_index_update(paper_ids=[form.instance.pk])

    @admin.display(description="title", ordering="title")
    def short_title(self, paper: Paper) -> str:
        return Truncator(str(paper)).chars(110)

    @admin.display(description="last listed", ordering="last_listed")
    def last_listed_on(self, paper: Paper):
        return paper.last_listed

    @admin.display(description="code", boolean=True)
    def has_code(self, paper: Paper) -> bool:
        return bool(paper.github_url)

    @admin.display(description="preview (as you type)")
    def editor_note_preview(self, paper: Paper) -> str:
        return _live_preview("editor_note", reverse("admin:papers_paper_note_preview"),
                             _markdown_preview(paper.editor_note))

    @admin.display(description="on the site")
    def view_on_site_link(self, paper: Paper) -> str:
        if not paper.pk or paper.is_hidden:
            return "(hidden papers are not shown)" if paper.pk else "-"
        url = reverse("papers:paper", args=[paper.pk])
        return format_html('<a href="{}">{}</a>', url, url)

    # One UPDATE per action, whatever the selection size.
    @admin.action(description="Feature selected papers (trending boost)")
    def feature(self, request, queryset):
        self._set(request, queryset, "featured", is_featured=True)

    @admin.action(description="Unfeature selected papers")
    def unfeature(self, request, queryset):
        self._set(request, queryset, "unfeatured", is_featured=False)

    @admin.action(description="Hide selected papers from the site and digests")
    def hide(self, request, queryset):
        self._set(request, queryset, "hidden", is_hidden=True)

    @admin.action(description="Unhide selected papers")
    def unhide(self, request, queryset):
        self._set(request, queryset, "shown again", is_hidden=False)

    def _set(self, request: HttpRequest, queryset: QuerySet[Paper], verb: str, **flags: bool) -> None:
        # Re-select by id: the changelist queryset carries an aggregate annotation.
        changed = papers_flags_set(paper_ids=queryset.values_list("id", flat=True), **flags)
        self.message_user(request, f"{changed} paper{'s' if changed != 1 else ''} {verb}.", messages.SUCCESS)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="papers_paper_import"),
            path("fetch-now/", self.admin_site.admin_view(fetch_now_view), name="papers_paper_fetch_now"),
            path("note-preview/", self.admin_site.admin_view(self.note_preview_view), name="papers_paper_note_preview"),
        ] + super().get_urls()

    def note_preview_view(self, request: HttpRequest) -> HttpResponse:
        """The editor note's preview for text not saved yet (POST text=…): the site's rendering, sanitized."""
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseBadRequest("POST the note as text=…")
        return HttpResponse(_markdown_preview(request.POST.get("text", "")[:MAX_NOTE_CHARS]))

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload one or more files; each runs through the import service on its own (all or nothing per file)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportPapersForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            for upload in form.cleaned_data["files"]:
                self._import_one(request, upload, form.cleaned_data["format"], form.cleaned_data["date"])
            return HttpResponseRedirect(reverse("admin:papers_paper_import"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import papers",
            "form": form,
        }
        return TemplateResponse(request, "papers/admin/import.html", context)

    def _import_one(self, request: HttpRequest, upload, format: str, listed_on) -> None:
        name = upload.name
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            messages.error(request, f"{name}: not a UTF-8 text file (byte {exc.start}); nothing imported from it.")
            return
        try:
            result = papers_import_text(text=text, name=name, format=format, listed_on=listed_on)
        except Exception:  # the service promises not to raise on bad input; if it does, say so, log, keep going
            log.exception("import of uploaded file %r failed", name)
            messages.error(request,
                           f"{name}: the import failed unexpectedly; nothing imported from it. It has been logged.")
            return
        if result.error:
            messages.error(request, f"{result.error} (nothing imported from this file)")
            return
        listed = f", listed on {result.listed_on:%Y-%m-%d}" if result.listed_on else ""
        messages.success(
            request,
            f"{result.name} ({result.format}{listed}): {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.skipped} skipped.",
        )


def _email_note_preview(body: str, day: dt.date | None) -> str:
    """What the digest email shows: its Markdown subset, cut where the email cuts it, and the text part."""
    rendered = note_email_render(body or "")
    if rendered is None:
        return format_html('<span class="muted">(empty)</span>')
    day_page = settings.SITE_URL + (reverse("papers:day", args=[day]) if day else reverse("papers:archive"))
    shown = note_email_cut(rendered, chars=EMAIL_NOTE_CHARS, full_note_url=day_page)
    return format_html(
        '<div class="markdown-preview">{}</div>'
        '<p class="muted">Text part of the email:</p>'
        '<pre class="text-preview">{}</pre>'
        '<p class="muted">The <a href="{}">day page</a> shows all of the note, with headings and code blocks too.</p>',
        mark_safe(shown.html),  # noqa: S308 - sanitized by nh3 in note_email_render; the cut adds only our link
        shown.text, day_page,
    )


@admin.register(DailyNote)
class DailyNoteAdmin(AdminPreviewMixin, admin.ModelAdmin):
    list_display = ("date", "excerpt", "updated_at")
    date_hierarchy = "date"
    search_fields = ("body",)
    fields = ("date", "body", "body_preview")
    readonly_fields = ("body_preview",)

    @admin.display(description="note")
    def excerpt(self, note: DailyNote) -> str:
        return Truncator(note.body).chars(100)

    @admin.display(description="preview in the email (as you type)")
    def body_preview(self, note: DailyNote) -> str:
        return _live_preview("body", reverse("admin:papers_dailynote_preview"),
                             _email_note_preview(note.body, note.date))

    def get_urls(self):
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="papers_dailynote_preview"),
        ] + super().get_urls()

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The email preview for a note not saved yet (POST text=…, date=YYYY-MM-DD for the day link)."""
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseBadRequest("POST the note as text=…")
        try:
            day = dt.date.fromisoformat(request.POST.get("date", ""))
        except ValueError:
            day = None  # not typed yet: the link points at the archive until it is
        return HttpResponse(_email_note_preview(request.POST.get("text", "")[:MAX_NOTE_CHARS], day))


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    """Read-mostly: listings come from imports. Editors may delete a wrong one."""

    list_display = ("listed_on", "rank", "paper", "source", "upvotes")
    list_filter = ("source", "listed_on")
    search_fields = ("paper__title", "paper__arxiv_id")
    date_hierarchy = "listed_on"
    list_select_related = ("paper",)
    readonly_fields = ("paper", "listed_on", "source", "rank", "upvotes", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewing is allowed through the view permission; nothing here is editable.
        return False

    # A deleted listing changes its paper's trending rank: re-index the papers it leaves.
    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        search_index_update(paper_ids=[obj.paper_id])

    def delete_queryset(self, request, queryset) -> None:
        paper_ids = list(queryset.values_list("paper_id", flat=True))
        super().delete_queryset(request, queryset)
        search_index_update(paper_ids=paper_ids)

@admin.register(AcronymDefinition)
class AcronymDefinitionAdmin(admin.ModelAdmin):
    """The acronyms the corpus defines, as the matcher uses them (mined at import: read-only)."""

    list_display = ("short", "long_form", "paper")
    search_fields = ("short", "long_form")
    list_select_related = ("paper",)
    ordering = ("short", "long_key")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

