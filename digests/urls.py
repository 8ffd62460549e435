from django.urls import path

from . import views

app_name = "digests"
urlpatterns = [
    path("digest/<str:token>/", views.digest_view, name="digest_view"),
]
