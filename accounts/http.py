"""The request a view behind `login_required` gets: its user is signed in, never anonymous."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """For type checking only: Django hands these views a plain HttpRequest."""

    user: User
