"""3. A time limit missed: sanctions proposed, managers told."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts, _in_batches
from accountability.daily_checks.notify import active_open_cases, notify_managers_per_branch, officer_shares
from accountability.models import (
    AccountabilityRecord,
    RecordKind,
    RecordOrigin,
    ResponsibilityAssignment,
)
from accountability.policy import accountability_policy
from accountability.services import proposals_announce


def check_deadline_missed(*, as_of: date) -> Counts:
    """A time limit passed with the loan not recovered: propose the policy's sanctions for each
    responsible officer and tell the managers. One proposal per division, officer and type."""
    policy = accountability_policy()
    sanction_types = policy.missed_deadline_sanctions

    def candidates(after: int) -> QuerySet:
        return (
            ResponsibilityAssignment.objects.filter(pk__gt=after, ended_on__isnull=True, recovery_deadline__lt=as_of)
            .filter(active_open_cases())
            .exclude(
                Exists(
                    AccountabilityRecord.objects.filter(
                        assignment=OuterRef("pk"), assignment_id__gt=after, origin=RecordOrigin.MISSED_DEADLINE
                    )
                )
            )
        )

    def handle(ids: list[int]) -> int:
        rows = list(
            candidates(ids[0] - 1)
            .filter(pk__in=ids)
            .values_list("pk", "recovery_deadline", "case_id", "loan_id", "branch_id", "loan__loan_no")
        )
        if not rows:
            return 0
        shares = officer_shares([r[0] for r in rows])
        records = [
            AccountabilityRecord(
                kind=RecordKind.SANCTION,
                record_type=sanction,
                origin=RecordOrigin.MISSED_DEADLINE,
                officer_id=officer_id,
                branch_id=branch_id,
                case_id=case_id,
                loan_id=loan_id,
                assignment_id=pk,
                share=share,
                deadline=deadline,
                reason=messages.missed_deadline_reason(loan_no=loan_no, deadline=deadline, share=share),
                proposed_on=as_of,
            )
            for pk, deadline, case_id, loan_id, branch_id, loan_no in rows
            for officer_id, share in shares[pk]
            for sanction in sanction_types
        ]
        AccountabilityRecord.objects.bulk_create(records)
        labels = dict(AccountabilityRecord.Type.choices)
        proposals_announce(
            records=records,
            actor=None,
            title=lambda r: messages.missed_deadline_proposed(type_label=labels[r.record_type]),
        )
        return len(records)

    proposed = _in_batches(candidates, handle)
    managers = _notify_managers_of_missed(as_of)
    return {"sanctions_proposed": proposed, "managers_told": managers}


def _notify_managers_of_missed(as_of: date) -> int:
    """How many proposals for missed time limits wait in each manager's branches."""
    per_branch = dict(
        AccountabilityRecord.objects.filter(origin=RecordOrigin.MISSED_DEADLINE, proposed_on=as_of)
        .order_by()
        .values("branch_id")
        .annotate(n=Count("assignment_id", distinct=True))
        .values_list("branch_id", "n")
    )
    return notify_managers_per_branch(
        per_branch,
        kind="deadline.missed",
        key=f"deadline.missed:{as_of.isoformat()}",
        message=lambda n: messages.missed_deadlines_for_managers(count=n, as_of=as_of),
        url=f"{reverse('accountability:board')}?origin=missed_deadline&state=proposed",
    )
