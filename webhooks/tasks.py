"""django-q2 entry points: thin, given ids; each calls one function."""

from __future__ import annotations

from webhooks import delivery


def deliver(delivery_id: int) -> str:
    return delivery.deliver(delivery_id)


def deliver_due() -> int:
    return delivery.deliver_due()
