from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.forms import LimitedPasswordResetForm, ResetPasswordForm, SignupForm, TokenCreateForm
from accounts.http import AuthenticatedRequest
from accounts.models import ApiToken
from accounts.ratelimit import client_address, parse_rate, rate_hit
from accounts.services import TokenCapReached, api_token_create, api_token_revoke, api_tokens_revoke_all
from videos.limits import usage_for
from videos.models import Video, VideoAsset

logger = logging.getLogger(__name__)


@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.SIGNUP_ENABLED:
        raise Http404("Sign-up is closed.")
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}. Your account is ready.")
        return redirect("home")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:tokens")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Reset e-mails are limited per client address here and per account in the form.

    Over a limit the page answers exactly as when the e-mail goes out, so it never tells whether
    an account uses the address; the e-mail is simply not sent.
    """

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    form_class = LimitedPasswordResetForm

    def form_valid(self, form):
        rate = parse_rate(settings.PASSWORD_RESET_RATE_PER_ADDRESS, setting="PASSWORD_RESET_RATE_PER_ADDRESS")
        address = client_address(self.request)
        if not rate_hit(f"password-reset:address:{address}", rate).allowed:
            logger.warning("Password-reset e-mail not sent: the limit for address %s is reached.", address)
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = ResetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@never_cache
@login_required
def tokens(request: AuthenticatedRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                created = api_token_create(
                    user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
                )
            except TokenCapReached as exc:
                form.add_error(None, str(exc))
            else:
                # The secret goes to the next page once through the session and is then forgotten.
                request.session["new_token"] = {"id": created.token.pk, "raw": created.raw}
                return redirect("accounts:tokens")
        messages.error(request, "The token was not created: see the message in the form.")
    new_token = request.session.pop("new_token", None)
    context = {
        "form": form,
        "tokens": request.user.api_tokens.all(),
        "live_count": ApiToken.objects.active().filter(user=request.user).count(),
        "token_cap": settings.API_TOKENS_PER_USER,
        "new_token": new_token,
        "api_base": request.build_absolute_uri("/v1"),
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def token_revoke(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    if api_token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "The token was revoked. Programs using it can no longer sign in.")
    else:
        messages.error(request, "No such active token.")
    return redirect("accounts:tokens")


@require_POST
@login_required
def tokens_revoke_all(request: AuthenticatedRequest) -> HttpResponse:
    count = api_tokens_revoke_all(user=request.user)
    messages.success(
        request,
        f"Revoked {count} token{'' if count == 1 else 's'}. Download links handed out before now no longer work.",
    )
    return redirect("accounts:tokens")


def _percent(part: int, whole: int) -> int:
    return min(100, part * 100 // whole) if whole else 0


@never_cache
@login_required
def usage(request: HttpRequest) -> HttpResponse:
    """The user's limits and how much of them is used, and what their stored videos take up."""
    current = usage_for(request.user)
    mine = Video.objects.for_user(request.user)
    stored = VideoAsset.objects.filter(video__in=mine).aggregate(total=Sum("size_bytes"))["total"] or 0
    per_state = dict(mine.order_by().values_list("state").annotate(n=Count("id")))
    context = {
        "usage": current,
        "active_percent": _percent(current.active, current.active_limit),
        "seconds_percent": _percent(current.seconds_today, current.seconds_limit),
        "stored_bytes": stored,
        "video_count": sum(per_state.values()),
        "ready_count": per_state.get("ready", 0),
    }
    return render(request, "accounts/usage.html", context)
