"""URL wiring only: each app owns its routes."""
from django.contrib import admin
from django.urls import include, path

from digest_site.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The mail provider's tracking webhooks (bounces, complaints): /anymail/<esp>/tracking/
    path("anymail/", include("subscriptions.webhooks")),
    path("admin/", admin.site.urls),
    path("", include("subscriptions.urls")),
    path("", include("papers.urls")),
]
