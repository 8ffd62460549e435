"""Admin page "Fetch papers now": run a source fetch at once instead of waiting for its schedule.

Mounted by PaperAdmin.get_urls (papers/admin.py) at /admin/papers/paper/fetch-now/
(staff with the "add paper" permission). The fetch runs as the same Celery task the schedule
uses: on a worker when a broker is configured, in the request otherwise.
The schedules themselves are edited under Periodic tasks (django-celery-beat).
"""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from papers import tasks
from papers.models import Paper


class FetchNowForm(forms.Form):
    source = forms.ChoiceField(
        choices=[("hf", "Hugging Face daily papers"), ("arxiv", "arXiv API (newest in the configured categories)")],
        widget=forms.RadioSelect,
        initial="hf",
    )
    day = forms.DateField(
        required=False,
        help_text="Hugging Face only: the list of this day (YYYY-MM-DD). Empty: today's and yesterday's.",
    )


def _summary(results: list[dict]) -> tuple[str, bool]:
    parts, ok = [], True
    for r in results:
        if r["error"]:
            ok = False
            parts.append(f"{r['listed_on'] or ''} failed: {r['error']}")
        else:
            parts.append(
                f"{r['listed_on'] or ''}: {r['created']} new, {r['updated']} updated, {r['unchanged']} unchanged"
            )
    return "; ".join(parts), ok


def fetch_now_view(request):
    if not request.user.has_perm("papers.add_paper"):
        raise PermissionDenied
    form = FetchNowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["source"] == "hf":
            day = form.cleaned_data["day"]
            result = tasks.fetch_hf_daily_papers.delay(day.isoformat() if day else None)
            label = "Hugging Face"
        else:
            result = tasks.fetch_arxiv_papers.delay()
            label = "arXiv"
        if settings.CELERY_TASK_ALWAYS_EAGER:
            text, ok = _summary(result.get())
            messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, f"{label} fetch: {text}")
        else:
            messages.success(request, f"{label} fetch queued (task {result.id}); the worker log has the outcome.")
        return redirect(request.path)
    context = {
        **admin.site.each_context(request),
        "title": "Fetch papers now",
        "form": form,
        "opts": Paper._meta,
        "hf_url": settings.HF_DAILY_PAPERS_URL,
        "arxiv_url": settings.ARXIV_API_URL,
        "arxiv_query": settings.ARXIV_QUERY or " OR ".join(f"cat:{c}" for c in settings.ARXIV_CATEGORIES),
    }
    return TemplateResponse(request, "admin/papers_fetch_now.html", context)
