"""`manage.py setup_schedules`: install the periodic tasks into django-celery-beat (idempotent).

Reads SCHEDULES from the schedules.py of every installed app that has one
(papers, subscriptions, digests: each a list of
dict(name, task, crontab=dict(minute=..., hour=..., ...)) in UTC).
Existing entries are updated by name; an entry an operator disabled in the
admin stays disabled. Beat (DatabaseScheduler) picks the changes up by itself.
"""
from __future__ import annotations

import importlib

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


def schedules() -> list[dict]:
    found = []
    for name in [f"{config.name}.schedules" for config in apps.get_app_configs()]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for entry in getattr(module, "SCHEDULES", []):
            unknown = set(entry.get("crontab", {})) - set(CRONTAB_FIELDS)
            if not entry.get("name") or not entry.get("task") or unknown:
                raise CommandError(f"{name}.SCHEDULES: bad entry {entry!r}")
            found.append(entry)
    return found


class Command(BaseCommand):
    help = "Create or update the periodic tasks (digests dispatch, sweeper, fetches, purge) in django-celery-beat."

    @transaction.atomic
    def handle(self, *args, **options):
        created = updated = 0
        for entry in schedules():
            fields = {f: str(entry["crontab"].get(f, "*")) for f in CRONTAB_FIELDS}
            crontab, _ = CrontabSchedule.objects.get_or_create(**fields, timezone="UTC")
            task, was_created = PeriodicTask.objects.get_or_create(
                name=entry["name"], defaults={"task": entry["task"], "crontab": crontab}
            )
            if was_created:
                created += 1
            elif task.task != entry["task"] or task.crontab_id != crontab.pk or task.interval_id:
                task.task, task.crontab, task.interval = entry["task"], crontab, None
                task.save()
                updated += 1
            self.stdout.write(f"{entry['name']}: {entry['task']} at {' '.join(fields.values())} (UTC)")
        self.stdout.write(f"schedules: created={created} updated={updated}")
