from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT requests per API token (per user for the dashboard's own calls)."""

    scope = "token"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is not None and hasattr(request.auth, "pk"):
            # The prefix is random per token, so a reused row id never inherits old counts.
            return f"throttle:token:{request.auth.pk}:{request.auth.prefix}"
        if request.user and request.user.is_authenticated:
            return f"throttle:user:{request.user.pk}"
        return f"throttle:ip:{self.get_ident(request)}"

    def describe(self) -> str:
        num, period = self.num_requests, self.duration
        unit = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}.get(period, f"{period} s")
        return f"{num} requests per {unit} for this API token"
