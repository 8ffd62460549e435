"""URL wiring only: each app owns its routes."""
from django.contrib import admin
from django.http import HttpRequest
from django.urls import include, path
from django_ratelimit.decorators import ratelimit

from digest_site.health import healthz

# Editors live in the admin: it carries the product's name, and the list pages get
# the full width (the app sidebar would take a quarter of a 1280 px screen).
admin.site.site_header = "Trending Papers admin"
admin.site.site_title = "Trending Papers admin"
admin.site.index_title = "Curation, subscribers and digests"
admin.site.enable_nav_sidebar = False

# Admin password guesses: per client address, and per username from anywhere
# (a botnet guessing one account). Over the limit: the 429 page (RATELIMIT_VIEW).
ADMIN_LOGIN_RATE_PER_IP = "20/h"
ADMIN_LOGIN_RATE_PER_USERNAME = "10/h"


def _admin_username(group: str, request: HttpRequest) -> str:
    return str(request.POST.get("username", "")).strip().lower()[:150]


admin_login = ratelimit(key="ip", rate=ADMIN_LOGIN_RATE_PER_IP, method="POST", group="admin.login")(
    ratelimit(key=_admin_username, rate=ADMIN_LOGIN_RATE_PER_USERNAME, method="POST", group="admin.login.username")(
        admin.site.login
    )
)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The mail provider's tracking webhooks (bounces, complaints): /anymail/<esp>/tracking/
    path("anymail/", include("subscriptions.webhooks")),
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("", include("subscriptions.urls")),
    path("", include("digests.urls")),
    path("", include("papers.urls")),
]
