"""Subscriber admin: find people by email or keyword, see counts by status, and
act on them through the services (resend confirmation, unsubscribe, mark
bounced), or export a CSV."""
from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.text import Truncator

from ..models import Keyword, Subscriber
from ..selectors import subscriber_counts_by_status
from ..services import subscribers as services


class KeywordFormSet(BaseInlineFormSet):
    """Editors type keywords as a subscriber would, checked by the signup's own rules
    (services.keywords_parse: control characters, length, something to match); the
    normalized form is computed and kept unique."""

    def clean(self):
        super().clean()
        seen: dict[str, str] = {}
        kept = 0
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE"):
                continue
            try:
                parsed = services.keywords_parse([str(form.cleaned_data.get("text", ""))], required=False)
            except ValidationError as exc:
                form.add_error("text", exc)
                continue
            if not parsed:
                continue
            keyword = parsed[0]
            if keyword.normalized in seen:
                form.add_error("text", f"Same as “{seen[keyword.normalized]}” once normalized.")
            else:
                seen[keyword.normalized] = keyword.text
                form.instance.text = keyword.text
                form.instance.normalized = keyword.normalized
                kept += 1
        if kept > services.MAX_KEYWORDS:
            raise ValidationError(f"At most {services.MAX_KEYWORDS} keywords per subscriber.")


class KeywordInline(admin.TabularInline):
    model = Keyword
    formset = KeywordFormSet
    extra = 1
    fields = ("text", "normalized")
    readonly_fields = ("normalized",)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    change_list_template = "subscriptions/admin/subscriber_change_list.html"
    list_display = ("email", "status", "frequency", "send_time", "keyword_list", "created_at", "confirmed_at")
    list_filter = ("status", "frequency", ("created_at", admin.DateFieldListFilter))
    search_fields = ("email", "keywords__text", "keywords__normalized")
    date_hierarchy = "created_at"
    inlines = [KeywordInline]
    readonly_fields = (
        "status", "confirmed_at", "unsubscribed_at", "token_version", "hard_bounces", "last_digest_on",
        "created_at", "updated_at",
    )
    fields = (
        "email", "status", "frequency", "send_weekday", "send_hour", "timezone",
        "confirmed_at", "unsubscribed_at", "hard_bounces", "last_digest_on", "token_version",
        "created_at", "updated_at",
    )
    actions = ["resend_confirmation", "unsubscribe", "mark_bounced", "export_csv"]
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("keywords")

    @admin.display(description="keywords")
    def keyword_list(self, obj: Subscriber) -> str:
        return Truncator(", ".join(k.text for k in obj.keywords.all())).chars(80)

    @admin.display(description="sends at", ordering="send_hour")
    def send_time(self, obj: Subscriber) -> str:
        return f"{obj.send_hour:02d}:00 {obj.timezone}"

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        counts = subscriber_counts_by_status()
        labels = dict(Subscriber.Status.choices)
        extra_context = {
            **(extra_context or {}),
            "status_counts": [(labels[s], s, n) for s, n in counts.items()],
            "status_total": sum(counts.values()),
        }
        return super().changelist_view(request, extra_context=extra_context)

    # --- actions: each calls a service per subscriber and says what happened ---

    @admin.action(description="Resend the confirmation email")
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        sent = sum(services.subscriber_confirmation_resend(subscriber_id=pk) for pk in ids)
        self.message_user(request, f"Confirmation email queued for {sent} of {len(ids)} "
                                   "(active, paused and complained are skipped).", messages.SUCCESS)

    @admin.action(description="Unsubscribe")
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = sum(services.subscriber_unsubscribe(subscriber_id=pk) for pk in ids)
        self.message_user(request, f"Unsubscribed {changed} of {len(ids)} (the rest already received nothing).",
                          messages.SUCCESS)

    @admin.action(description="Mark as bounced (stop sending)")
    def mark_bounced(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = sum(services.subscriber_mark_bounced(subscriber_id=pk) for pk in ids)
        self.message_user(request, f"Marked {changed} of {len(ids)} as bounced.", messages.SUCCESS)

    @admin.action(description="Export as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(["email", "status", "frequency", "send_weekday", "send_hour", "timezone", "keywords",
                         "created_at", "confirmed_at", "unsubscribed_at"])
        for s in queryset.prefetch_related("keywords").order_by("pk"):
            writer.writerow([_cell(v) for v in (
                s.email, s.status, s.frequency, s.send_weekday, s.send_hour, s.timezone,
                "; ".join(k.text for k in s.keywords.all()),
                s.created_at.isoformat(), s.confirmed_at.isoformat() if s.confirmed_at else "",
                s.unsubscribed_at.isoformat() if s.unsubscribed_at else "",
            )])
        return response


def _cell(value) -> str:
    # Keywords are typed by strangers: a leading =, +, - or @ would make a
    # spreadsheet evaluate the cell as a formula (CSV injection).
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
