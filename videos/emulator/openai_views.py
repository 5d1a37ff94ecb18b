"""The OpenAI Videos protocol: /videos, /videos/{id}, /videos/{id}/remix, /videos/{id}/content."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from videos.emulator import content, faults, jobs, media, openai_input, paging
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError, bad_request, invalid_choice
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job
from videos.emulator.render import openai_video

PROTOCOL = "openai"
VARIANTS = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}


def _job(video_id: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=video_id).first()
    if job is None:
        raise ApiError(404, f"Video with id '{video_id}' not found.", azure_code="NotFound")
    return job


def _unknown_word(operation: str) -> str | None:
    """The `status_word` fault: a status word outside the documented four."""
    chosen = faults.take(PROTOCOL, operation, ["status_word"])
    return (chosen["status_word"].status_word or "unknown") if chosen else None


def _video_response(job: Job, operation: str) -> JsonResponse:
    # A new job is described as it was when created: queued.
    body = openai_video(job, job.created_at if operation in {"create", "remix"} else timezone.now())
    if word := _unknown_word(operation):
        body["status"] = word
    return JsonResponse(body)


def create(request: HttpRequest) -> HttpResponse:
    given = openai_input.parse_create(request)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=given.model,
        prompt=given.prompt,
        width=given.width,
        height=given.height,
        seconds=given.seconds,
        inputs={"input_reference": given.reference} if given.reference else None,
    )
    return _video_response(job, "create")


def list_videos(request: HttpRequest) -> HttpResponse:
    limit = paging.parse_limit(request.GET.get("limit"), default=20, minimum=0, maximum=100)
    order = request.GET.get("order", "desc")
    if order not in {"asc", "desc"}:
        raise invalid_choice("order", order, ["asc", "desc"])
    descending = order == "desc"
    rows = Job.objects.filter(protocol=PROTOCOL)
    if after := request.GET.get("after"):
        rows = rows.filter(paging.beyond(paging.position(PROTOCOL, after, "after"), descending=descending))
    page = list(rows.order_by(*paging.ordering(descending=descending))[: limit + 1])
    has_more, page = len(page) > limit, page[:limit]
    now = timezone.now()
    data = [openai_video(job, now) for job in page]
    if word := _unknown_word("list"):
        for item in data:
            item["status"] = word
    return JsonResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )


def retrieve(request: HttpRequest, video_id: str) -> HttpResponse:
    job = _job(video_id)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)
    return _video_response(job, "retrieve")


def delete(request: HttpRequest, video_id: str) -> HttpResponse:
    job = _job(video_id)
    job.delete()
    return JsonResponse({"id": video_id, "object": "video.deleted", "deleted": True})


def remix(request: HttpRequest, video_id: str) -> HttpResponse:
    source = _job(video_id)
    prompt = openai_input.parse_remix(request)
    state = snapshot(source, timezone.now())
    if state.phase != "succeeded" or state.expired:
        raise bad_request(
            f"Video '{video_id}' cannot be remixed: only completed videos whose assets have not expired can be.",
            param="video_id",
        )
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=source.model,
        prompt=prompt,
        width=source.width,
        height=source.height,
        seconds=source.seconds,
        remixed_from=source.public_id,
    )
    return _video_response(job, "remix")


def _expired_message(job: Job) -> str:
    retention = job.retention_seconds
    period = f"{retention // 3600} hours" if retention and retention % 3600 == 0 else f"{retention} seconds"
    return f"The video is no longer available. Downloads expire after {period}."


def download(request: HttpRequest, video_id: str) -> HttpResponseBase:
    variant = request.GET.get("variant", "video")
    if variant not in VARIANTS:
        raise invalid_choice("variant", variant, list(VARIANTS))
    job = _job(video_id)
    if faults.take(PROTOCOL, "content", ["expired"]):
        jobs.mark_expired(job)
    state = snapshot(job, timezone.now())
    if not state.done:
        raise ApiError(404, f"Video is not ready yet, use GET /v1/videos/{video_id} to check status.")
    if state.phase == "failed":
        raise ApiError(404, f"Video '{video_id}' failed to generate, so it has no content to download.")
    if state.expired:
        raise ApiError(404, _expired_message(job))
    if variant == "video":
        body: media.VideoBody | bytes = media.video_body(job.width, job.height, job.video_bytes)
    elif variant == "thumbnail":
        body = media.thumbnail(job.width, job.height, "WEBP")
    else:
        body = media.spritesheet(job.width, job.height)
    size = body.size if isinstance(body, media.VideoBody) else len(body)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type=VARIANTS[variant],
        etag=f'"{job.public_id}-{variant}-{size}"',
        modified=job.finished_at,
    )


videos = endpoint(PROTOCOL, {"POST": ("create", create), "GET": ("list", list_videos)})
video = endpoint(PROTOCOL, {"GET": ("retrieve", retrieve), "DELETE": ("delete", delete)})
video_remix = endpoint(PROTOCOL, {"POST": ("remix", remix)})
video_content = endpoint(PROTOCOL, {"GET": ("content", download), "HEAD": ("content", download)})
