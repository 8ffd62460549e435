# One image for every role: web (gunicorn, the default), Celery worker and beat,
# and the one-shot migrate job; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=digest_site.settings \
    VAR_DIR=/app/var \
    STATIC_MANIFEST=true

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
WORKDIR /app

# Dependencies first, from pyproject.toml's pinned list, so code changes reuse
# this layer. The project itself runs from /app (manage.py, templates/), so
# only its dependencies are installed into site-packages.
COPY pyproject.toml README.md ./
RUN pip install . && pip uninstall --yes trending-papers-digest && rm -rf build ./*.egg-info

COPY --chown=app:app . .

# Static files are collected at build time and served by whitenoise. The
# settings need no real secret or database for this.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R app:app /app/var /app/staticfiles

USER app
EXPOSE 8000

CMD ["gunicorn", "digest_site.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
