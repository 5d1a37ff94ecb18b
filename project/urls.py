from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from project import views

handler400 = "project.views.bad_request"
handler403 = "project.views.permission_denied"
handler404 = "project.views.page_not_found"
handler500 = "project.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("videos/", include("videos.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("hooks/", include("webhooks.hook_urls")),
    path("admin/", admin.site.urls),
    path("v1/", include("videos.api.urls")),
]

if settings.EMULATOR_ENABLED:
    urlpatterns.append(path("emulator/", include("videos.emulator.urls")))
