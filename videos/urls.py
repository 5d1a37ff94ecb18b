from __future__ import annotations

from django.urls import path

from videos import views

app_name = "videos"

urlpatterns = [
    path("", views.video_list, name="list"),
    path("new/", views.video_new, name="new"),
    path("status", views.video_status, name="status"),
    path("<str:video_id>/", views.video_detail, name="detail"),
    path("<str:video_id>/remix/", views.video_remix, name="remix"),
    path("<str:video_id>/extend/", views.video_extend, name="extend"),
    path("<str:video_id>/delete/", views.video_delete, name="delete"),
    path("<str:video_id>/files/<int:index>/<slug:kind>", views.video_file, name="file"),
]
