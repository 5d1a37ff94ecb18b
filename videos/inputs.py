"""Typed inputs of the services: what the API and the dashboard hand over once every rule has passed.

A leaf module (nothing from videos is imported when it runs), so services, validation and
the interfaces can all name these types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from videos.models import Provider, Video
    from videos.routing import Route


@dataclass(frozen=True)
class InputImage:
    """A start frame, checked by content (videos.validation)."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class VideoCreateInput:
    """A new video as the user asked for it, checked by videos.validation (see video_request_submit)."""

    provider: Provider
    model: str
    prompt: str
    size: str
    seconds: int
    n_variants: int
    input_image: InputImage | None = None
    remix_source: Video | None = None
    # An extension: the finished video it continues (`seconds` is then how many seconds it adds).
    extend_source: Video | None = None
    last_frame: InputImage | None = None
    reference_images: tuple[InputImage, ...] = ()
    negative_prompt: str | None = None
    seed: int | None = None
    audio: bool | None = None
    # How the frames were fitted to the size (already applied to them); kept for the record.
    input_fit: str | None = None
    # The model id the user named, and every provider that accepts the whole request, preferred
    # first (videos.routing); without them the video goes to `provider` alone.
    requested_model: str = ""
    routes: tuple[Route, ...] = ()

    @classmethod
    def remix_of(cls, source: Video, prompt: str) -> VideoCreateInput:
        """A remix: the source's provider, model, size and duration, with a new prompt."""
        return cls._from_source(source, prompt, source.seconds, remix=True)

    @classmethod
    def extension_of(cls, source: Video, prompt: str, seconds: int) -> VideoCreateInput:
        """An extension: `seconds` more of the source, at its provider, model and size."""
        return cls._from_source(source, prompt, seconds, remix=False)

    @classmethod
    def _from_source(cls, source: Video, prompt: str, seconds: int, *, remix: bool) -> VideoCreateInput:
        return cls(
            provider=source.provider,
            model=source.model,
            requested_model=source.requested_model,
            prompt=prompt,
            size=source.size,
            seconds=seconds,
            n_variants=1,
            remix_source=source if remix else None,
            extend_source=None if remix else source,
        )

    def options(self) -> dict[str, object]:
        """The extensions asked for, as stored on the video (`Video.options`)."""
        chosen = {
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "audio": self.audio,
            "input_fit": self.input_fit,
        }
        return {name: value for name, value in chosen.items() if value is not None}
