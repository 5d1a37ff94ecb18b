"""The dashboard: a user's gallery, the new-video form, each video's page, and its files.

Every read goes through `Video.objects.for_user`, so another user's video id gets the same 404
page as an id that never existed; every change goes through `videos.services`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.text import Truncator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from videos import services, storage
from videos.api.representation import our_expiry
from videos.delivery import serve_asset
from videos.forms import ExtendForm, RemixForm, VideoForm
from videos.limits import LimitExceeded, usage_for
from videos.models import ACTIVE_STATES, Video, VideoAsset, VideoState
from videos.selectors import own_video
from videos.templatetags.video_display import STATE_LABELS, badge, shown_progress
from videos.validation import MAX_PROMPT_CHARS, InvalidRequest, extend_source_for, remix_source_for

PAGE_SIZE = 12
STATUS_MAX_IDS = 100
FILE_KINDS = ("video", "thumbnail", "spritesheet")
# The gallery's filters: a key for the query string, a label, and the states it shows.
STATE_FILTERS = {
    "active": ("In progress", ACTIVE_STATES),
    "ready": ("Ready", (VideoState.READY,)),
    "failed": ("Failed or expired", (VideoState.FAILED, VideoState.EXPIRED)),
}


def shown_video(request: HttpRequest, video_id: str) -> Video:
    """The user's video for a page, or the 404 page an id that never existed gets (VideoNotFound)."""
    return own_video(
        request.user, video_id, related=("provider", "remix_source", "extend_source"), prefetch=("assets",)
    )


def short(video: Video) -> str:
    return Truncator(video.prompt).chars(60)


