"""WSGI entry point for gunicorn."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")
# The web role: settings give its database connections a statement time limit.
os.environ.setdefault("DIGEST_PROCESS", "web")

application = get_wsgi_application()
