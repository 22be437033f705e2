"""2. Time-limit reminders, 30/7/1 days (policy) before a recovery time limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts, _in_batches
from accountability.daily_checks.notify import active_open_cases, case_url, officer_shares
from accountability.models import DeadlineReminder, ResponsibilityAssignment
from accountability.policy import accountability_policy
from accountability.rules import days_left, threshold_window
from notifications.services import NotificationDraft, notifications_send


def check_deadline_reminders(*, as_of: date) -> Counts:
    """Remind each responsible officer 30, 7 and 1 days (policy) before the recovery time limit.

    One reminder per division and window: the window's first run sends it (a run that missed the
    first day catches up), later runs in the same window send nothing.
    """
    policy = accountability_policy()
    counts: Counts = {}
    for threshold in policy.reminder_days_before:
        low, high = threshold_window(threshold, policy.reminder_days_before, as_of)

        def candidates(after: int, threshold: int = threshold, low: date = low, high: date = high) -> QuerySet:
            return (
                ResponsibilityAssignment.objects.filter(
                    pk__gt=after, ended_on__isnull=True, recovery_deadline__range=(low, high)
                )
                .filter(active_open_cases())
                .exclude(
                    Exists(
                        DeadlineReminder.objects.filter(
                            assignment=OuterRef("pk"), assignment_id__gt=after, days_before=threshold
                        )
                    )
                )
            )

        def handle(ids: list[int], threshold: int = threshold, candidates: Callable = candidates) -> int:
            rows = list(
                candidates(ids[0] - 1)
                .filter(pk__in=ids)
                .values_list("pk", "recovery_deadline", "case_id", "loan__loan_no")
            )
            if not rows:
                return 0
            DeadlineReminder.objects.bulk_create(
                [
                    DeadlineReminder(assignment_id=pk, days_before=threshold, deadline=deadline, sent_on=as_of)
                    for pk, deadline, _, _ in rows
                ]
            )
            shares = officer_shares([r[0] for r in rows])
            drafts = []
            for pk, deadline, case_id, loan_no in rows:
                for officer_id, share in shares[pk]:
                    message = messages.deadline_reminder(
                        loan_no=loan_no, deadline=deadline, days_left=days_left(deadline, as_of), share=share
                    )
                    drafts.append(
                        NotificationDraft(
                            recipient_id=officer_id,
                            kind="deadline.reminder",
                            key=f"deadline.reminder:{pk}:{threshold}:{officer_id}",
                            title=message.title,
                            body=message.body,
                            url=case_url(case_id),
                        )
                    )
            notifications_send(drafts=drafts)
            return len(rows)

        counts[f"reminders_{threshold}_days"] = _in_batches(candidates, handle)
    return counts
