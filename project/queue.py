"""The one way work is handed to the cluster."""

from __future__ import annotations

from django.db import transaction


def enqueue(func: str, *args: object) -> None:
    """Once the current transaction commits (at once outside one), so a task never looks for a
    row that is not there yet."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(func, *args))
