from __future__ import annotations

from django.urls import path, re_path

from videos.api import views

urlpatterns = [
    path("models", views.ModelList.as_view(), name="api-models"),
]

# Anything else under /v1 answers in the error envelope, never with an HTML page.
urlpatterns.append(re_path(r"^.*$", views.not_found, name="api-not-found"))
