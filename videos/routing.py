"""One model, several providers: which provider makes a video.

A model id in the API names a model, not a provider: `veo-3.1` is Veo 3.1 wherever it is
served (the Gemini API, Vertex AI, fal, Replicate, Runway...). Each enabled provider serving a
model is a `Route` to it, known by the provider's own name for the model; routes are preferred
by the provider's `priority` (highest first), then by name. `provider/model` (with the model's
id or the provider's own name for it) pins one route; a provider's own name for a model
(`veo-3.1-generate-preview`) means the providers that call it so.

A new video keeps every route that accepts its whole request (videos.validation) and goes to
the first that can take it now: a free slot, room in its request window, no retry-after wait
and a closed breaker; when none can, to the first, where it waits in `pending` as before. A
create refused for a passing reason moves it to the next route that can
(`services.video_route_onward`); a create whose outcome is unknown never does: it is
reconciled where it was sent. A video still waiting may take any route open now
(`validation.routes_now`): providers added or enabled since it was made, and away from one
an operator disabled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from django.utils import timezone

from videos import catalogue
from videos.catalogue import Capabilities
from videos.models import Provider, ProviderState, Video, VideoState
from videos.throttle import window_used

# A provider's slot is taken by a job it holds and by a video already waiting for it.
_BUSY = (VideoState.PENDING, VideoState.SUBMITTED, VideoState.GENERATING)


@dataclass(frozen=True)
class Route:
    """One provider's way to a model: the provider, its own name for the model, and the
    model's id (the same for every provider that serves it)."""

    provider: Provider
    model: str
    model_id: str

    @property
    def id(self) -> str:
        """The explicit `provider/model` id that pins this route."""
        return f"{self.provider.name}/{self.model_id}"

    @cached_property
    def capabilities(self) -> Capabilities:
        return self.provider.capabilities(self.model)

    def as_json(self) -> list:
        """How a video keeps it (`Video.routes`)."""
        return [self.provider.pk, self.model]


@dataclass(frozen=True)
class ServedModel:
    """A model as users see it: its id and every route to it, preferred first."""

    id: str
    routes: tuple[Route, ...]

    @cached_property
    def capabilities(self) -> Capabilities:
        return catalogue.combined([route.capabilities for route in self.routes])

    @property
    def label(self) -> str:
        return catalogue.MODEL_LABELS.get(self.id) or self.routes[0].capabilities.label or self.id


def enabled_providers() -> list[Provider]:
    return list(Provider.objects.filter(enabled=True).order_by("-priority", "name"))


def served_models(providers: Sequence[Provider] | None = None) -> dict[str, ServedModel]:
    """Every model an enabled provider serves, by id, in order of first appearance (the
    preferred provider's order). One route per provider and model."""
    routes: dict[str, list[Route]] = {}
    for provider in enabled_providers() if providers is None else providers:
        for name in provider.model_names:
            model_id = provider.capabilities(name).model_id or name
            held = routes.setdefault(model_id, [])
            if all(route.provider.pk != provider.pk for route in held):
                held.append(Route(provider, name, model_id))
    return {model_id: ServedModel(model_id, tuple(found)) for model_id, found in routes.items()}


def resolve(requested: str, models: dict[str, ServedModel] | None = None) -> ServedModel | None:
    """The model and routes a requested id stands for (see the module docstring), or None."""
    models = served_models() if models is None else models
    if requested in models:
        return models[requested]
    for served in models.values():
        named = tuple(route for route in served.routes if route.model == requested)
        if named:
            return ServedModel(requested, named)
    provider_name, slash, rest = requested.partition("/")
    if slash:
        for served in models.values():
            pinned = tuple(
                route
                for route in served.routes
                if route.provider.name == provider_name and rest in (route.model, served.id)
            )
            if pinned:
                return ServedModel(requested, pinned)
    return _by_provider_name(requested, models)


def _by_provider_name(requested: str, models: dict[str, ServedModel]) -> ServedModel | None:
    """A provider's own name for a model that shares its id with another of its names (Ark's
    Volcengine `doubao-…` beside BytePlus' `dreamina-…`: one route each is listed), asked for
    by that name or pinned as `provider/name`."""
    providers = {route.provider.pk: route.provider for served in models.values() for route in served.routes}
    provider_name, slash, rest = requested.partition("/")
    found = tuple(
        Route(provider, name, provider.capabilities(name).model_id or name)
        for provider in providers.values()  # in the providers' order of preference
        for name in provider.model_names
        if name == requested or (slash and provider.name == provider_name and name == rest)
    )
    return ServedModel(requested, found) if found else None


def default_model() -> ServedModel | None:
    models = served_models()
    if not models:
        return None
    return models.get("sora-2") or next(iter(models.values()))


def can_take_now(provider: Provider) -> bool:
    """Whether a new video sent to `provider` would go out at once: a free slot, room in its
    request window, and no wait (a 429's retry-after, an open breaker)."""
    state = ProviderState.objects.filter(pk=provider.pk).first()
    if state is not None and state.blocked_until and state.blocked_until > timezone.now():
        return False
    busy = Video.objects.filter(provider=provider, state__in=_BUSY, deleted_at__isnull=True)
    if busy.count() >= provider.max_concurrent_jobs:
        return False
    return window_used(provider) < provider.requests_per_minute


def is_blocked(provider: Provider) -> bool:
    """Whether the provider holds every caller back now (retry-after, open breaker)."""
    return ProviderState.objects.filter(pk=provider.pk, blocked_until__gt=timezone.now()).exists()


def first_available(routes: Sequence[Route]) -> Route:
    """The route a new video goes to: the first that can take it now, else the first."""
    if len(routes) > 1:
        for route in routes:
            if route.provider.enabled and can_take_now(route.provider):
                return route
    return routes[0]


def onward(
    video: Video, *, free: bool = False, routes: Sequence[tuple[int, str]] | None = None
) -> tuple[int, str] | None:
    """The next of the video's routes (`routes`, else those it keeps) after its current one
    (in order, wrapping round) whose provider is enabled and not holding callers back (with
    `free`, that can take it now), as (provider id, model); None if none."""
    routes = [tuple(route) for route in (video.routes or () if routes is None else routes)]
    if not routes or routes == [(video.provider_id, video.model)]:
        return None
    here = (video.provider_id, video.model)
    start = routes.index(here) + 1 if here in routes else 0
    ordered = routes[start:] + routes[:start]
    providers = Provider.objects.in_bulk([provider_id for provider_id, _ in ordered])
    for provider_id, model in ordered:
        provider = providers.get(provider_id)
        if (provider_id, model) == here or provider is None or not provider.enabled:
            continue
        if can_take_now(provider) if free else not is_blocked(provider):
            return provider_id, model
    return None
