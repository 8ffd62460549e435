"""Admin: the delivery events providers reported, and the "Sending health" page.

Sending health shows, per day, digests sent and failed (Digest rows), hard
bounces and spam complaints (DeliveryEvent rows from the provider webhooks) and
unsubscribes (Subscriber.unsubscribed_at, which covers our own link and the
provider's), with the complaint rate measured against the limits Gmail and
Yahoo enforce on bulk senders: stay under 0.1%, never reach 0.3%.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from subscriptions.models import DeliveryEvent, Digest, Subscriber

# Complaint-rate limits for bulk senders (Gmail and Yahoo, February 2024).
COMPLAINT_RATE_TARGET = 0.001  # keep below
COMPLAINT_RATE_LIMIT = 0.003  # never reach: mail starts going to spam or is refused
MAX_DAYS = 365


@dataclass(frozen=True)
class HealthDay:
    day: dt.date | None  # None for the window's total
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0

    @property
    def complaint_rate(self) -> float | None:
        return self.complained / self.sent if self.sent else None

    @property
    def bounce_rate(self) -> float | None:
        return self.bounced / self.sent if self.sent else None

    @property
    def complaint_pct(self) -> str:
        return "—" if self.complaint_rate is None else f"{self.complaint_rate * 100:.2f}%"

    @property
    def bounce_pct(self) -> str:
        return "—" if self.bounce_rate is None else f"{self.bounce_rate * 100:.2f}%"

    @property
    def level(self) -> str:
        """ok, warn (at or over 0.1%) or over (at or over 0.3%)."""
        rate = self.complaint_rate
        if rate is None:
            # Complaints with nothing sent that day still deserve a look.
            return "warn" if self.complained else "ok"
        if rate >= COMPLAINT_RATE_LIMIT:
            return "over"
        if rate >= COMPLAINT_RATE_TARGET:
            return "warn"
        return "ok"


def sending_health(*, days: int, today: dt.date) -> tuple[list[HealthDay], HealthDay]:
    """Per-day counts for the `days` days ending `today` (newest first), and their total."""
    start = today - dt.timedelta(days=days - 1)
    counts: dict[dt.date, dict[str, int]] = {start + dt.timedelta(n): {} for n in range(days)}

    digests = (
        Digest.objects.filter(digest_date__range=(start, today), status__in=(Digest.Status.SENT, Digest.Status.FAILED))
        .values_list("digest_date", "status")
        .annotate(n=Count("id"))
    )
    for day, status, n in digests:
        counts[day][status] = n

    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min), dt.UTC)
    until = since + dt.timedelta(days=days)
    events = (
        DeliveryEvent.objects.filter(
            occurred_at__gte=since, occurred_at__lt=until,
            kind__in=(DeliveryEvent.Kind.BOUNCED, DeliveryEvent.Kind.COMPLAINED),
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=dt.UTC))
        .values_list("day", "kind")
        .annotate(n=Count("id"))
    )
    for day, kind, n in events:
        counts[day][kind] = n

    unsubscribes = (
        Subscriber.objects.filter(unsubscribed_at__gte=since, unsubscribed_at__lt=until)
        .annotate(day=TruncDate("unsubscribed_at", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    for day, n in unsubscribes:
        counts[day]["unsubscribed"] = n

    rows = [
        HealthDay(
            day=day,
            sent=c.get(Digest.Status.SENT, 0),
            failed=c.get(Digest.Status.FAILED, 0),
            bounced=c.get(DeliveryEvent.Kind.BOUNCED, 0),
            complained=c.get(DeliveryEvent.Kind.COMPLAINED, 0),
            unsubscribed=c.get("unsubscribed", 0),
        )
        for day, c in sorted(counts.items(), reverse=True)
    ]
    total = HealthDay(
        day=None,
        **{f: sum(getattr(r, f) for r in rows) for f in ("sent", "failed", "bounced", "complained", "unsubscribed")},
    )
    return rows, total


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(admin.ModelAdmin):
    """What providers reported; written only by the webhooks, so read-only here."""

    change_list_template = "admin/subscriptions/deliveryevent/change_list.html"
    list_display = ("occurred_at", "kind", "email", "subscriber", "provider", "short_detail")
    list_filter = ("kind", "provider")
    search_fields = ("email", "message_id", "provider_event_id")
    date_hierarchy = "occurred_at"
    list_select_related = ("subscriber",)
    readonly_fields = [f.name for f in DeliveryEvent._meta.fields]

    @admin.display(description="detail")
    def short_detail(self, obj: DeliveryEvent) -> str:
        return obj.detail[:120]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        extra = [
            path("health/", self.admin_site.admin_view(self.health_view), name="subscriptions_sending_health"),
        ]
        return extra + super().get_urls()

    def health_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = min(max(int(request.GET.get("days", 30)), 1), MAX_DAYS)
        except ValueError:
            days = 30
        rows, total = sending_health(days=days, today=timezone.now().date())
        context = {
            **self.admin_site.each_context(request),
            "title": "Sending health",
            "opts": self.model._meta,
            "rows": rows,
            "total": total,
            "days": days,
            "day_choices": (7, 30, 90),
            "target_pct": COMPLAINT_RATE_TARGET * 100,
            "limit_pct": COMPLAINT_RATE_LIMIT * 100,
        }
        return TemplateResponse(request, "admin/subscriptions/sending_health.html", context)
