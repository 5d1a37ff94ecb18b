"""Mounted under /emulator/ when EMULATOR_ENABLED.

/emulator/openai/v1/videos...                          OpenAI Videos protocol (base URL .../openai/v1)
/emulator/azure/openai/v1/video/generations/...        Azure Sora jobs (endpoint .../azure)
/emulator/gemini/v1beta/models/...                      Gemini API, Veo (base URL .../gemini; /v1 too)
/emulator/vertex/v1/[projects/P/locations/L/]publishers/google/models/...  Vertex AI, Veo (+ /vertex/token)
/emulator/replicate/v1/...                              Replicate predictions (SDK base URL .../replicate)
/emulator/kling/v1/videos/...                           Kling's own API (base URL .../kling)
/emulator/minimax/v1/...                                MiniMax Hailuo (base URL .../minimax)
/emulator/luma/dream-machine/v1/generations...          Luma Dream Machine (base URL .../luma/dream-machine/v1)
/emulator/openrouter/api/v1/videos...                   OpenRouter videos (base URL .../openrouter/api/v1)
/emulator/runway/v1/...                                 Runway (SDK base URL .../runway)
/emulator/ark/api/v3/contents/generations/tasks...     Ark, Seedance (base URL .../ark/api/v3)
/emulator/fal/{endpoint id}, /emulator/fal/{owner}/{app}/requests/...  fal queue (base URL .../fal)
/emulator/_control/...                                  fault switches and counters (control.py)
"""

from __future__ import annotations

from django.urls import path, re_path

from videos.emulator import (
    ark_views,
    azure_views,
    control,
    fal_views,
    gemini_views,
    kling_views,
    luma_views,
    minimax_views,
    oauth,
    openai_views,
    openrouter_views,
    replicate_views,
    runway_views,
    vertex_views,
)
from videos.emulator.endpoint import catch_all

app_name = "emulator"

_AZURE = "azure/openai/v1/video/generations"

