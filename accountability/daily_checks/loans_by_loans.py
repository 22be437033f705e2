"""7. "Collecting loans by loans": new loans close to a repayment of an overdue loan."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, QuerySet
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts, _chunks, batch_size
from accountability.daily_checks.notify import notify_managers_per_branch
from accountability.models import LoansByLoansFlag
from accountability.policy import accountability_policy
from accountability.prevention import refinancing_flags_find
from accountability.rules import loans_by_loans
from collections_app.models import Recovery
from loans.models import Borrower, Guarantee, Loan


@dataclass(frozen=True)
class _Repayment:
    pk: int
    received_on: date
    amount: Decimal
    loan_id: int
    loan_disbursed_on: date
    borrower_id: int
    group_code: str


def check_loans_by_loans(*, as_of: date) -> Counts:
    """Flag a new loan to the borrower of an overdue loan, to a guarantor of it who is a borrower,
    or to a borrower of the same group, disbursed within the window (30 days, policy) before or
    after a cash repayment of that overdue loan. The managers of the new loan's branch review it.

    Reads only the window's repayments and the loans of the borrowers concerned (by index), never
    the whole book. One flag per new loan and repayment. Falls of a balance reported by the book
    (ledger entries, accountability/prevention.py) are read too, set-based in the database.
    """
    # Falls reported by the book near a new loan: "loans by loans" or "interest by loans".
    from_ledger = refinancing_flags_find(as_of=as_of)
    counts = _flag_recoveries(as_of)
    counts["ledger_flags"] = from_ledger
    counts["managers_told"] = _notify_managers_of_flags(as_of)
    return counts


def _flag_recoveries(as_of: date) -> Counts:
    policy = accountability_policy()
    window = timedelta(days=policy.loans_by_loans_window_days)
    since = as_of - 2 * window
    repayments = [
        _Repayment(*row)
        for row in Recovery.objects.filter(form=Recovery.Form.CASH, received_on__range=(since, as_of))
        .order_by("pk")
        .values_list(
            "pk",
            "received_on",
            "amount",
            "case__loan_id",
            "case__loan__disbursed_on",
            "case__loan__borrower_id",
            "case__loan__borrower__group_code",
        )
    ]
    if not repayments:
        return {"repayments": 0, "flags": 0}
    overdue_loans = sorted({r.loan_id for r in repayments})
    guarantor_borrowers: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(overdue_loans):
        for loan_id, borrower_id in Guarantee.objects.filter(
            loan_id__in=chunk, guarantor__borrower__isnull=False
        ).values_list("loan_id", "guarantor__borrower_id"):
            guarantor_borrowers[loan_id].add(borrower_id)
    groups = sorted({r.group_code for r in repayments if r.group_code})
    group_members: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(groups):
        for borrower_id, code in Borrower.objects.filter(group_code__in=chunk).values_list("id", "group_code"):
            group_members[code].add(borrower_id)
    borrowers = {r.borrower_id for r in repayments}
    borrowers |= {b for s in guarantor_borrowers.values() for b in s}
    borrowers |= {b for s in group_members.values() for b in s}
    new_loans_of: dict[int, list[tuple]] = defaultdict(list)
    for chunk in _chunks(sorted(borrowers)):
        # Index loan_borrower_disbursed: WHERE borrower_id IN (...) AND disbursed_on BETWEEN ...
        for row in Loan.objects.filter(borrower_id__in=chunk, disbursed_on__range=(since, as_of)).values_list(
            "pk", "borrower_id", "disbursed_on", "branch_id", "issuing_officer_id", "principal", "loan_no"
        ):
            new_loans_of[row[1]].append(row)

    # One flag per new loan and overdue loan: the repayment closest to the disbursement is kept.
    flags: dict[tuple[int, int], LoansByLoansFlag] = {}
    relations = (
        (LoansByLoansFlag.Relation.SAME_BORROWER, lambda r: {r.borrower_id}),
        (LoansByLoansFlag.Relation.GUARANTOR, lambda r: guarantor_borrowers.get(r.loan_id, set())),
        (
            LoansByLoansFlag.Relation.SAME_GROUP,
            lambda r: group_members.get(r.group_code, set()) if r.group_code else set(),
        ),
    )
    for r in repayments:
        for relation, related in relations:
            for borrower_id in related(r):
                for loan_id, _, disbursed_on, branch_id, officer_id, principal, _no in new_loans_of.get(
                    borrower_id, ()
                ):
                    if loan_id == r.loan_id or disbursed_on <= r.loan_disbursed_on:
                        continue
                    if not loans_by_loans(r.received_on, disbursed_on, policy):
                        continue
                    key = (loan_id, r.loan_id)
                    kept = flags.get(key)
                    if kept is not None and (
                        kept.relation != relation  # the closest relation was found first
                        or abs((kept.disbursed_on - kept.repaid_on).days) <= abs((disbursed_on - r.received_on).days)
                    ):
                        continue
                    flags[key] = LoansByLoansFlag(
                        new_loan_id=loan_id,
                        overdue_loan_id=r.loan_id,
                        repayment_id=r.pk,
                        relation=relation,
                        branch_id=branch_id,
                        lending_officer_id=officer_id,
                        repaid_on=r.received_on,
                        repaid_amount=r.amount,
                        disbursed_on=disbursed_on,
                        new_loan_principal=principal,
                        found_on=as_of,
                    )
    found = list(flags.values())
    existing: set[tuple[int, int]] = set()
    for chunk in _chunks(found):
        existing |= set(
            LoansByLoansFlag.objects.exclude(kind=LoansByLoansFlag.Kind.FIRST_PAY_OFF)
            .filter(
                new_loan_id__in={f.new_loan_id for f in chunk}, overdue_loan_id__in={f.overdue_loan_id for f in chunk}
            )
            .values_list("new_loan_id", "overdue_loan_id")
        )
    fresh = [f for f in found if (f.new_loan_id, f.overdue_loan_id) not in existing]
    for chunk in _chunks(fresh, batch_size()):
        with transaction.atomic():
            LoansByLoansFlag.objects.bulk_create(chunk, ignore_conflicts=True)
    return {"repayments": len(repayments), "flags": len(fresh)}


def flagged_new_loans_per_branch(flags: QuerySet) -> dict[int, int]:
    """{branch id: how many new loans these flags name}: what the managers' messages count."""
    return dict(
        flags.order_by()
        .values("branch_id")
        .annotate(n=Count("new_loan_id", distinct=True))
        .values_list("branch_id", "n")
    )


def _notify_managers_of_flags(as_of: date) -> int:
    """The new loans flagged today in each manager's branches."""
    return notify_managers_per_branch(
        flagged_new_loans_per_branch(LoansByLoansFlag.objects.filter(found_on=as_of)),
        kind="loans_by_loans.flag",
        key=f"loans_by_loans:{as_of.isoformat()}",
        message=lambda n: messages.loans_by_loans_for_managers(count=n, as_of=as_of),
        url=reverse("accountability:prevention") + "?tab=loans_by_loans&status=open",
    )
