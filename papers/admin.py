"""Curation screens: feature, hide and annotate papers, write the daily note, import files."""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from .forms import ImportPapersForm
from .models import DailyNote, Listing, Paper
from .note_email import EMAIL_NOTE_CHARS, note_email_cut, note_email_render
from .search_index import search_index_update
from .services import papers_flags_set, papers_import_text
from .templatetags.papers_site import render_markdown

log = logging.getLogger(__name__)

RECENT_LISTING_DAYS = 30


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
        return format_html('<span style="color:#666">(empty)</span>')
    return format_html('<div class="markdown-preview" style="max-width:48rem">{}</div>', render_markdown(text))


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    change_list_template = "papers/admin/paper_change_list.html"
    list_display = ("short_title", "arxiv_id", "last_listed_on", "upvotes", "has_code", "is_featured", "is_hidden")
    list_display_links = ("short_title",)
    list_editable = ("is_featured", "is_hidden")
    list_filter = (ListingDateFilter, "is_featured", "is_hidden", HasCodeFilter)
    search_fields = ("title", "arxiv_id", "authors")
    list_per_page = 50
    inlines = [ListingInline]
    actions = ("feature", "unfeature", "hide", "unhide")
    readonly_fields = ("editor_note_preview", "created_at", "updated_at", "view_on_site_link")
    # A code link typed without a scheme is an https one (and Django 6 will assume so too).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("title", "arxiv_id", "authors", "abstract", "comments", "categories", "published_on")}),
        ("Curation", {"fields": ("is_featured", "is_hidden", "editor_note", "editor_note_preview")}),
        ("Numbers and links", {"fields": ("upvotes", "github_url", "github_stars", "view_on_site_link")}),
        ("Record", {"classes": ("collapse",), "fields": ("title_key", "created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Paper]:
        return super().get_queryset(request).annotate(last_listed=Max("listings__listed_on"))

    def save_related(self, request, form, formsets, change) -> None:
        # After the paper and its inline listings (an editor may delete one): the edited
        # title, abstract, flags and listings are what search finds and ranks by.
        super().save_related(request, form, formsets, change)
        search_index_update(paper_ids=[form.instance.pk])

    @admin.display(description="title", ordering="title")
    def short_title(self, paper: Paper) -> str:
        return Truncator(str(paper)).chars(90)

    @admin.display(description="last listed", ordering="last_listed")
    def last_listed_on(self, paper: Paper):
        return paper.last_listed

    @admin.display(description="code", boolean=True)
    def has_code(self, paper: Paper) -> bool:
        return bool(paper.github_url)

    @admin.display(description="preview of the editor note (as saved)")
    def editor_note_preview(self, paper: Paper) -> str:
        return _markdown_preview(paper.editor_note)

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
        ] + super().get_urls()

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
            messages.error(request, f"{name}: the import failed unexpectedly; nothing imported from it. It has been logged.")
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


@admin.register(DailyNote)
class DailyNoteAdmin(admin.ModelAdmin):
    list_display = ("date", "excerpt", "updated_at")
    date_hierarchy = "date"
    search_fields = ("body",)
    fields = ("date", "body", "body_preview")
    readonly_fields = ("body_preview",)

    @admin.display(description="note")
    def excerpt(self, note: DailyNote) -> str:
        return Truncator(note.body).chars(100)

    @admin.display(description="preview in the email (as saved)")
    def body_preview(self, note: DailyNote) -> str:
        """What the digest email shows: its Markdown subset, cut where the email cuts it, and the text part."""
        rendered = note_email_render(note.body or "")
        if rendered is None:
            return format_html('<span style="color:#666">(empty)</span>')
        day_page = settings.SITE_URL + reverse("papers:day", args=[note.date])
        shown = note_email_cut(rendered, chars=EMAIL_NOTE_CHARS, full_note_url=day_page)
        return format_html(
            '<div class="markdown-preview" style="max-width:48rem">{}</div>'
            '<p style="color:#666">Text part of the email:</p>'
            '<pre class="text-preview" style="max-width:48rem;white-space:pre-wrap">{}</pre>'
            '<p style="color:#666">The <a href="{}">day page</a> shows all of the note,'
            " with headings and code blocks too.</p>",
            mark_safe(shown.html),  # noqa: S308 - sanitized by nh3 in note_email_render; the cut adds only our link
            shown.text, day_page,
        )


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
