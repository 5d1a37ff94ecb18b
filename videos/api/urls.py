from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from videos.api import views
from webhooks import api as webhooks

urlpatterns = [
    path("videos", views.VideoCollection.as_view(), name="api-videos"),
    path("videos/extensions", views.VideoExtensions.as_view(), name="api-video-extensions"),
    path("videos/query", views.VideoQueryPost.as_view(), name="api-video-query-post"),
    path("videos/query/<str:video_id>", views.VideoQuery.as_view(), name="api-video-query"),
    path("videos/<str:video_id>", views.VideoDetail.as_view(), name="api-video"),
    path("videos/<str:video_id>/remix", views.VideoRemix.as_view(), name="api-video-remix"),
    path("videos/<str:video_id>/content", views.VideoContent.as_view(), name="api-video-content"),
    path("files/<str:token>", views.signed_download, name="api-signed-download"),
    path("models", views.ModelList.as_view(), name="api-models"),
    path("webhook_endpoints", webhooks.EndpointCollection.as_view(), name="api-webhook-endpoints"),
    path("webhook_endpoints/<str:endpoint_id>", webhooks.EndpointDetail.as_view(), name="api-webhook-endpoint"),
    path(
        "webhook_endpoints/<str:endpoint_id>/rotate_secret",
        webhooks.EndpointRotateSecret.as_view(),
        name="api-webhook-endpoint-rotate",
    ),
    path("webhook_endpoints/<str:endpoint_id>/test", webhooks.EndpointTest.as_view(), name="api-webhook-endpoint-test"),
    path("webhook_event_types", webhooks.EventTypeList.as_view(), name="api-webhook-event-types"),
    path("schema", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="api-schema"),
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="api-schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
    path(
        "redoc",
        SpectacularRedocView.as_view(url_name="api-schema", authentication_classes=[], permission_classes=[]),
        name="api-redoc",
    ),
    # Anything else under /v1 answers in the error envelope, never with an HTML page.
    re_path(r"^.*$", views.not_found_route, name="api-not-found"),
]