urlpatterns = [
    path("openai/v1/videos", openai_views.videos, name="openai-videos"),
    path("openai/v1/videos/<str:video_id>", openai_views.video, name="openai-video"),
    path("openai/v1/videos/<str:video_id>/remix", openai_views.video_remix, name="openai-remix"),
    path("openai/v1/videos/<str:video_id>/content", openai_views.video_content, name="openai-content"),
    re_path(r"^openai/", catch_all("openai")),
    path(f"{_AZURE}/jobs", azure_views.jobs_collection, name="azure-jobs"),
    path(f"{_AZURE}/jobs/<str:job_id>", azure_views.job_detail, name="azure-job"),
    path(f"{_AZURE}/<str:generation_id>", azure_views.generation_detail, name="azure-generation"),
    path(f"{_AZURE}/<str:generation_id>/content/video", azure_views.generation_video, name="azure-video"),
    path(f"{_AZURE}/<str:generation_id>/content/thumbnail", azure_views.generation_thumbnail, name="azure-thumbnail"),
    re_path(r"^azure/", catch_all("azure")),
    re_path(
        r"^gemini/(?P<version>v1beta|v1)/models/(?P<model>[A-Za-z0-9._-]+):predictLongRunning$",
        gemini_views.predict,
        name="gemini-predict",
    ),
    re_path(
        r"^gemini/(?P<version>v1beta|v1)/models/(?P<model>[A-Za-z0-9._-]+)/operations/(?P<operation_id>[a-z0-9]+)$",
        gemini_views.operation_view,
        name="gemini-operation",
    ),
    re_path(
        r"^gemini/(?P<version>v1beta|v1)/files/(?P<file_id>[a-z0-9]+):download$",
        gemini_views.download_view,
        name="gemini-download",
    ),
    re_path(r"^gemini/(?P<version>v1beta|v1)/webhooks$", gemini_views.webhooks_view, name="gemini-webhooks"),
    re_path(
        r"^gemini/(?P<version>v1beta|v1)/webhooks/(?P<webhook_id>[a-z0-9]+)$",
        gemini_views.webhook_view,
        name="gemini-webhook",
    ),
    path("gemini/_media/<str:file_id>", gemini_views.media_file, name="gemini-media"),
    re_path(r"^gemini/", catch_all("gemini")),
    re_path(
        r"^vertex/(?P<version>v1|v1beta1)/(?P<scope>(?:projects/[A-Za-z0-9._-]+/locations/[A-Za-z0-9-]+/)?)"
        r"publishers/google/models/(?P<model>[A-Za-z0-9._-]+):predictLongRunning$",
        vertex_views.predict_view,
        name="vertex-predict",
    ),
    re_path(
        r"^vertex/(?P<version>v1|v1beta1)/(?P<scope>(?:projects/[A-Za-z0-9._-]+/locations/[A-Za-z0-9-]+/)?)"
        r"publishers/google/models/(?P<model>[A-Za-z0-9._-]+):fetchPredictOperation$",
        vertex_views.fetch_view,
        name="vertex-fetch",
    ),
    path("vertex/token", oauth.token, name="vertex-token"),
    path("vertex/storage/v1/b/<str:bucket>/o/<path:obj>", vertex_views.storage_object, name="vertex-storage"),
    re_path(r"^vertex/", catch_all("vertex")),
    path(
        "replicate/v1/models/<str:owner>/<str:name>/predictions",
        replicate_views.predictions_create,
        name="replicate-create",
    ),
    path("replicate/v1/predictions", replicate_views.predictions, name="replicate-predictions"),
    path("replicate/v1/webhooks/default/secret", replicate_views.webhook_secret_view, name="replicate-webhook-secret"),
    path("replicate/v1/predictions/<str:prediction>", replicate_views.prediction, name="replicate-prediction"),
    path(
        "replicate/v1/predictions/<str:prediction>/cancel", replicate_views.prediction_cancel, name="replicate-cancel"
    ),
    path("replicate/_delivery/<str:prediction>/output.mp4", replicate_views.delivery_view, name="replicate-delivery"),
    re_path(r"^replicate/", catch_all("replicate")),
    path("kling/v1/videos/<str:family>", kling_views.tasks_view, name="kling-tasks"),
    path("kling/v1/videos/<str:family>/<str:task_id>", kling_views.task_view, name="kling-task"),
    path("kling/_cdn/<str:task_id>/video.mp4", kling_views.cdn, name="kling-cdn"),
    re_path(r"^kling/", catch_all("kling")),
    path("minimax/v1/video_generation", minimax_views.create_view, name="minimax-create"),
    path("minimax/v1/query/video_generation", minimax_views.query_view, name="minimax-query"),
    path("minimax/v1/files/retrieve", minimax_views.file_view, name="minimax-file"),
    path("minimax/_cdn/<str:file_id>/output_aigc.mp4", minimax_views.cdn, name="minimax-cdn"),
    re_path(r"^minimax/", catch_all("minimax")),
    path("luma/dream-machine/v1/generations/video", luma_views.create_view, name="luma-create"),
    path("luma/dream-machine/v1/generations", luma_views.generations_view, name="luma-generations"),
    path("luma/dream-machine/v1/generations/<str:generation_id>", luma_views.generation_view, name="luma-generation"),
    path("luma/_cdn/<str:generation_id>/video.mp4", luma_views.cdn_video, name="luma-cdn-video"),
    path("luma/_cdn/<str:generation_id>/thumb.jpg", luma_views.cdn_image, name="luma-cdn-image"),
    re_path(r"^luma/", catch_all("luma")),
    path("openrouter/api/v1/videos", openrouter_views.videos_view, name="openrouter-videos"),
    path("openrouter/api/v1/videos/<str:job_id>", openrouter_views.video_view, name="openrouter-video"),
    path("openrouter/api/v1/videos/<str:job_id>/content", openrouter_views.content_view, name="openrouter-content"),
    re_path(r"^openrouter/", catch_all("openrouter")),
    path("runway/v1/text_to_video", runway_views.text_view, name="runway-text"),
    path("runway/v1/image_to_video", runway_views.image_view, name="runway-image"),
    path("runway/v1/tasks/<str:task_id>", runway_views.task_view, name="runway-task"),
    path("runway/_cdn/<str:task_id>/video.mp4", runway_views.cdn, name="runway-cdn"),
    re_path(r"^runway/", catch_all("runway")),
    path("ark/api/v3/contents/generations/tasks", ark_views.tasks, name="ark-tasks"),
    path("ark/api/v3/contents/generations/tasks/<str:task>", ark_views.task, name="ark-task"),
    path("ark/_cdn/<str:task_id>/video.mp4", ark_views.cdn, name="ark-cdn"),
    re_path(r"^ark/", catch_all("ark")),
    path("fal/_cdn/files/<str:request_id>/output.mp4", fal_views.cdn, name="fal-cdn"),
    path("fal/.well-known/jwks.json", fal_views.jwks, name="fal-jwks"),
    path("fal/<str:owner>/<str:app>/requests/<str:request_id>/status", fal_views.status_view, name="fal-status"),
    path("fal/<str:owner>/<str:app>/requests/<str:request_id>/cancel", fal_views.cancel_view, name="fal-cancel"),
    path("fal/<str:owner>/<str:app>/requests/<str:request_id>", fal_views.result_view, name="fal-result"),
    re_path(r"^fal/(?P<endpoint_id>[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+)$", fal_views.submit_view, name="fal-submit"),
    re_path(r"^fal/", catch_all("fal")),
    path("_control/faults", control.faults, name="control-faults"),
    path("_control/faults/<int:fault_id>", control.faults, name="control-fault"),
    path("_control/counters", control.counters, name="control-counters"),
    path("_control/reset", control.reset_view, name="control-reset"),
]
