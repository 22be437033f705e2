"""Helpers the checks share: who is told, where the link goes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from accountability.directory import ManagerDirectory
from collections_app.case_rules import Measure
from notifications.services import NotificationDraft, notifications_send


def active_open_cases() -> Q:
    # Written-off cases keep the claim (limitation still matters) but no longer run to a time limit.
    return Q(case__is_open=True) & ~Q(case__measure=Measure.WRITTEN_OFF)


def case_url(case_id: int) -> str:
    return reverse("collections_app:case_detail", args=[case_id])


def notify_managers_per_branch(
    per_branch: dict[int, int], *, kind: str, key: str, title: Callable[[int], str], body: str, url: str
) -> int:
    """One message per manager and day, with the sum of the counts of the branches they oversee.

    The counts come from the database, so a rerun after a kill counts what the first run did too.
    """
    if not per_branch:
        return 0
    directory = ManagerDirectory.build()
    per_manager: dict[int, int] = defaultdict(int)
    for branch_id, n in per_branch.items():
        for manager_id in directory.for_branch(branch_id):
            per_manager[manager_id] += n
    with transaction.atomic():
        notifications_send(
            drafts=[
                NotificationDraft(
                    recipient_id=manager_id,
                    kind=kind,
                    key=f"{key}:{manager_id}",
                    title=title(n),
                    body=body,
                    url=url,
                )
                for manager_id, n in sorted(per_manager.items())
            ]
        )
    return len(per_manager)
