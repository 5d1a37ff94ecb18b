"""The dashboard's Webhooks page: a user's endpoints, each with its recent deliveries."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from webhooks import delivery, services
from webhooks.forms import EndpointForm
from webhooks.models import WebhookEndpoint

RECENT_DELIVERIES = 25


def _own(request: AuthenticatedRequest, endpoint_id: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, owner=request.user).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def _show_secret_once(request: AuthenticatedRequest, endpoint: WebhookEndpoint, secret: str) -> None:
    # Through the session to the next page once, then forgotten (as new API tokens are).
    request.session["new_webhook_secret"] = {"id": endpoint.pk, "secret": secret}


@never_cache
@login_required
def endpoint_list(request: AuthenticatedRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(owner=request.user, **form.cleaned_data)
        except services.InvalidEndpoint as exc:
            form.add_service_error(exc)
        else:
            _show_secret_once(request, endpoint, secret)
            messages.success(request, f"Endpoint “{endpoint.name}” added.")
            return redirect("webhooks:detail", endpoint.pk)
    if request.method == "POST":
        messages.error(request, "The endpoint was not added: see the message in the form.")
    context = {
        "form": form,
        "endpoints": WebhookEndpoint.objects.filter(owner=request.user),
        "cap": services.MAX_ENDPOINTS,
    }
    return render(request, "webhooks/list.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
def endpoint_detail(request: AuthenticatedRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _own(request, endpoint_id)
    form = EndpointForm.for_endpoint(endpoint, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint, **form.cleaned_data)
        except services.InvalidEndpoint as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, "Saved.")
            return redirect("webhooks:detail", endpoint.pk)
    if request.method == "POST":
        messages.error(request, "Not saved: see the message in the form.")
    shown = request.session.pop("new_webhook_secret", None)
    context = {
        "endpoint": endpoint,
        "form": form,
        "new_secret": shown["secret"] if shown and shown.get("id") == endpoint.pk else None,
        "deliveries": endpoint.deliveries.select_related("event")[:RECENT_DELIVERIES],
        "event_types": services.EVENT_TYPES,
    }
    return render(request, "webhooks/detail.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def endpoint_rotate(request: AuthenticatedRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _own(request, endpoint_id)
    keep = request.POST.get("keep_old") == "on"
    secret = services.endpoint_rotate_secret(endpoint, keep_old_for_24_hours=keep)
    _show_secret_once(request, endpoint, secret)
    messages.success(request, "New signing secret made." + (" The old one still signs for 24 hours." if keep else ""))
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
@login_required
def endpoint_test(request: AuthenticatedRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _own(request, endpoint_id)
    try:
        row = services.send_test(endpoint, request.POST.get("event_type"))
    except services.InvalidEndpoint as exc:
        messages.error(request, exc.message)
    else:
        if row.state == "delivered":
            messages.success(request, f"Test event delivered: HTTP {row.last_status_code}.")
        else:
            messages.error(request, f"The test event was not delivered: {row.last_error}.")
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
@login_required
def endpoint_enabled(request: AuthenticatedRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _own(request, endpoint_id)
    enable = request.POST.get("enabled") == "on"
    services.endpoint_set_enabled(endpoint, enable)
    messages.success(request, "Deliveries resume." if enable else "Disabled: no deliveries until you enable it.")
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
@login_required
def endpoint_delete(request: AuthenticatedRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _own(request, endpoint_id)
    services.endpoint_delete(endpoint)
    messages.success(request, f"Endpoint “{endpoint.name}” deleted.")
    return redirect("webhooks:list")


@require_POST
@login_required
def delivery_again(request: AuthenticatedRequest, endpoint_id: str, delivery_id: int) -> HttpResponse:
    endpoint = _own(request, endpoint_id)
    row = endpoint.deliveries.filter(pk=delivery_id).first()
    if row is None:
        raise Http404("No such delivery.")
    if not endpoint.enabled:
        messages.error(request, "Enable the endpoint first.")
    else:
        delivery.send_again(row)
        messages.success(request, "Sent again: the page shows the answer once it arrives.")
    return redirect("webhooks:detail", endpoint.pk)
