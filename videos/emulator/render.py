"""The providers' JSON objects for a job at a given moment."""

from __future__ import annotations

from datetime import datetime

from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

OPENAI_ERRORS = {
    "moderation": {"code": "moderation_blocked", "message": "Your request was blocked by our moderation system."},
    "internal": {"code": "internal_error", "message": "Video generation failed due to an internal error."},
}
AZURE_FAILURE_REASONS = {"moderation": "input_moderation", "internal": "internal_error"}


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def openai_status(job: Job, now: datetime) -> str:
    state = snapshot(job, now)
    if state.phase in {"queued", "preprocessing"}:
        return "queued"
    if state.phase == "generating":
        return job.status_word or "in_progress"
    return "completed" if state.phase == "succeeded" else "failed"


def openai_video(job: Job, now: datetime) -> dict:
    """All 13 keys, always present, in the order OpenAI sends them."""
    state = snapshot(job, now)
    return {
        "id": job.public_id,
        "object": "video",
        "model": job.model,
        "status": openai_status(job, now),
        "progress": state.progress,
        "created_at": _epoch(job.created_at),
        "completed_at": _epoch(state.finished_at),
        "expires_at": _epoch(state.expires_at),
        "prompt": job.prompt,
        "size": f"{job.width}x{job.height}",
        "seconds": str(job.seconds),
        "remixed_from_video_id": job.remixed_from or None,
        "error": OPENAI_ERRORS[job.outcome] if state.phase == "failed" else None,
    }


def azure_status(job: Job, now: datetime) -> str:
    state = snapshot(job, now)
    if state.phase in {"queued", "preprocessing"}:
        return state.phase
    if state.phase == "generating":
        return job.status_word or ("processing" if state.late else "running")
    return state.phase


def azure_generation(job: Job, generation_id: str) -> dict:
    return {
        "object": "video.generation",
        "id": generation_id,
        "job_id": job.public_id,
        "created_at": _epoch(job.finished_at),
        "width": job.width,
        "height": job.height,
        "n_seconds": job.seconds,
        "prompt": job.prompt,
    }


def azure_job(job: Job, now: datetime) -> dict:
    """Unset values are null, as the service sends them (the spec only omits them)."""
    state = snapshot(job, now)
    generations = [g.public_id for g in job.generations.all()] if state.phase == "succeeded" else []
    body = {
        "object": "video.generation.job",
        "id": job.public_id,
        "status": azure_status(job, now),
        "created_at": _epoch(job.created_at),
        "finished_at": _epoch(state.finished_at),
        "expires_at": _epoch(state.expires_at),
        "generations": [azure_generation(job, generation_id) for generation_id in generations],
        "prompt": job.prompt,
        "model": job.model,
        "n_variants": job.n_variants,
        "n_seconds": job.seconds,
        "height": job.height,
        "width": job.width,
        "failure_reason": AZURE_FAILURE_REASONS.get(job.outcome) if state.phase == "failed" else None,
    }
    if job.inputs.get("inpaint_items"):
        body["inpaint_items"] = job.inputs["inpaint_items"]
    return body
