"""`make demo`: the whole day on the embedded defaults, from an empty machine.

Migrates the SQLite database under var/, imports the demo papers that ship in
papers/demo_data/, creates an admin user and a few confirmed demo subscribers,
runs the day's digest job (Celery eager, mail written to var/mail/) and says
where to look. Safe to run again: imports are upserts, subscribers are reused,
and a digest already sent for a day is never sent twice.

It refuses to run with DEBUG off or on a database other than SQLite unless
given --force: an `admin`/`admin` superuser and demo digests do not belong on a
production site.
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from digests.services.day import digests_run_day
from papers.selectors import latest_listing_date
from papers.services import papers_import_text
from subscriptions.models import Subscriber
from subscriptions.services.subscribers import subscriber_create_confirmed

DEMO_DATA = Path(settings.BASE_DIR) / "papers" / "demo_data"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # demo only: printed below, never used outside `make demo`

DEMO_SUBSCRIBERS = [
    ("ada@example.org", ["pretraining", "retrieval", "speech recognition"]),
    ("grace@example.org", ["graph neural network", "BERT", "diffusion"]),
    ("alan@example.org", ["few-shot", "autoregressive", "GPT"]),
]


def production_refusal() -> str:
    """Why this looks like a real site ("" on a laptop: DEBUG on, SQLite)."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if not settings.DEBUG:
        return "DEBUG is off (set DEBUG=true, as `make demo` does)"
    if not engine.endswith("sqlite3"):
        return f"the database is not the embedded SQLite ({engine.rsplit('.', 1)[-1]})"
    return ""


class Command(BaseCommand):
    help = "Set up demo data and run the day's digest job on the embedded defaults."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="run even with DEBUG off or on a database other than SQLite (creates admin/admin!)")

    def handle(self, *args, **options):
        refusal = production_refusal()
        if refusal and not options["force"]:
            raise CommandError(f"refusing to run the demo: {refusal}. It creates the superuser "
                               f"{ADMIN_USERNAME}/{ADMIN_PASSWORD} and sends digests; use --force if you mean it.")
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("1. Database ready: " + str(settings.DATABASES["default"]["NAME"]))

        files = sorted(p for p in DEMO_DATA.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise CommandError(f"no demo data in {DEMO_DATA}")
        for path in files:
            result = papers_import_text(text=path.read_text(encoding="utf-8"), name=path.name)
            if result.error:
                raise CommandError(result.error)
            self.stdout.write(
                f"2. Imported {path.name}: created={result.created} updated={result.updated} "
                f"unchanged={result.unchanged} skipped={result.skipped}"
            )

        user_model = get_user_model()
        admin, created = user_model.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.org", "is_staff": True, "is_superuser": True}
        )
        if created:
            admin.set_password(ADMIN_PASSWORD)
            admin.save(update_fields=["password"])
        already = "" if created else " (already there)"
        self.stdout.write(f"3. Admin user: {ADMIN_USERNAME} / {ADMIN_PASSWORD}{already}")

        for email, keywords in DEMO_SUBSCRIBERS:
            if not Subscriber.objects.filter(email__iexact=email).exists():
                subscriber_create_confirmed(email=email, keywords=keywords)
            self.stdout.write(f"4. Subscriber {email}: {', '.join(keywords)}")

        digest_date = latest_listing_date()
        if digest_date is None:
            raise CommandError("the demo data has no listing dates")
        counts = digests_run_day(digest_date=digest_date)
        self.stdout.write(
            f"5. Digests for {digest_date}: built={counts.built} sent={counts.sent} "
            f"skipped={counts.skipped} failed={counts.failed}"
        )
        if counts.sent == 0 and counts.built == 0:
            self.stdout.write("   (already delivered on an earlier run: a day is never sent twice)")

        mail_dir = Path(settings.EMAIL_FILE_PATH) if hasattr(settings, "EMAIL_FILE_PATH") else settings.MAIL_DIR
        html = sorted(mail_dir.glob("*.html"))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Done. Where to look:"))
        self.stdout.write(f"  - the emails: {mail_dir}/ (*.eml for a mail client, *.html for a browser)")
        if html:
            self.stdout.write(f"    e.g. open file://{html[-1]}")
        self.stdout.write("  - the site: run `make serve`, then open http://127.0.0.1:8000/")
        self.stdout.write(f"  - the admin: http://127.0.0.1:8000/admin/ as {ADMIN_USERNAME} / {ADMIN_PASSWORD}")
