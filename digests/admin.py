"""Digest admin: the delivery record of every day, counts per day, retrying failures,
and a preview of anyone's digest for any date exactly as it is (or would be) sent."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.mail import make_msgid
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from subscriptions.emails import message_send
from subscriptions.models import Digest, Subscriber

from .mime import email_message, sender_domain
from .pages import digest_preview
from .services.sweep import digests_retry_failed

COUNT_DAYS = 14


class PreviewForm(forms.Form):
    subscriber = forms.CharField(help_text="Email address or id of the subscriber.")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="The digest date.")

    def clean_subscriber(self) -> Subscriber:
        value = self.cleaned_data["subscriber"].strip()
        # isdigit() alone accepts "²" and "٣", which int() refuses; 18 digits fit a bigint.
        is_id = value.isascii() and value.isdigit() and len(value) <= 18
        found = Subscriber.objects.filter(pk=int(value)).first() if is_id else (
            Subscriber.objects.filter(email__iexact=value).first())
        if found is None:
            raise forms.ValidationError(f"No subscriber {value!r}.")
        return found


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    change_list_template = "subscriptions/digest_admin_change_list.html"
    list_display = ("digest_date", "subscriber", "status", "paper_count", "matched_count", "attempts", "sent_at",
                    "short_error", "preview_link")
    list_filter = ("status", ("digest_date", admin.DateFieldListFilter))
    date_hierarchy = "digest_date"
    search_fields = ("subscriber__email", "message_id")
    list_select_related = ("subscriber",)
    readonly_fields = [f.name for f in Digest._meta.fields]
    actions = ["retry_failed"]
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from the build, never by hand

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a delivery record: read it, retry it, never edit it

    @admin.display(description="papers")
    def paper_count(self, obj: Digest) -> int:
        return len(obj.papers)

    @admin.display(description="error")
    def short_error(self, obj: Digest) -> str:
        return Truncator(obj.error).chars(90)

    @admin.display(description="preview")
    def preview_link(self, obj: Digest):
        url = reverse("admin:subscriptions_digest_preview")
        return format_html('<a href="{}?subscriber={}&amp;date={}">preview</a>', url, obj.subscriber_id,
                           obj.digest_date.isoformat())

    def get_urls(self):
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="subscriptions_digest_preview"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        # The most recent days that have digests, whatever today is.
        days = list(Digest.objects.order_by("-digest_date").values_list("digest_date", flat=True)
                    .distinct()[:COUNT_DAYS])
        rows = (Digest.objects.filter(digest_date__in=days).order_by().values_list("digest_date", "status")
                .annotate(n=Count("id")))
        per_day: dict[dt.date, dict[str, int]] = {}
        for day, status, n in rows:
            per_day.setdefault(day, {s: 0 for s in Digest.Status.values})[status] = n
        extra_context = {
            **(extra_context or {}),
            "statuses": Digest.Status.choices,
            "day_counts": [(day, [counts[s] for s in Digest.Status.values], sum(counts.values()))
                           for day, counts in sorted(per_day.items(), reverse=True)],
            "preview_url": reverse("admin:subscriptions_digest_preview"),
        }
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Retry failed digests (send them again)")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        retried = digests_retry_failed(digest_ids=ids)
        self.message_user(request, f"{retried} failed digest(s) of {len(ids)} selected are queued to be sent again.",
                          messages.SUCCESS if retried else messages.WARNING)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Any subscriber's digest for any date: the row as sent, or what a build would make now."""
        form = PreviewForm(request.POST or request.GET or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Digest preview"}
        if form.is_bound and form.is_valid():
            subscriber, day = form.cleaned_data["subscriber"], form.cleaned_data["date"]
            rendered, source = digest_preview(subscriber, day)
            if request.method == "POST" and rendered is not None:
                return self._send_test(request, rendered, subscriber, day)
            context.update(subscriber=subscriber, day=day, rendered=rendered, source=source)
            if rendered is not None:
                context["headers"] = [("From", email_message(rendered).from_email), ("To", rendered.to),
                                      ("Subject", rendered.subject), *rendered.headers.items()]
                context["html_kb"] = f"{rendered.html_size / 1024:.1f}"
        return TemplateResponse(request, "subscriptions/digest_admin_preview.html", context)

    def _send_test(self, request: HttpRequest, rendered, subscriber: Subscriber, day: dt.date) -> HttpResponse:
        to = (request.user.email or "").strip()
        back = f"{reverse('admin:subscriptions_digest_preview')}?subscriber={subscriber.pk}&date={day.isoformat()}"
        if not to:
            self.message_user(request, "Your admin user has no email address: add one to get test emails.",
                              messages.ERROR)
            return redirect(back)
        message = email_message(rendered, to=to)
        # Its own Message-ID: the real one belongs to the subscriber's delivery.
        message.extra_headers["Message-ID"] = make_msgid("digest-test", domain=sender_domain())
        message.subject = f"[test] {rendered.subject}"
        # The one-click unsubscribe would act for the subscriber, and the editor's mail
        # client (Gmail's "Unsubscribe" button) could press it: test emails go without.
        for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
            message.extra_headers.pop(name, None)
        try:
            message_send(message)
        except Exception as exc:  # the admin should read why, not get a 500
            self.message_user(request, f"Could not send the test to {to}: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"Sent this digest to {to} as a test. It has no unsubscribe header, but "
                              f"the links in it act for {subscriber.email}: don't use its Unsubscribe link.",
                              messages.SUCCESS)
        return redirect(back)
