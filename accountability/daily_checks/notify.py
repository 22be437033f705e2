"""Helpers the checks share: who is told, where the link goes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from accountability.daily_checks.messages import Message
from accountability.directory import ManagerDirectory
from accountability.models import ResponsibilityShare
from collections_app.case_rules import Measure
from notifications.services import NotificationDraft, notifications_send


def active_open_cases() -> Q:
    # Written-off cases keep the claim (limitation still matters) but no longer run to a time limit.
    return Q(case__is_open=True) & ~Q(case__measure=Measure.WRITTEN_OFF)


def case_url(case_id: int) -> str:
    return reverse("collections_app:case_detail", args=[case_id])


class CaseRecipients:
    """Who hears about a case: its officer, else the managers nearest to its branch (the directory
    of managers is built once, when first needed)."""

    def __init__(self) -> None:
        self._directory: ManagerDirectory | None = None

    def __call__(self, *, officer_id: int | None, branch_id: int) -> list[int]:
        if officer_id is not None:
            return [officer_id]
        self._directory = self._directory or ManagerDirectory.build()
        return self._directory.for_branch(branch_id)


def officer_shares(assignment_ids: list[int]) -> dict[int, list[tuple[int, Decimal]]]:
    """(officer, share) of each division: who answers for it and for how much."""
    shares: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for assignment_id, officer_id, share in ResponsibilityShare.objects.filter(
        assignment_id__in=assignment_ids
    ).values_list("assignment_id", "officer_id", "share"):
        shares[assignment_id].append((officer_id, share))
    return shares


def notify_managers_per_branch(
    per_branch: dict[int, int], *, kind: str, key: str, message: Callable[[int], Message], url: str
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
                    title=message(n).title,
                    body=message(n).body,
                    url=url,
                )
                for manager_id, n in sorted(per_manager.items())
            ]
        )
    return len(per_manager)
