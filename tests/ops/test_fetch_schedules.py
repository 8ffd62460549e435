"""The periodic fetch tasks, their schedules, and the admin's "Fetch papers now"."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from celery.schedules import crontab
from django.contrib.auth.models import User

from digest_site.celery import app
from papers import tasks
from papers.models import Paper
from papers.schedules import SCHEDULES

pytestmark = pytest.mark.django_db

HF_PATH = "/api/daily_papers"


@pytest.fixture
def hf(source_server, settings):
    settings.HF_DAILY_PAPERS_URL = source_server.base + HF_PATH
    source_server.serve_file(HF_PATH, "hf_daily_papers_2024-03-11.json", "application/json")
    return source_server


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("editor", "editor@example.org", "pw-long-enough-123"))
    return client


def test_it_schedules_real_tasks_with_valid_crontabs():
    assert {entry["task"] for entry in SCHEDULES} == {
        "papers.tasks.fetch_hf_daily_papers", "papers.tasks.fetch_arxiv_papers",
    }
    assert len({entry["name"] for entry in SCHEDULES}) == len(SCHEDULES)
    for entry in SCHEDULES:
        assert entry["task"] in app.tasks, entry["task"]
        schedule = crontab(**entry["crontab"])  # raises on a malformed field
        assert schedule.remaining_estimate(dt.datetime(2024, 3, 11, tzinfo=dt.UTC)) is not None


def test_it_fetches_one_day_through_the_task_and_logs_one_line(hf, caplog):
    results = tasks.fetch_hf_daily_papers.delay("2024-03-11").get()
    assert [(r["listed_on"], r["created"], r["error"]) for r in results] == [("2024-03-11", 3, None)]
    assert Paper.objects.count() == 3
    task_lines = [line for line in caplog.text.splitlines() if "task=papers.fetch_hf_daily_papers" in line]
    assert len(task_lines) == 1
    assert "fetches=1 failed=0 created=3" in task_lines[0] and "task_id=" in task_lines[0]


@time_machine.travel(dt.datetime(2024, 3, 12, 8, 0, tzinfo=dt.UTC), tick=False)
def test_it_fetches_yesterday_and_today_by_default(hf):
    results = tasks.fetch_hf_daily_papers.delay().get()
    assert [r["listed_on"] for r in results] == ["2024-03-11", "2024-03-12"]
    assert [s.query["date"] for s in hf.seen] == [["2024-03-11"], ["2024-03-12"]]


def test_it_fetches_now_from_the_admin(hf, staff_client):
    page = staff_client.get("/admin/papers/paper/fetch-now/")
    assert page.status_code == 200 and "Fetch papers now" in page.content.decode()
    response = staff_client.post("/admin/papers/paper/fetch-now/", {"source": "hf", "day": "2024-03-11"}, follow=True)
    html = response.content.decode()
    assert "Hugging Face fetch: 2024-03-11: 3 new, 0 updated" in html
    assert Paper.objects.count() == 3


def test_it_shows_a_failed_fetch_in_the_admin(source_server, settings, staff_client):
    settings.HF_DAILY_PAPERS_URL = source_server.base + HF_PATH
    source_server.answer(HF_PATH, (500, "oops", "text/plain"))
    response = staff_client.post("/admin/papers/paper/fetch-now/", {"source": "hf", "day": "2024-03-11"}, follow=True)
    assert "failed: ValueError: HTTP 500" in response.content.decode()
    assert not Paper.objects.exists()


def test_it_rejects_a_bad_date_in_the_admin_form(staff_client, source_server):
    response = staff_client.post("/admin/papers/paper/fetch-now/", {"source": "hf", "day": "yesterday-ish"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()
    assert source_server.seen == []


def test_it_keeps_fetch_now_for_editors(client):
    response = client.get("/admin/papers/paper/fetch-now/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    User.objects.create_user("intern", "i@example.org", "pw-long-enough-123", is_staff=True)
    client.login(username="intern", password="pw-long-enough-123")
    assert client.get("/admin/papers/paper/fetch-now/").status_code == 403


def test_it_links_fetch_now_from_the_editable_schedules(staff_client):
    html = staff_client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "/admin/papers/paper/fetch-now/" in html


def test_it_installs_the_fetch_schedules_editable_in_the_admin(staff_client):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_schedules", stdout=io.StringIO())
    for entry in SCHEDULES:
        task = PeriodicTask.objects.get(name=entry["name"])
        assert task.task == entry["task"] and task.enabled
        assert (task.crontab.minute, task.crontab.hour) == (entry["crontab"]["minute"], entry["crontab"]["hour"])
    html = staff_client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert all(entry["name"] in html for entry in SCHEDULES)
