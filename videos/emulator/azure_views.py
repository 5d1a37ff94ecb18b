"""The Azure OpenAI Sora jobs protocol under /openai/v1/video/generations (api-version=preview).

Jobs (`task_...`) own generations (`gen_...`); content is fetched per generation at
`/video/generations/{gen_id}/content/video` (and `/content/thumbnail`). Azure deletes a job and
its results when `expires_at` passes, so from then on every path answers 404.
"""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from videos.emulator import azure_input, content, faults, jobs, media, paging
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError, bad_request, invalid_choice
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Generation, Job
from videos.emulator.render import azure_generation, azure_job, azure_status

PROTOCOL = "azure"
JOB_STATUSES = ["preprocessing", "queued", "running", "processing", "cancelled", "succeeded", "failed"]


def _gone(job: Job) -> bool:
    return snapshot(job, timezone.now()).expired


def _job(job_id: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=job_id).prefetch_related("generations").first()
    if job is None or _gone(job):
        raise ApiError(404, f"Video generation job {job_id} was not found.", azure_code="NotFound")
    return job


def _generation(generation_id: str) -> Generation:
    found = Generation.objects.filter(public_id=generation_id, job__protocol=PROTOCOL).select_related("job").first()
    # Generations exist from the start, but nobody can know their ids before the job succeeds.
    if found is None or snapshot(found.job, timezone.now()).phase != "succeeded" or _gone(found.job):
        raise ApiError(404, f"Video generation {generation_id} was not found.", azure_code="NotFound")
    return found


def _job_response(job: Job, operation: str) -> JsonResponse:
    # A new job is described as it was when created: queued.
    body = azure_job(job, job.created_at if operation == "create" else timezone.now())
    if chosen := faults.take(PROTOCOL, operation, ["status_word"]):
        body["status"] = chosen["status_word"].status_word or "unknown"
    return JsonResponse(body)


def create(request: HttpRequest) -> HttpResponse:
    given = azure_input.parse_create(request)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=given.model,
        prompt=given.prompt,
        width=given.width,
        height=given.height,
        seconds=given.n_seconds,
        n_variants=given.n_variants,
        inputs={"inpaint_items": given.inpaint_items} if given.inpaint_items else None,
    )
    return _job_response(job, "create")


def list_jobs(request: HttpRequest) -> HttpResponse:
    limit = paging.parse_limit(request.GET.get("limit"), default=10, minimum=1, maximum=100)
    statuses = {word for word in request.GET.get("statuses", "").split(",") if word}
    for word in sorted(statuses):
        if word not in JOB_STATUSES:
            raise invalid_choice("statuses", word, JOB_STATUSES)
    after, before = request.GET.get("after"), request.GET.get("before")
    if after and before:
        raise bad_request("Use either 'after' or 'before', not both.", param="before")
    # Newest first; `before` pages towards newer jobs, so it walks the other way and flips back.
    descending = not before
    rows = Job.objects.filter(protocol=PROTOCOL)
    if after or before:
        cursor = after or before or ""
        where = paging.position(PROTOCOL, cursor, "after" if after else "before")
        rows = rows.filter(paging.beyond(where, descending=descending))
    now = timezone.now()
    page: list[Job] = []
    # Status is computed, not stored, so filtering happens here; the scan stops at limit + 1.
    for job in rows.order_by(*paging.ordering(descending=descending)).iterator(chunk_size=200):
        if snapshot(job, now).expired or (statuses and azure_status(job, now) not in statuses):
            continue
        page.append(job)
        if len(page) > limit:
            break
    has_more, page = len(page) > limit, page[:limit]
    if before:
        page.reverse()
    prefetch_related_objects(page, "generations")
    data = [azure_job(job, now) for job in page]
    if chosen := faults.take(PROTOCOL, "list", ["status_word"]):
        for item in data:
            item["status"] = chosen["status_word"].status_word or "unknown"
    body = {"object": "list", "data": data, "has_more": has_more}
    body["first_id"] = data[0]["id"] if data else None
    body["last_id"] = data[-1]["id"] if data else None
    return JsonResponse(body)


def retrieve(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job(job_id)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)
        if _gone(job):
            raise ApiError(404, f"Video generation job {job_id} was not found.", azure_code="NotFound")
    return _job_response(job, "retrieve")


def delete(request: HttpRequest, job_id: str) -> HttpResponse:
    _job(job_id).delete()
    return HttpResponse(status=204)


def generation(request: HttpRequest, generation_id: str) -> HttpResponse:
    found = _generation(generation_id)
    return JsonResponse(azure_generation(found.job, found.public_id))


def _content(request: HttpRequest, generation_id: str, variant: str) -> HttpResponseBase:
    quality = request.GET.get("quality", "high")
    if variant == "video" and quality not in {"high", "low"}:
        raise invalid_choice("quality", quality, ["high", "low"])
    found = _generation(generation_id)
    job = found.job
    if faults.take(PROTOCOL, "content", ["expired"]):
        jobs.mark_expired(job)
        if _gone(job):
            raise ApiError(404, f"Video generation {generation_id} was not found.", azure_code="NotFound")
    if variant == "video":
        body: media.VideoBody | bytes = media.video_body(job.width, job.height, job.video_bytes)
        content_type = "video/mp4"
    else:
        body = media.thumbnail(job.width, job.height, "JPEG")
        content_type = "image/jpg"  # what the spec declares, not the registered image/jpeg
    size = body.size if isinstance(body, media.VideoBody) else len(body)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type=content_type,
        etag=f'"{generation_id}-{variant}-{size}"',
        modified=job.finished_at,
    )


def video_content(request: HttpRequest, generation_id: str) -> HttpResponseBase:
    return _content(request, generation_id, "video")


def thumbnail_content(request: HttpRequest, generation_id: str) -> HttpResponseBase:
    return _content(request, generation_id, "thumbnail")


jobs_collection = endpoint(PROTOCOL, {"POST": ("create", create), "GET": ("list", list_jobs)})
job_detail = endpoint(PROTOCOL, {"GET": ("retrieve", retrieve), "DELETE": ("delete", delete)})
generation_detail = endpoint(PROTOCOL, {"GET": ("generation", generation)})
generation_video = endpoint(PROTOCOL, {"GET": ("content", video_content), "HEAD": ("content", video_content)})
generation_thumbnail = endpoint(
    PROTOCOL, {"GET": ("content", thumbnail_content), "HEAD": ("content", thumbnail_content)}
)
