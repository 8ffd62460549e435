"""Junk in every admin URL parameter (issue 11, item 6): a message or an empty list, never a 500.

Walks every registered ModelAdmin: each list_filter's own parameters, the
date_hierarchy drill-down, search, ordering and paging, and the custom views
(digest preview, sending health, import, fetch now), feeding each the values
an attacker or a mistyped bookmark would.
"""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

JUNK = ["x", "9999-99-99", "²", "99999999999999999999999", "\x00", "%'"]
MORE_JUNK = [*JUNK, "2024-02-30", "-1", "a" * 1000, "9999-12-31", "0001-01-01", "٣", "0", "1e309", "nan", "[]", "{}",
             "2024-03-12T25:00"]


@pytest.fixture
def editor(client):
    # No password: hashing one costs more than the requests; force_login needs none.
    user = get_user_model().objects.create_superuser("editor", "editor@example.org", None)
    client.force_login(user)
    return user


def _changelist_parameters(model_admin, user) -> set[str]:
    request = RequestFactory().get("/")
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    names = {name for spec in changelist.filter_specs for name in spec.expected_parameters()}
    if model_admin.date_hierarchy:
        names |= {f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    return names | {"q", "o", "p", "e", "_facets", "all"}


def _admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize("model", [m for m, _ in _admins()], ids=lambda m: m._meta.label)
def test_every_changelist_parameter_takes_junk(client, editor, model):
    SubscriberFactory(email="ada@example.org")
    model_admin = admin.site._registry[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    client.raise_request_exception = False
    failures = []
    for name in sorted(_changelist_parameters(model_admin, editor)):
        for value in JUNK:
            response = client.get(url, {name: value})
            if response.status_code >= 500:
                failures.append((name, value[:20], response.status_code))
    # The date drill-down as a whole: a real year with a junk month and day.
    if model_admin.date_hierarchy:
        field = model_admin.date_hierarchy
        for month, day in (("13", "1"), ("2", "30"), ("x", "1"), ("1", "99")):
            response = client.get(url, {f"{field}__year": "2024", f"{field}__month": month, f"{field}__day": day})
            if response.status_code >= 500:
                failures.append((field, f"2024-{month}-{day}", response.status_code))
    assert failures == []


def test_the_digest_preview_takes_junk(client, editor):
    SubscriberFactory(email="ada@example.org")
    client.raise_request_exception = False
    url = reverse("admin:subscriptions_digest_preview")
    answers = {}
    for subscriber in ("²", "٣", "1²", "-1", "0", "99999999999999999999999", "x" * 400, "ada@example.org\x00", "%"):
        for date in ("2024-03-12", "9999-99-99", "9999-12-31", "0001-01-01", "x", ""):
            params = {"subscriber": subscriber, "date": date}
            answers[subscriber[:10], date] = (client.get(url, params).status_code, client.post(url, params).status_code)
    assert {k: v for k, v in answers.items() if max(v) >= 500} == {}


def test_the_preview_still_finds_a_subscriber_by_id_or_address(client, editor):
    ada = SubscriberFactory(email="ada@example.org")
    url = reverse("admin:subscriptions_digest_preview")
    for value in (str(ada.pk), "ADA@example.org"):
        html = client.get(url, {"subscriber": value, "date": "2024-03-12"}).content.decode()
        assert "No subscriber" not in html and "ada@example.org" in html


def test_the_custom_admin_views_take_junk(client, editor):
    client.raise_request_exception = False
    views = {
        reverse("admin:subscriptions_sending_health"): ("days",),
        reverse("admin:subscriptions_digest_preview"): ("subscriber", "date"),
        reverse("admin:papers_paper_import"): ("format",),
        reverse("admin:papers_paper_fetch_now"): ("source",),
    }
    failures = []
    for value in MORE_JUNK:
        for url, names in views.items():
            params = dict.fromkeys(names, value)
            for method in (client.get, client.post):
                status = method(url, params).status_code
                if status >= 500:
                    failures.append((url, method.__name__, value[:20], status))
    assert failures == []
