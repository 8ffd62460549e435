"""docker-compose.yml, the Dockerfile and .env.example agree with the settings and the code.

No Docker engine runs here, so these read the files: every service is there
with a healthcheck, the app services wait for the database and the one-shot
migrate job, every variable the settings read reaches web, worker and beat,
and every command names a module, Celery app or management command that exists.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml
from celery.utils.imports import symbol_by_name
from django.core.management import get_commands

REPO = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")

# Variables read by the settings, however they read them:
# os.environ.get("X"), os.environ["X"], os.getenv("X"), env_bool("X", ...), env_url(\n "X", ...), env.str("X")...
_ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|env_bool|env_int|env_url|\benv\.\w+|\benv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""",
)
_INTERPOLATED = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")
_DOCUMENTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.M)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def settings_variables() -> set[str]:
    text = (REPO / "digest_site" / "settings.py").read_text()
    return {a or b for a, b in _ENV_READ.findall(text)}


def documented_variables() -> set[str]:
    return set(_DOCUMENTED.findall((REPO / ".env.example").read_text()))


def dockerfile_env(dockerfile) -> dict[str, str]:
    env = {}
    for instruction, args in dockerfile:
        if instruction == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
    return env


def _argv(command) -> list[str]:
    return list(command) if isinstance(command, list) else shlex.split(command)


def _interpolate_defaults(value: str) -> str:
    """What compose substitutes when the variable is unset: ${X:-default} -> default."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))


def test_it_reads_the_settings_variables_the_design_names():
    found = settings_variables()
    assert {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SITE_URL", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL",
            "EMAIL_URL", "DEFAULT_FROM_EMAIL", "ANYMAIL_WEBHOOK_SECRET", "HF_DAILY_PAPERS_URL"} <= found


def test_it_has_every_service_with_a_healthcheck(services):
    assert set(services) == {"web", "worker", "beat", "migrate", "postgres", "redis", "mailpit"}
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name == "migrate":
            # One-shot: its exit status is what the others wait for.
            assert check.get("disable") is True and service["restart"] == "no"
            continue
        assert check.get("test"), f"{name} has no healthcheck"
    assert services["web"]["healthcheck"]["test"][-1].endswith("/healthz")
    assert any("pg_isready" in part for part in _argv(services["postgres"]["healthcheck"]["test"]))
    assert "ping" in services["redis"]["healthcheck"]["test"]


def test_it_runs_one_image_for_web_worker_beat_and_migrate(services):
    images = {(services[name]["image"], services[name]["build"]) for name in (*APP_SERVICES, "migrate")}
    assert len(images) == 1
    assert images.pop()[1] == "."


def test_it_starts_the_app_after_migrations_and_healthy_services(services):
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_it_keeps_postgres_data_in_a_volume_and_mailpit_on_1025_and_8025(compose, services):
    volume = services["postgres"]["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert services["mailpit"]["ports"] == ["${MAILPIT_UI_PORT:-8025}:8025"]
    assert _interpolate_defaults(services["web"]["environment"]["EMAIL_URL"]) == "smtp://mailpit:1025"


def test_it_passes_every_variable_the_settings_read_to_web_worker_and_beat(services, dockerfile):
    documented = documented_variables()
    baked = dockerfile_env(dockerfile)
    for name in APP_SERVICES:
        service = services[name]
        env_files = service.get("env_file")
        env_files = [env_files] if isinstance(env_files, str) else env_files or []
        explicit = set(service.get("environment") or {})
        for variable in settings_variables():
            passed = (
                variable in explicit
                or (".env" in env_files and variable in documented)
                or variable in baked
            )
            assert passed, f"{variable} (read by settings.py) does not reach the {name} service"


def test_it_documents_every_variable_and_nothing_stale(compose):
    documented = documented_variables()
    read = settings_variables()
    interpolated = set(_INTERPOLATED.findall((REPO / "docker-compose.yml").read_text()))
    assert read - documented == set(), "read by settings.py but missing from .env.example"
    assert interpolated - documented == set(), "used by docker-compose.yml but missing from .env.example"
    assert documented - read - interpolated == set(), ".env.example documents variables nothing reads"


def test_it_points_the_app_at_the_compose_services_by_default(services):
    from environ import Env

    from digest_site.email_url import email_url_settings

    env = {k: _interpolate_defaults(v) for k, v in services["web"]["environment"].items()}
    database = Env.db_url_config(env["DATABASE_URL"])
    assert (database["ENGINE"], database["HOST"]) == ("django.db.backends.postgresql", "postgres")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert email_url_settings(env["EMAIL_URL"])["EMAIL_HOST"] == "mailpit"
    assert env["CELERY_BROKER_URL"] != env["REDIS_URL"]  # broker and cache in separate Redis databases
    assert "${SECRET_KEY:?" in services["web"]["environment"]["SECRET_KEY"]  # compose refuses to start without it


def test_it_runs_gunicorn_on_the_real_wsgi_app(services, dockerfile):
    argv = _argv(services["web"]["command"])
    assert argv[0] == "gunicorn"
    module, attr = argv[1].split(":")
    assert callable(getattr(importlib.import_module(module), attr))
    cmd = [args for instruction, args in dockerfile if instruction == "CMD"][-1]
    assert _argv(yaml.safe_load(cmd)) == argv  # the image's default command is the web server


def test_it_runs_the_real_celery_app_worker_and_beat_scheduler(services):
    from celery import Celery

    for name, role in (("worker", "worker"), ("beat", "beat")):
        argv = _argv(services[name]["command"])
        assert argv[:4] == ["celery", "-A", "digest_site", role], argv
        assert isinstance(importlib.import_module("digest_site").celery_app, Celery)
    beat = _argv(services["beat"]["command"])
    scheduler = beat[beat.index("--scheduler") + 1]
    assert symbol_by_name(scheduler).__name__ == "DatabaseScheduler"
    worker_check = services["worker"]["healthcheck"]["test"][1]
    assert worker_check.startswith("celery -A digest_site inspect ping")


def test_it_migrates_and_installs_schedules_with_real_management_commands(services):
    argv = _argv(services["migrate"]["command"])
    assert argv[:2] == ["sh", "-c"]
    steps = [shlex.split(step) for step in argv[2].split("&&")]
    names = [step[2] for step in steps]
    assert names == ["migrate", "setup_schedules"]
    commands = get_commands()
    for step in steps:
        assert step[:2] == ["python", "manage.py"]
        assert step[2] in commands, f"no management command {step[2]!r}"


def test_it_healthchecks_with_modules_that_exist(services):
    for name in ("web", "beat"):
        argv = _argv(services[name]["healthcheck"]["test"])
        assert argv[:4] == ["CMD", "python", "-m", "digest_site.health"]
        assert importlib.util.find_spec(argv[3]) is not None


def test_it_builds_a_slim_python_311_image_that_runs_as_a_user(dockerfile):
    instructions = [instruction for instruction, _ in dockerfile]
    args = dict(reversed(dockerfile))  # first occurrence of each instruction
    assert args["FROM"] == "python:3.11-slim"
    users = [a for i, a in dockerfile if i == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert instructions.index("USER") < instructions.index("CMD")
    runs = " ".join(a for i, a in dockerfile if i == "RUN")
    assert "pip install ." in runs  # the pinned dependencies of pyproject.toml
    assert "manage.py collectstatic --noinput" in runs
    assert dockerfile_env(dockerfile)["STATIC_MANIFEST"] == "true"


def test_it_keeps_secrets_and_local_state_out_of_the_build_context():
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "var/"} <= set(ignored)
