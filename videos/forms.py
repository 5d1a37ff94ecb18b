"""Dashboard forms. Every rule lives in videos.validation; these forms only call it and put
each message next to the field it concerns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from videos import routing
from videos.catalogue import Capabilities
from videos.inputs import VideoCreateInput
from videos.models import Video
from videos.routing import ServedModel
from videos.templatetags.video_display import orientation, pretty_size
from videos.validation import (
    MAX_PROMPT_CHARS,
    InvalidRequest,
    Wanted,
    accepting_routes,
    check_inputs,
    clean_audio,
    clean_extend_seconds,
    clean_fit,
    clean_negative_prompt,
    clean_prompt,
    clean_seconds,
    clean_seed,
    clean_size,
    clean_upload,
    clean_variants,
    resolve_model,
)

T = TypeVar("T")
IMAGE_TYPES = "image/jpeg,image/png,image/webp"
# The API's parameter names, mapped to this form's fields; anything else is a form-wide error.
FIELD_FOR_PARAM = {
    "prompt": "prompt",
    "model": "model",
    "size": "size",
    "seconds": "seconds",
    "n_variants": "n_variants",
    "input_reference": "image",
    "image": "image",
    "last_frame": "last_frame",
    "negative_prompt": "negative_prompt",
    "audio": "audio",
    "input_fit": "input_fit",
    "reference_images": "reference_images",
    "seed": "seed",
}


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (reference images): a list, empty when none was chosen."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def prompt_widget(rows: int = 5, placeholder: str = "") -> forms.Textarea:
    return forms.Textarea(
        attrs={"rows": rows, "maxlength": MAX_PROMPT_CHARS, "required": True, "placeholder": placeholder}
    )


class RequestForm(forms.Form):
    """Shared by the create and remix forms: validation errors become field errors."""

    def add_invalid(self, error: InvalidRequest) -> None:
        self.add_error(FIELD_FOR_PARAM.get(error.param or ""), error.message)

    def checked(self, rule: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """The rule's result, or None after its message was attached to the form."""
        try:
            return rule(*args, **kwargs)
        except InvalidRequest as error:
            self.add_invalid(error)
            return None


def _model_option(caps: Capabilities, provider: str) -> dict:
    return {
        "provider": provider,
        "sizes": list(caps.sizes),
        "seconds": list(caps.seconds),
        "seconds_by_size": {size: list(caps.seconds_for(size)) for size in caps.sizes},
        "variants": {size: caps.variants_for(size) for size in caps.sizes},
        "image": caps.first_frame,
        "last_frame": caps.last_frame,
        "audio": caps.audio,
        "negative_prompt": caps.negative_prompt,
        "reference_images": caps.reference_images,
        "reference_seconds": list(caps.reference_seconds),
        "seed": caps.seed,
        "default_size": caps.default_size(),
    }


def model_options(served: dict[str, ServedModel]) -> dict[str, dict]:
    """What each offered model id accepts, for the page's script to narrow the choices (the
    server still judges): a model any of its providers may make, and, where several serve it,
    the `provider/model` ids that pin one of them."""
    options = {}
    for model in served.values():
        providers = ", ".join(str(route.provider) for route in model.routes)
        options[model.id] = _model_option(model.capabilities, providers)
    for model in served.values():
        if len(model.routes) > 1:
            for route in model.routes:
                options[route.id] = _model_option(route.capabilities, str(route.provider))
    return options


def _size_label(size: str) -> str:
    return f"{pretty_size(size)} ({orientation(size)})"


