from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from notifications.models import Notification


def notifications_for_user(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.visible_to(user)
    return qs.unread() if unread_only else qs


def unread_count(*, user: Any) -> int:
    return Notification.objects.visible_to(user).unread().count()