@never_cache
@login_required
@require_GET
def video_list(request: HttpRequest) -> HttpResponse:
    mine = Video.objects.for_user(request.user)
    per_state = dict(mine.order_by().values_list("state").annotate(n=Count("id")))
    state = request.GET.get("state", "")
    shown = mine
    if state in STATE_FILTERS:
        shown = mine.filter(state__in=STATE_FILTERS[state][1])
    else:
        state = ""
    filters = [{"key": "", "label": "All", "count": sum(per_state.values()), "current": not state}]
    for key, (label, states) in STATE_FILTERS.items():
        count = sum(per_state.get(s, 0) for s in states)
        filters.append({"key": key, "label": label, "count": count, "current": key == state})
    page = Paginator(shown.prefetch_related("assets"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "videos": page.object_list,
        "filters": filters,
        "state": state,
        "state_label": STATE_FILTERS[state][0] if state else "",
    }
    return render(request, "videos/list.html", context)


def _submit(request: HttpRequest, form, *, queued: str) -> tuple[HttpResponse | None, int]:
    """Submit a valid form's request: a redirect to the new video, or the status to show the form with."""
    if not (form.is_valid() and form.create_input):
        return None, 400
    try:
        video = services.video_request_submit(user=request.user, data=form.create_input)
    except LimitExceeded as exc:
        form.add_error(None, exc.message)
        return None, 429
    messages.success(request, queued)
    return redirect("videos:detail", video.pk), 200


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def video_new(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = VideoForm(request.POST, request.FILES)
        done, status = _submit(request, form, queued="Your video is queued. This page follows its progress.")
        if done:
            return done
        messages.error(request, "The video was not created: see the messages in the form.")
    else:
        source = Video.objects.for_user(request.user).with_id(request.GET.get("from", "")).first()
        form = VideoForm(initial=VideoForm.initial_from(source) if source else {})
    context = {
        "form": form,
        "usage": usage_for(request.user),
        "options": form.options,
        "max_prompt_chars": MAX_PROMPT_CHARS,
        "max_image_bytes": settings.MAX_INPUT_IMAGE_BYTES,
    }
    return render(request, "videos/new.html", context, status=status)


def timeline(video: Video) -> list[dict]:
    """The steps the video went through, with their times; the current one last."""
    steps: list[tuple[str, datetime | None]] = [
        ("Requested", video.created_at),
        ("Sent to the provider", video.submitted_at),
        ("Generated by the provider", video.provider_completed_at),
        ("Stored on this platform", video.archived_at),
    ]
    if video.state in (VideoState.FAILED, VideoState.EXPIRED):
        steps.append(("Failed" if video.state == VideoState.FAILED else "Expired", video.finished_at))
    return [{"label": label, "at": at} for label, at in steps if at]


def extend_refusal(request: HttpRequest, video: Video) -> str | None:
    """Why this ready video cannot be extended (None: it can); shown beside the extend form."""
    try:
        extend_source_for(request.user, video.pk)
    except InvalidRequest as exc:
        return exc.message
    return None


def render_detail(
    request: HttpRequest,
    video: Video,
    remix_form: RemixForm | None = None,
    status: int = 200,
    extend_form: ExtendForm | None = None,
):
    caps = video.provider.capabilities(video.model)
    can_remix = video.state == VideoState.READY and video.provider.enabled and caps.remix
    margin = video.archive_margin
    if can_remix and remix_form is None:
        remix_form = RemixForm(source=video)
    # Offered for the models that can extend; why not, when this video cannot be.
    extendable = video.state == VideoState.READY and video.provider.enabled and caps.extend
    extend_blocked = extend_refusal(request, video) if extendable else None
    if extendable and extend_form is None and extend_blocked is None:
        extend_form = ExtendForm(source=video)
    context = {
        "video": video,
        "timeline": timeline(video),
        "active": video.state in ACTIVE_STATES,
        "margin": margin,
        "margin_seconds": margin.total_seconds() if margin is not None else None,
        "kept_until": our_expiry(video),
        "can_remix": can_remix,
        "remix_form": remix_form if can_remix else None,
        "remixes": Video.objects.for_user(request.user).filter(remix_source=video)[:10],
        "extendable": extendable,
        "extend_blocked": extend_blocked,
        "extend_form": extend_form if extendable and extend_blocked is None else None,
        "extensions": Video.objects.for_user(request.user).filter(extend_source=video)[:10],
    }
    return render(request, "videos/detail.html", context, status=status)


@never_cache
@login_required
@require_GET
def video_detail(request: HttpRequest, video_id: str) -> HttpResponse:
    return render_detail(request, shown_video(request, video_id))


@never_cache
@login_required
@require_POST
def video_remix(request: HttpRequest, video_id: str) -> HttpResponse:
    source = shown_video(request, video_id)
    try:
        remix_source_for(request.user, source.pk)
    except InvalidRequest as exc:
        messages.error(request, exc.message)
        return redirect("videos:detail", source.pk)
    form = RemixForm(request.POST, source=source)
    done, status = _submit(request, form, queued="Your remix is queued. This page follows its progress.")
    if done:
        return done
    messages.error(request, "The remix was not created: see the message in the remix form.")
    return render_detail(request, source, form, status=status)


@never_cache
@login_required
@require_POST
def video_extend(request: HttpRequest, video_id: str) -> HttpResponse:
    source = shown_video(request, video_id)
    refusal = extend_refusal(request, source)
    if refusal is not None:
        messages.error(request, refusal)
        return redirect("videos:detail", source.pk)
    form = ExtendForm(request.POST, source=source)
    done, status = _submit(request, form, queued="Your extension is queued. This page follows its progress.")
    if done:
        return done
    messages.error(request, "The extension was not created: see the message in the extend form.")
    return render_detail(request, source, status=status, extend_form=form)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def video_delete(request: HttpRequest, video_id: str) -> HttpResponse:
    video = shown_video(request, video_id)
    if request.method == "POST":
        services.video_delete(video=video)
        messages.success(request, f"The video “{short(video)}” was deleted.")
        return redirect("videos:list")
    return render(request, "videos/delete.html", {"video": video})


def status_entry(request: HttpRequest, video: Video, *, with_card: bool) -> dict:
    entry = {
        "state": video.state,
        "label": STATE_LABELS[video.state],
        "badge": badge(video),
        "progress": shown_progress(video),
        "active": video.state in ACTIVE_STATES,
    }
    if with_card:
        entry["card"] = render_to_string("videos/_card.html", {"video": video}, request)
    return entry


@never_cache
@require_GET
def video_status(request: HttpRequest) -> JsonResponse:
    """The live part of the pages: state and progress of the caller's videos named in `ids`."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "You are logged out; log in again to follow your videos."}, status=401)
    ids = [i for i in request.GET.get("ids", "").split(",") if i][:STATUS_MAX_IDS]
    videos = Video.objects.for_user(request.user).with_ids(ids).prefetch_related("assets")
    with_card = request.GET.get("cards") == "1"
    return JsonResponse({"videos": {v.pk: status_entry(request, v, with_card=with_card) for v in videos}})


def start_frame(video: Video) -> VideoAsset | None:
    """The uploaded image, described like a stored file so it is served the same way."""
    size = storage.object_size(video.input_image_key) if video.input_image_key else None
    if size is None:
        return None
    return VideoAsset(
        video=video,
        kind="start-frame",
        storage_key=video.input_image_key,
        content_type=video.input_image_type,
        size_bytes=size,
        sha256=hashlib.sha256(video.input_image_key.encode()).hexdigest(),  # stable per file: an ETag
    )


@never_cache
@login_required
@require_http_methods(["GET", "HEAD"])
def video_file(request: HttpRequest, video_id: str, index: int, kind: str) -> HttpResponse:
    """A stored file for the player, the gallery or a download (?download=1), with byte ranges.

    The dashboard's own route rather than /v1/.../content, so that browsing a gallery of
    thumbnails does not use up the user's API rate limit.
    """
    video = shown_video(request, video_id)
    if kind == "start-frame" and index == 0:
        asset = start_frame(video)
    elif kind in FILE_KINDS and video.state == VideoState.READY:
        asset = next((a for a in video.assets.all() if a.kind == kind and a.variant == index), None)
    else:
        asset = None
    if asset is None:
        raise Http404
    response = cast(HttpResponse, serve_asset(request, video, asset))  # a stream or a redirect
    if request.GET.get("download") == "1" and response.has_header("Content-Disposition"):
        response["Content-Disposition"] = response["Content-Disposition"].replace("inline", "attachment", 1)
    return response
