from django.urls import path

from . import views, vote_views
from .feeds import DigestFeed

app_name = "subscriptions"
urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/check-your-inbox/", views.subscribe_done, name="subscribe_done"),
    path("subscribe/preview/", views.keyword_preview, name="keyword_preview"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("manage/<str:token>/pause/", views.manage_pause, name="manage_pause"),
    path("manage/<str:token>/resume/", views.manage_resume, name="manage_resume"),
    path("manage/<str:token>/unsubscribe/", views.manage_unsubscribe, name="manage_unsubscribe"),
    path("manage/<str:token>/my-data.json", views.manage_export, name="manage_export"),
    path("manage/<str:token>/delete/", views.manage_delete, name="manage_delete"),
    path("manage/<str:token>/sign-out-everywhere/", views.manage_sign_out, name="manage_sign_out"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/one-click/", views.one_click_unsubscribe, name="one_click_unsubscribe"),
    path("feed/<str:token>/", DigestFeed(), name="feed"),
    path("vote/<str:token>/<int:paper_id>/undo/", vote_views.vote_undo_view, name="vote_undo"),
    path("vote/<str:token>/<int:paper_id>/<str:direction>/", vote_views.vote, name="vote"),
    path("manage/<str:token>/votes/clear/", views.manage_votes_clear, name="manage_votes_clear"),
    path("manage/<str:token>/keywords/<int:keyword_id>/expansions/", views.manage_expansions,
         name="manage_expansions"),
    path("link/", views.send_link, name="send_link"),
    path("link/sent/", views.send_link_done, name="send_link_done"),
]
