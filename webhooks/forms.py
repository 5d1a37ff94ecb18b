from __future__ import annotations

from django import forms

from webhooks import services
from webhooks.models import WebhookEndpoint


class EndpointForm(forms.Form):
    """Add or edit an endpoint; the checks are the API's (webhooks.services)."""

    name = forms.CharField(max_length=200, help_text="What it is for, e.g. “render farm”.")
    url = forms.CharField(
        max_length=2000,
        label="URL",
        help_text="Where deliveries are POSTed: https, on a public address.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/videos"}),
    )
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in services.EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        initial=list(services.EVENT_TYPES),
        help_text="video.failed includes videos whose results the provider deleted first (video_expired).",
    )

    @classmethod
    def for_endpoint(cls, endpoint: WebhookEndpoint, data=None) -> EndpointForm:
        return cls(data, initial={"name": endpoint.name, "url": endpoint.url, "event_types": endpoint.event_types})

    def add_service_error(self, error: services.InvalidEndpoint) -> None:
        self.add_error(error.param if error.param in self.fields else None, error.message)
