"""Settings, read from environment variables only (see .env.example).

Every variable is parsed strictly: a malformed value stops start-up with an
ImproperlyConfigured error that names the variable, instead of falling back to
a default nobody asked for. With no variables at all the embedded defaults
apply: SQLite under var/, Celery eager, local-memory cache, mail written to
var/mail/.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """django-environ maps any unknown word to False; we refuse it instead."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_url(name: str, default: str | None = None, *, schemes: tuple[str, ...]) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    parts = urlsplit(raw.strip())
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(f"{name}={raw!r}: scheme must be one of {', '.join(schemes)}")
    return raw.strip()


DEBUG = env_bool("DEBUG", False)

# The default key is only good for a laptop; `manage.py check --deploy` flags it
# (security.W009), and docker-compose/.env.example require a real one.
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-local-development-key-change-me"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
                 if h.strip()]

SITE_URL = (env_url("SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https")) or "").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "anymail",
    "papers",
    "subscriptions",
    "digests",
    "benchmarks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # NUL bytes and junk date parts in admin URLs: a 400 before any admin filter sees them.
    "digest_site.middleware.QueryParameterGuard",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response, the admin's included (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Turns django-ratelimit's Ratelimited into RATELIMIT_VIEW's 429 page.
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "digest_site.urls"
WSGI_APPLICATION = "digest_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # {{ CSP_NONCE }} for the few inline <script>/<style> blocks.
                "csp.context_processors.nonce",
                "papers.context_processors.site",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------
_DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
try:
    DATABASES = {"default": env.db_url_config(_DATABASE_URL)}
except Exception as exc:  # environ raises assorted errors on junk
    raise ImproperlyConfigured(f"DATABASE_URL={_DATABASE_URL!r} is not a database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    # The web process (wsgi.py sets DIGEST_PROCESS=web) may not hold a connection busy for
    # long: every statement it runs is cancelled after this many ms. Workers and commands
    # (imports, digests, index rebuilds) have no such limit. Search sets a tighter one of
    # its own per query (papers.search_results.TIME_LIMIT_MS). 0 turns it off.
    if os.environ.get("DIGEST_PROCESS") == "web":
        _timeout = env_int("WEB_STATEMENT_TIMEOUT_MS", 2000, minimum=0)
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = f"{_options.get('options', '')} -c statement_timeout={_timeout}".strip()
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # Seconds a write waits for another writer's lock (SQLite's busy timeout)
        # before "database is locked": concurrent signups queue instead of failing.
        timeout=20,
        # BEGIN IMMEDIATE takes the write lock when a transaction starts, so a
        # read-then-write transaction (get_or_create) waits its turn instead of
        # failing on upgrade, which the busy timeout cannot help (issue 11).
        transaction_mode="IMMEDIATE",
        # WAL: readers never wait for the writer, nor the writer for readers.
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    )
    # SQLite creates the file but not its folder: a fresh clone has no var/ yet, and
    # any command (migrate, bench_import) would fail with "unable to open database file".
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate limits live here) -------------------------------------------
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery --------------------------------------------------------------------
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", None, schemes=("redis", "rediss", "amqp", "pyamqp", "memory"))
# No broker means the embedded mode: tasks run in-process, right away.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_url("CELERY_RESULT_BACKEND", None, schemes=("redis", "rediss", "django-db", "rpc"))
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
# Above the longest task's time limit, so Redis does not hand a running task to
# a second worker while the first is still on it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
# Keep the LOGGING format below in workers too, instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- email -----------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or "Trending Papers <digest@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MAIL_DIR = VAR_DIR / "mail"
EMAIL_URL = os.environ.get("EMAIL_URL", "").strip() or None
# Basic-auth credentials ("user:password"; several comma-separated while rotating)
# that the ESP's tracking webhooks must send to /anymail/<esp>/tracking/.
_WEBHOOK_SECRETS = [s.strip() for s in os.environ.get("ANYMAIL_WEBHOOK_SECRET", "").split(",") if s.strip()]
for _secret in _WEBHOOK_SECRETS:
    if ":" not in _secret:
        raise ImproperlyConfigured("ANYMAIL_WEBHOOK_SECRET must be user:password (comma-separate several)")
ANYMAIL = {"WEBHOOK_SECRET": _WEBHOOK_SECRETS} if _WEBHOOK_SECRETS else {}
if EMAIL_URL is None:
    # Embedded default: one .eml (and .html) file per message under var/mail/.
    EMAIL_BACKEND = "digest_site.mailfiles.EmlFileBackend"
    EMAIL_FILE_PATH = str(MAIL_DIR)
else:
    # smtp://, smtp+tls://, smtps:// or anymail://ESP?key=value (docs/operations.md).
    from digest_site.email_url import EmailURLError, email_url_settings

    try:
        _email_settings = email_url_settings(EMAIL_URL)
    except EmailURLError as exc:
        # Not echoing the URL: it usually holds a password or an API token.
        raise ImproperlyConfigured(f"EMAIL_URL is not a mail URL: {exc}") from exc
    ANYMAIL.update(_email_settings.pop("ANYMAIL", {}))
    vars().update(_email_settings)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)

# --- i18n / time --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# --- security (production is DEBUG=False behind HTTPS) ---------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and SITE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SITE_URL.startswith("https://")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG or not SITE_URL.startswith("https://") else 31536000,
                              minimum=0)
# Both reach beyond this site (every subdomain; browsers' built-in preload list,
# which takes months to leave): only when asked for, never implied by https.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# `check --deploy` recommends both (W005, W021); leaving them off is a decision, not an oversight.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
SECURE_REFERRER_POLICY = "same-origin"
# Container and load-balancer probes speak plain HTTP to the app itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"
# django-csp. Scripts and style sheets only from our own origin (or an inline
# block carrying the request's nonce); style="" attributes are allowed
# (style-src-attr): the admin and the inline-styled email previews use them, and
# they cannot run code. No plugins, no framing, forms post only to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- rate limits (django-ratelimit uses the default cache) ------------------------------
RATELIMIT_VIEW = "subscriptions.views.rate_limited"

# --- paper sources (papers/sources.py; fetched by the periodic tasks in papers/tasks.py) --------
HF_DAILY_PAPERS_URL = env_url("HF_DAILY_PAPERS_URL", "https://huggingface.co/api/daily_papers",
                              schemes=("http", "https"))
ARXIV_API_URL = env_url("ARXIV_API_URL", "https://export.arxiv.org/api/query", schemes=("http", "https"))
# A raw arXiv search_query wins over the category list when set.
ARXIV_QUERY = os.environ.get("ARXIV_QUERY", "").strip()
ARXIV_CATEGORIES = [c.strip() for c in os.environ.get("ARXIV_CATEGORIES", "cs.CL,cs.LG,cs.AI,cs.CV").split(",")
                    if c.strip()]
ARXIV_MAX_RESULTS = env_int("ARXIV_MAX_RESULTS", 100, minimum=1)
ARXIV_MIN_INTERVAL = 3.0  # seconds between two arXiv API requests, as arXiv asks
PAPER_SOURCES_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
PAPER_SOURCES_RETRIES = 3

# One key=value line per event (ts=... level=... logger=... then the message,
# itself written as key=value by our code), for grep and log shippers alike.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
