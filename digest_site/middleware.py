"""A request guard for every admin URL: our ModelAdmins and third-party ones (django-celery-beat)."""
from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse

# The admin's date drill-down (`<field>__year=2024&<field>__month=3`): Django's
# ChangeList passes these to int() and datetime() and turns only ValueError into
# its "?e=1" page; a 20-digit year raises OverflowError, a 500.
_DATE_PART = re.compile(r"__(?:year|month|day)$")
_SMALL_NUMBER = re.compile(r"[0-9]{1,4}")


class QueryParameterGuard:
    """400 for admin query or form values no admin view can use: NUL bytes, junk date parts.

    PostgreSQL text cannot hold NUL, so a `\\x00` that reaches a filter (an admin
    list filter, a search) raises deep in the driver. Forms already refuse it
    (ProhibitNullCharactersValidator); URL parameters of the admin's filters do
    not. Our public views validate in their forms and explain the problem, so
    the guard leaves them alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.admin_prefix = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Resolved on first use: the URLconf is not loaded when middleware is built.
        self.admin_prefix = self.admin_prefix or reverse("admin:index")
        problem = self._problem(request) if request.path.startswith(self.admin_prefix) else ""
        if problem:
            return HttpResponseBadRequest(f"Bad request: {problem}\n", content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _problem(request: HttpRequest) -> str:
        sources = [request.GET]
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                 "multipart/form-data"):
            sources.append(request.POST)
        for params in sources:
            for key, values in params.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return "a parameter holds a NUL character"
                if _DATE_PART.search(key) and not all(_SMALL_NUMBER.fullmatch(v) for v in values):
                    return f"{key} must be a number"
        return ""