class VideoForm(RequestForm):
    prompt = forms.CharField(
        widget=prompt_widget(placeholder="A lighthouse on a cliff at dawn, waves rolling in, slow aerial shot"),
        required=False,
        help_text="Describe the scene, the motion and the camera.",
    )
    model = forms.CharField(widget=forms.Select, required=False)
    size = forms.CharField(widget=forms.Select, required=False)
    seconds = forms.CharField(widget=forms.Select, required=False, label="Duration")
    n_variants = forms.CharField(
        widget=forms.Select,
        required=False,
        label="Variants",
        help_text="Different takes of the same prompt; each one counts against your daily seconds.",
    )
    image = forms.FileField(
        required=False,
        label="Start frame (optional)",
        widget=forms.FileInput(attrs={"accept": IMAGE_TYPES}),
    )
    last_frame = forms.FileField(
        required=False,
        label="Last frame (optional)",
        widget=forms.FileInput(attrs={"accept": IMAGE_TYPES}),
        help_text="The video ends on this image, fitted like the start frame.",
    )
    negative_prompt = forms.CharField(
        required=False,
        label="Leave out (optional)",
        max_length=MAX_PROMPT_CHARS,
        help_text="What the video should not show, e.g. text, blur, people.",
    )
    audio = forms.BooleanField(required=False, label="With sound", initial=True)
    reference_images = MultipleFileField(
        required=False,
        label="Reference images (optional)",
        widget=MultipleFileInput(attrs={"accept": IMAGE_TYPES}),
        help_text="People, objects or a style the video should show; any size.",
    )
    seed = forms.CharField(
        required=False,
        label="Seed (optional)",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        help_text="The same seed and settings give a similar video again.",
    )
    input_fit = forms.ChoiceField(
        required=False,
        label="Fit the frames",
        choices=[
            ("crop", "Crop to fill the video"),
            ("pad", "Fit inside, with black bars"),
            ("exact", "Exact size only"),
        ],
        initial="crop",
        help_text="A frame of another shape is cropped (or padded) to the video's size; the preview shows how.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.create_input: VideoCreateInput | None = None
        self.fields["image"].help_text = (
            "A JPEG, PNG or WebP image, up to "
            f"{filesizeformat(settings.MAX_INPUT_IMAGE_BYTES)}. The video starts from it."
        )
        served = routing.served_models()
        self.options = model_options(served)
        # Every model first (whichever provider can take the video makes it), then, per
        # provider, the ids that pin it for a model several providers serve.
        groups: dict[str, list[tuple[str, str]]] = {"Models": []}
        for model in sorted(served.values(), key=lambda model: model.label.casefold()):
            via = f"{len(model.routes)} providers" if len(model.routes) > 1 else str(model.routes[0].provider)
            groups["Models"].append((model.id, f"{model.label} ({model.id}) · {via}"))
        for model in served.values():
            if len(model.routes) > 1:
                for route in model.routes:
                    groups.setdefault(f"Only through {route.provider}", []).append((route.id, route.id))
        self.fields["model"].widget.choices = [(name, options) for name, options in groups.items() if options]
        # Without a script every model's choices are offered; the server refuses the wrong ones.
        sizes = list(dict.fromkeys(s for o in self.options.values() for s in o["sizes"]))
        seconds = sorted({s for o in self.options.values() for s in o["seconds"]})
        most = max((n for o in self.options.values() for n in o["variants"].values()), default=1)
        self.fields["size"].widget.choices = [(s, _size_label(s)) for s in sizes]
        self.fields["seconds"].widget.choices = [(str(s), f"{s} seconds") for s in seconds]
        self.fields["n_variants"].widget.choices = [(str(n), str(n)) for n in range(1, most + 1)]
        if not self.is_bound:
            self.initial = {**self.default_initial(), **self.initial}

    def default_initial(self) -> dict:
        if not self.options:
            return {}
        name = "sora-2" if "sora-2" in self.options else next(iter(self.options))
        option = self.options[name]
        return {
            "model": name,
            "size": option["default_size"],
            "seconds": str(4 if 4 in option["seconds"] else option["seconds"][0]),
            "n_variants": "1",
        }

    @classmethod
    def initial_from(cls, video: Video) -> dict:
        """Start a new request with another video's settings (to try a failed one again)."""
        return {
            "prompt": video.prompt,
            "model": video.requested_model or video.model,
            "size": video.size,
            "seconds": str(video.seconds),
            "n_variants": str(video.n_variants),
        }

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        prompt = self.checked(clean_prompt, data.get("prompt"))
        resolved = self.checked(resolve_model, data.get("model") or None)
        if resolved is None:
            return data
        served = resolved
        model = served.id
        caps = served.capabilities
        size = self.checked(clean_size, data.get("size") or None, caps)
        # A number reads better than a quoted string in the message when it is refused.
        raw_seconds = data.get("seconds") or None
        if raw_seconds and raw_seconds.isdigit():
            raw_seconds = int(raw_seconds)
        seconds = self.checked(clean_seconds, raw_seconds, caps, size, strict_string=False) if size else None
        n_variants = self.checked(clean_variants, data.get("n_variants") or None, caps, size) if size else None
        image = None
        upload = data.get("image")
        fit = self.checked(clean_fit, data.get("input_fit") or None) or "crop"
        if upload and size:
            if not caps.first_frame:
                self.add_error("image", f"{model} cannot start from an image; remove the image or pick another model.")
            else:
                image = self.checked(clean_upload, upload, size=size, param="image", fit=fit)
        last_frame = None
        last_upload = data.get("last_frame")
        if last_upload and size:
            if not caps.last_frame:
                self.add_error("last_frame", f"{model} cannot end on a given image; remove it or pick another model.")
            else:
                last_frame = self.checked(clean_upload, last_upload, size=size, param="last_frame", fit=fit)
        negative_prompt = self.checked(clean_negative_prompt, data.get("negative_prompt") or None, caps)
        seed = self.checked(clean_seed, (data.get("seed") or "").strip() or None, caps)
        chosen_references = data.get("reference_images") or []
        references: list = []
        if chosen_references and seconds:
            try:
                check_inputs(
                    caps, seconds=seconds, first_frame=False, last_frame=False, reference_images=len(chosen_references)
                )
            except InvalidRequest as error:
                self.add_invalid(
                    error if error.param != "seconds" else InvalidRequest(error.message, param="reference_images")
                )
                chosen_references = []
            for picture in chosen_references:
                cleaned = self.checked(clean_upload, picture, size=None, param="reference_images")
                if cleaned is not None:
                    references.append(cleaned)
        # Only a model that can be silent is asked: the box means nothing to the others.
        audio = self.checked(clean_audio, bool(data.get("audio")), caps) if caps.audio == "optional" else None
        for name, chosen in (("image", upload), ("last_frame", last_upload)):
            if chosen and self.errors and name not in self.errors:
                # A browser never sends a chosen file twice: say so, or the next try silently loses it.
                self.add_error(name, "Choose the image again: it is not kept when the form has to be corrected.")
        routes = None
        if not self.errors and prompt is not None and size and seconds and n_variants:
            routes = self.checked(
                accepting_routes,
                served,
                Wanted(
                    size=size,
                    seconds=seconds,
                    n_variants=n_variants,
                    first_frame=image is not None,
                    last_frame=last_frame is not None,
                    reference_images=len(references),
                    negative_prompt=negative_prompt,
                    seed=seed,
                    audio=audio,
                ),
            )
        if routes and not self.errors and prompt is not None and size and seconds and n_variants:
            self.create_input = VideoCreateInput(
                provider=routes[0].provider,
                model=routes[0].model,
                requested_model=served.id,
                routes=routes,
                prompt=prompt,
                size=size,
                seconds=seconds,
                n_variants=n_variants,
                input_image=image,
                last_frame=last_frame,
                negative_prompt=negative_prompt,
                audio=audio,
                input_fit=fit if image or last_frame else None,
                reference_images=tuple(references),
                seed=seed,
            )
        return data


class RemixForm(RequestForm):
    """A new prompt for one of the user's ready videos; the view has checked the video itself."""

    prompt = forms.CharField(
        widget=prompt_widget(rows=3, placeholder="The same scene at night, in heavy rain"),
        required=False,
        label="Describe the change",
        help_text="The remix keeps this video's model, size and duration.",
    )

    def __init__(self, *args, source: Video, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.source = source
        self.create_input: VideoCreateInput | None = None

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        prompt = self.checked(clean_prompt, data.get("prompt"))
        if prompt is not None:
            self.create_input = VideoCreateInput.remix_of(self.source, prompt)
        return data


class ExtendForm(RequestForm):
    """What happens next in one of the user's ready videos, and how many seconds to add; the
    view has checked that the video can be extended."""

    prompt = forms.CharField(
        widget=prompt_widget(rows=3, placeholder="The camera pulls back to reveal the whole city"),
        required=False,
        label="What happens next",
    )
    seconds = forms.TypedChoiceField(label="Seconds to add", coerce=int, choices=())

    def __init__(self, *args, source: Video, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.source = source
        self.create_input: VideoCreateInput | None = None
        allowed = source.capabilities.extension_seconds()
        seconds_field = cast(forms.TypedChoiceField, self.fields["seconds"])
        seconds_field.choices = [(s, f"{s} seconds") for s in allowed]
        seconds_field.initial = allowed[0] if allowed else None
        self.fields[
            "prompt"
        ].help_text = f"The extension continues this {source.length_seconds}-second video with the same model and size."

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        prompt = self.checked(clean_prompt, data.get("prompt"))
        seconds = self.checked(clean_extend_seconds, data.get("seconds"), self.source.capabilities, strict_string=False)
        if prompt is not None and seconds is not None:
            self.create_input = VideoCreateInput.extension_of(self.source, prompt, seconds)
        return data
