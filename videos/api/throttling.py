"""The API's rate limit: API_RATE_LIMIT requests per window for each account, whatever token it uses.

All of an account's tokens and its session share one counter, so creating tokens never adds to
the limit; requests without a valid token count against the client's address. Download links
count against their video's owner, in a counter of their own, so a player streaming a shared
link cannot lock the owner out of the API (or the other way round).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import User
from accounts.ratelimit import Rate, Verdict, client_address, parse_rate, rate_hit


def api_rate() -> Rate:
    return parse_rate(settings.API_RATE_LIMIT, setting="API_RATE_LIMIT")


def exceeded(verdict: Verdict, rate: Rate, *, who: str) -> Throttled:
    """The 429: the limit, whose it is, and when the window resets (also sent as Retry-After)."""
    seconds = verdict.retry_after
    return Throttled(
        wait=seconds,
        detail=f"Rate limit of {rate.describe()} for {who} exceeded. It resets in {seconds} seconds.",
    )


class AccountRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view) -> bool:
        user = request.user
        if user is not None and user.is_authenticated:
            key, self.who = f"api:user:{user.pk}", "this account"
        else:
            key, self.who = f"api:address:{client_address(request)}", "this address"
        self.rate = api_rate()
        self.verdict = rate_hit(key, self.rate)
        return self.verdict.allowed

    def wait(self) -> float:
        return self.verdict.retry_after

    def exceeded(self) -> Throttled:
        return exceeded(self.verdict, self.rate, who=self.who)


def check_download_rate(owner: User) -> None:
    """Count one download-link request against the video's owner; Throttled past the limit."""
    rate = api_rate()
    verdict = rate_hit(f"links:user:{owner.pk}", rate)
    if not verdict.allowed:
        raise exceeded(verdict, rate, who="this account's download links")
