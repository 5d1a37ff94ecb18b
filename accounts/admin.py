from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from accounts.models import ApiToken, User
from videos.limits import day_start, usage_for
from videos.models import ACTIVE_STATES

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class UsageCounts(TypedDict):
    """What the user list annotates on each row (see UserAdmin.get_queryset)."""

    n_active: int
    n_seconds: int | None
    n_videos: int


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ("name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [ApiTokenInline]
    list_display = (
        "username",
        "email",
        "is_active",
        "is_staff",
        "active_videos",
        "seconds_today",
        "videos_total",
        "last_login",
    )
    readonly_fields = ("usage",)
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Usage", {"fields": ("usage",)}))

    def get_queryset(self, request):
        today = day_start(timezone.now())
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_active=Count("videos", filter=Q(videos__state__in=ACTIVE_STATES, videos__deleted_at__isnull=True)),
                n_seconds=Sum(F("videos__seconds") * F("videos__n_variants"), filter=Q(videos__created_at__gte=today)),
                n_videos=Count("videos"),
            )
        )

    @admin.display(description="In flight", ordering="n_active")
    def active_videos(self, obj: WithAnnotations[User, UsageCounts]) -> str:
        return f"{obj.n_active} / {settings.USER_MAX_ACTIVE_VIDEOS}"

    @admin.display(description="Seconds today", ordering="n_seconds")
    def seconds_today(self, obj: WithAnnotations[User, UsageCounts]) -> str:
        return f"{obj.n_seconds or 0} / {settings.USER_DAILY_SECONDS}"

    @admin.display(description="Videos", ordering="n_videos")
    def videos_total(self, obj: WithAnnotations[User, UsageCounts]) -> int:
        return obj.n_videos

    @admin.display(description="Usage against limits")
    def usage(self, obj: User) -> str:
        if obj.pk is None:
            return "—"
        usage = usage_for(obj)
        return (
            f"{usage.active} of {usage.active_limit} videos in flight; {usage.seconds_today} of "
            f"{usage.seconds_limit} seconds requested today (resets {usage.resets_at:%Y-%m-%d %H:%M} UTC)."
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owners; staff can see and revoke them, never read the secret."""

    list_display = ("prefix", "name", "user", "status", "created_at", "last_used_at", "expires_at")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("prefix", "name", "user__username", "user__email")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]
    list_select_related = ("user",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
