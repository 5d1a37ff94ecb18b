"""A URL configuration for testing the error pages: the platform's routes plus one that fails."""

from __future__ import annotations

from django.urls import path

from project.urls import urlpatterns as platform_patterns


def explode(request):
    raise RuntimeError("boom: secret internals")


urlpatterns = [path("v1/explode", explode), path("explode", explode), *platform_patterns]
handler404 = "project.views.page_not_found"
handler500 = "project.views.server_error"
