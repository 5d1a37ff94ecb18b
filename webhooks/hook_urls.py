from __future__ import annotations

from django.urls import path

from webhooks import inbound

app_name = "hooks"

urlpatterns = [
    path("<str:provider>", inbound.receive_project, name="project"),
    path("<str:provider>/<str:video_id>/<str:token>", inbound.receive, name="receive"),
]
