"""6. Limitation periods: warnings 90/30 days (policy) before a claim runs out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.db.models import Exists, OuterRef, QuerySet

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts, _in_batches
from accountability.daily_checks.notify import CaseRecipients, case_url
from accountability.models import LimitationWarning
from accountability.policy import accountability_policy
from accountability.rules import days_left, threshold_window
from collections_app.models import CollectionCase
from notifications.services import NotificationDraft, notifications_send


def open_claims() -> QuerySet:
    """Open cases whose claim has a limitation end: what the warnings, the time-barred check and the
    dashboard's legal deadlines read (index case_open_limitation)."""
    return CollectionCase.objects.filter(is_open=True, limitation_expires_on__isnull=False)


def warning_horizon(as_of: date) -> date:
    """The last limitation end inside the widest warning window (90 days by default) on `as_of`."""
    return as_of + timedelta(days=max(accountability_policy().limitation_warning_days))


def check_limitation(*, as_of: date) -> Counts:
    """Warn 90 and 30 days (policy) before a claim's limitation period runs out.

    The expiry is the case's `limitation_expires_on` (collections_app keeps it from the last
    payment, signed notice or written acknowledgement). A new one moves it and the warnings restart.
    """
    policy = accountability_policy()
    counts: Counts = {}
    for threshold in policy.limitation_warning_days:
        low, high = threshold_window(threshold, policy.limitation_warning_days, as_of)

        def candidates(after: int, threshold: int = threshold, low: date = low, high: date = high) -> QuerySet:
            return (
                open_claims()
                .filter(pk__gt=after, limitation_expires_on__range=(low, high))
                .exclude(
                    Exists(
                        LimitationWarning.objects.filter(
                            case=OuterRef("pk"),
                            case_id__gt=after,
                            days_before=threshold,
                            expires_on=OuterRef("limitation_expires_on"),
                        )
                    )
                )
            )

        def handle(ids: list[int], threshold: int = threshold, candidates: Callable = candidates) -> int:
            rows = list(
                candidates(ids[0] - 1)
                .filter(pk__in=ids)
                .values_list(
                    "pk", "limitation_expires_on", "officer_id", "branch_id", "loan__loan_no", "limitation_starts_on"
                )
            )
            LimitationWarning.objects.bulk_create(
                [
                    LimitationWarning(case_id=pk, days_before=threshold, expires_on=expires, sent_on=as_of)
                    for pk, expires, *_ in rows
                ]
            )
            recipients = CaseRecipients()
            drafts = []
            for pk, expires, officer_id, branch_id, loan_no, starts in rows:
                message = messages.limitation_warning(
                    loan_no=loan_no, expires=expires, days_left=days_left(expires, as_of), starts=starts
                )
                drafts += [
                    NotificationDraft(
                        recipient_id=r,
                        kind="limitation.warning",
                        key=f"limitation.warning:{pk}:{threshold}:{expires.isoformat()}:{r}",
                        title=message.title,
                        body=message.body,
                        url=case_url(pk),
                    )
                    for r in recipients(officer_id=officer_id, branch_id=branch_id)
                ]
            notifications_send(drafts=drafts)
            return len(rows)

        counts[f"warnings_{threshold}_days"] = _in_batches(candidates, handle)
    return counts
