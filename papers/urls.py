import datetime as dt

from django.urls import path, register_converter

from . import views
from .feeds import TrendingFeed


class IsoDateConverter:
    """YYYY-MM-DD that is a real date; anything else is simply not a match (404)."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)  # ValueError (e.g. 2024-02-30) means "no match"

    def to_url(self, value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "isodate")

app_name = "papers"
urlpatterns = [
    path("", views.home, name="home"),
    path("day/<isodate:day>/", views.day, name="day"),
    path("archive/", views.archive, name="archive"),
    path("papers/<int:paper_id>/", views.paper_detail, name="paper"),
    path("search/", views.search, name="search"),
    path("feed/", TrendingFeed(), name="feed"),
]
