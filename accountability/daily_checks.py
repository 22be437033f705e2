"""The daily checks: each a service that takes `as_of`, idempotent and safe to run in two workers.

How each check stays correct when it is rerun, killed half-way or run twice at once:
- what it produces has a unique key in the database (one reminder per division and window, one
  proposal per division, officer and type, one notification per event and recipient, ...);
- it works in batches, each its own transaction, so a killed run keeps what it finished and a
  rerun only finds what is left ("process what still has no result");
- where two workers could pick the same rows, a batch claims them with
  `SELECT ... FOR NO KEY UPDATE SKIP LOCKED` and re-reads them under the lock, so the second
  worker takes the next rows instead of waiting for (or repeating) the first one's.

Celery tasks (tasks.py), beat (schedule.py) and `manage.py run_daily_checks` call `check_run`.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from accountability.directory import ManagerDirectory
from accountability.models import (
    AccountabilityRecord,
    DailyCheckRun,
    DeadlineReminder,
    LimitationWarning,
    LoansByLoansFlag,
    MonthEndClose,
    MonthEndSnapshot,
    PromiseAlert,
    RecordKind,
    RecordOrigin,
    ResponsibilityAssignment,
    ResponsibilityShare,
    WatchListEntry,
)
from accountability.policy import accountability_policy
from accountability.rules import (
    WatchFacts,
    is_month_end,
    loans_by_loans,
    month_start,
    threshold_window,
    watch_reasons,
)
from accountability.services import case_recovered_in_time, responsibility_assign_defaults
from audit.models import AuditEvent
from collections_app.case_rules import Measure
from collections_app.models import CollectionCase, PromiseToPay, Recovery
from collections_app.selectors import promises_due_unpaid
from collections_app.services import cases_open_for_non_performing, promises_mark_broken
from loans.classification import NON_PERFORMING_FIVE, FiveLevel, days_past_due
from loans.models import Borrower, ClassificationChange, Guarantee, Loan
from loans.policy import classification_policy
from loans.services import loans_reclassify
from notifications.services import NotificationDraft, notifications_send
from npl_recovery.jobs import CHECK_RUN_LOCK

log = logging.getLogger(__name__)

Counts = dict[str, Any]


def batch_size() -> int:
    return int(getattr(settings, "NPL_DAILY_CHECKS_BATCH_SIZE", 1000))


def _claim(queryset: QuerySet, *, after: int, size: int) -> list[int]:
    """Ids of the next rows nobody else holds, locked until this transaction ends.

    FOR NO KEY UPDATE (not FOR UPDATE) so inserts that reference the rows are not blocked;
    SKIP LOCKED so a second worker takes the next rows. SQLite has no row locks: its writers are
    serialised (IMMEDIATE transactions), which is as safe.
    """
    return list(
        queryset.filter(pk__gt=after)
        .order_by("pk")
        .select_for_update(skip_locked=True, of=("self",), no_key=True)
        .values_list("pk", flat=True)[:size]
    )


def _in_batches(
    candidates: Callable[[int], QuerySet], handle: Callable[[list[int]], int], *, size: int | None = None
) -> int:
    """Claim and handle the candidates batch by batch, each batch in its own transaction.

    `candidates(after)` is the queryset of rows still to do with an id above `after` (its "no result
    yet" subquery narrowed the same way, so each claim reads one batch's worth, not everything done
    so far). `handle(ids)` re-reads the claimed rows through it (a fresh snapshot, under the lock)
    and returns how many results it produced.
    """
    size = size or batch_size()
    done, last_id = 0, 0
    while True:
        with transaction.atomic():
            ids = _claim(candidates(last_id), after=last_id, size=size)
            if not ids:
                return done
            last_id = ids[-1]
            done += handle(ids)


def _active_open_cases() -> Q:
    # Written-off cases keep the claim (limitation still matters) but no longer run to a time limit.
    return Q(case__is_open=True) & ~Q(case__measure=Measure.WRITTEN_OFF)


def _case_url(case_id: int) -> str:
    return reverse("collections_app:case_detail", args=[case_id])


# --- 1. reclassify the book -------------------------------------------------------------------------


def check_reclassify(*, as_of: date) -> Counts:
    """Classify every loan, open a case for every new NPL, give each new case its first division."""
    result = loans_reclassify(as_of=as_of)
    opened = cases_open_for_non_performing(as_of=as_of)
    divisions = responsibility_assign_defaults(as_of=as_of)
    return {
        "loans_examined": result.examined,
        "loans_changed": result.changed,
        "became_non_performing": len(result.became_non_performing),
        "left_non_performing": len(result.left_non_performing),
        "cases_opened": opened,
        "divisions_created": divisions,
    }


# --- 2. time-limit reminders ------------------------------------------------------------------------


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
                .filter(_active_open_cases())
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
            shares = defaultdict(list)
            for assignment_id, officer_id, share in ResponsibilityShare.objects.filter(
                assignment_id__in=[r[0] for r in rows]
            ).values_list("assignment_id", "officer_id", "share"):
                shares[assignment_id].append((officer_id, share))
            drafts = []
            for pk, deadline, case_id, loan_no in rows:
                left = (deadline - as_of).days
                when = "today" if left == 0 else ("tomorrow" if left == 1 else f"in {left} days")
                for officer_id, share in shares[pk]:
                    drafts.append(
                        NotificationDraft(
                            recipient_id=officer_id,
                            kind="deadline.reminder",
                            key=f"deadline.reminder:{pk}:{threshold}:{officer_id}",
                            title=f"Loan {loan_no}: the recovery time limit is {when} ({deadline:%Y-%m-%d})",
                            body=(
                                f"You are responsible for {share.normalize():f}% of loan {loan_no}. Recover it by "
                                f"{deadline:%Y-%m-%d}; a missed time limit means a sanction is proposed."
                            ),
                            url=_case_url(case_id),
                        )
                    )
            notifications_send(drafts=drafts)
            return len(rows)

        counts[f"reminders_{threshold}_days"] = _in_batches(candidates, handle)
    return counts


# --- 3. time limit missed ---------------------------------------------------------------------------


def check_deadline_missed(*, as_of: date) -> Counts:
    """A time limit passed with the loan not recovered: propose the policy's sanctions for each
    responsible officer and tell the managers. One proposal per division, officer and type."""
    policy = accountability_policy()
    sanction_types = policy.missed_deadline_sanctions

    def candidates(after: int) -> QuerySet:
        return (
            ResponsibilityAssignment.objects.filter(pk__gt=after, ended_on__isnull=True, recovery_deadline__lt=as_of)
            .filter(_active_open_cases())
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
        shares = defaultdict(list)
        for assignment_id, officer_id, share in ResponsibilityShare.objects.filter(
            assignment_id__in=[r[0] for r in rows]
        ).values_list("assignment_id", "officer_id", "share"):
            shares[assignment_id].append((officer_id, share))
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
                reason=(
                    f"Loan {loan_no} was not recovered by its time limit {deadline:%Y-%m-%d} "
                    f"({share.normalize():f}% responsibility)."
                ),
                proposed_on=as_of,
            )
            for pk, deadline, case_id, loan_id, branch_id, loan_no in rows
            for officer_id, share in shares[pk]
            for sanction in sanction_types
        ]
        AccountabilityRecord.objects.bulk_create(records)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    event_type="accountability.proposed",
                    subject_type=AccountabilityRecord._meta.label_lower,
                    subject_id=r.pk,
                    branch_id=r.branch_id,
                    new_values={"officer": r.officer_id, "type": r.record_type, "origin": r.origin},
                    reason=r.reason,
                )
                for r in records
            ]
        )
        labels = dict(AccountabilityRecord.Type.choices)
        notifications_send(
            drafts=[
                NotificationDraft(
                    recipient_id=r.officer_id,
                    kind="record.proposed",
                    key=f"record.proposed:{r.pk}",
                    title=f"{labels[r.record_type]} proposed: a recovery time limit was missed",
                    body=r.reason,
                    url=r.get_absolute_url(),
                )
                for r in records
            ]
        )
        return len(records)

    proposed = _in_batches(candidates, handle)
    managers = _notify_managers_of_missed(as_of)
    return {"sanctions_proposed": proposed, "managers_told": managers}


def _notify_managers_per_branch(
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


def _notify_managers_of_missed(as_of: date) -> int:
    """How many proposals for missed time limits wait in each manager's branches."""
    per_branch = dict(
        AccountabilityRecord.objects.filter(origin=RecordOrigin.MISSED_DEADLINE, proposed_on=as_of)
        .order_by()
        .values("branch_id")
        .annotate(n=Count("assignment_id", distinct=True))
        .values_list("branch_id", "n")
    )
    return _notify_managers_per_branch(
        per_branch,
        kind="deadline.missed",
        key=f"deadline.missed:{as_of.isoformat()}",
        title=lambda n: f"{n} recovery time limit(s) missed: sanctions proposed for you to decide",
        body=f"The checks of {as_of:%Y-%m-%d} found loans not recovered by their time limit.",
        url=f"{reverse('accountability:board')}?origin=missed_deadline&state=proposed",
    )


# --- 4. recovered within the time limit (catch-up) -----------------------------------------------


def check_recovered_in_time(*, as_of: date) -> Counts:
    """Cases recovered within their time limit whose rewards were not proposed yet (the recovery
    itself triggers it at once; this catches anything missed, e.g. a lost message)."""
    lookback = as_of - timedelta(days=accountability_policy().reward_lookback_days)
    candidates = (
        ResponsibilityAssignment.objects.filter(
            ended_on__isnull=True,
            case__measure=Measure.RECOVERED,
            case__ended_on__gte=lookback,
            case__ended_on__lte=as_of,
        )
        .filter(case__ended_on__lte=F("recovery_deadline"))
        .exclude(
            Exists(
                AccountabilityRecord.objects.filter(assignment=OuterRef("pk"), origin=RecordOrigin.RECOVERED_IN_TIME)
            )
        )
    )
    cases = list(candidates.values_list("case_id", flat=True))
    proposed = 0
    for case_id in cases:
        proposed += len(case_recovered_in_time(case=CollectionCase(pk=case_id), as_of=as_of))
    return {"cases": len(cases), "rewards_proposed": proposed}


# --- 5. promises to pay -----------------------------------------------------------------------------


def check_promises(*, as_of: date) -> Counts:
    """Promises due today (the officer is told) and promises past due unpaid (marked broken)."""
    due_today = PromiseToPay.objects.filter(status=PromiseToPay.Status.OPEN, due_on=as_of, case__is_open=True).exclude(
        Exists(PromiseAlert.objects.filter(promise=OuterRef("pk"), event=PromiseAlert.Event.DUE))
    )

    def handle_due(ids: list[int]) -> int:
        rows = list(
            due_today.filter(pk__in=ids).values_list(
                "pk", "case_id", "amount", "amount_paid", "case__officer_id", "case__branch_id", "case__loan__loan_no"
            )
        )
        PromiseAlert.objects.bulk_create(
            [PromiseAlert(promise_id=r[0], case_id=r[1], event=PromiseAlert.Event.DUE, found_on=as_of) for r in rows]
        )
        notifications_send(drafts=_promise_drafts(rows, "due", as_of))
        return len(rows)

    broken_candidates = promises_due_unpaid(as_of=as_of).filter(case__is_open=True)

    def handle_broken(ids: list[int]) -> int:
        marked = promises_mark_broken(
            promise_ids=broken_candidates.filter(pk__in=ids).values_list("pk", flat=True), actor=None, as_of=as_of
        )
        rows = list(
            PromiseToPay.objects.filter(pk__in=marked).values_list(
                "pk", "case_id", "amount", "amount_paid", "case__officer_id", "case__branch_id", "case__loan__loan_no"
            )
        )
        PromiseAlert.objects.bulk_create(
            [
                PromiseAlert(promise_id=r[0], case_id=r[1], event=PromiseAlert.Event.BROKEN, found_on=as_of)
                for r in rows
            ],
            ignore_conflicts=True,
        )
        notifications_send(drafts=_promise_drafts(rows, "broken", as_of))
        return len(rows)

    return {
        "due_today": _in_batches(lambda after: due_today, handle_due),
        "broken": _in_batches(lambda after: broken_candidates, handle_broken),
    }


def _promise_drafts(rows: Iterable[tuple], event: str, as_of: date) -> list[NotificationDraft]:
    directory: ManagerDirectory | None = None
    drafts = []
    for pk, case_id, amount, paid, officer_id, branch_id, loan_no in rows:
        if officer_id is not None:
            recipients = [officer_id]
        else:
            directory = directory or ManagerDirectory.build()
            recipients = directory.for_branch(branch_id)
        if event == "due":
            title = f"Loan {loan_no}: a promise to pay {amount:,.2f} is due today"
            body = f"{paid:,.2f} of it has been paid so far. Follow up with the borrower today."
        else:
            title = f"Loan {loan_no}: a promise to pay {amount:,.2f} was broken"
            body = f"Only {paid:,.2f} was paid by the due date. Consider the next measure."
        drafts += [
            NotificationDraft(
                recipient_id=r,
                kind=f"promise.{event}",
                key=f"promise.{event}:{pk}:{r}",
                title=title,
                body=body,
                url=_case_url(case_id),
            )
            for r in recipients
        ]
    return drafts


# --- 6. limitation periods --------------------------------------------------------------------------


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
            return CollectionCase.objects.filter(
                pk__gt=after, is_open=True, limitation_expires_on__range=(low, high)
            ).exclude(
                Exists(
                    LimitationWarning.objects.filter(
                        case=OuterRef("pk"),
                        case_id__gt=after,
                        days_before=threshold,
                        expires_on=OuterRef("limitation_expires_on"),
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
            directory: ManagerDirectory | None = None
            drafts = []
            for pk, expires, officer_id, branch_id, loan_no, starts in rows:
                if officer_id is not None:
                    recipients = [officer_id]
                else:
                    directory = directory or ManagerDirectory.build()
                    recipients = directory.for_branch(branch_id)
                left = (expires - as_of).days
                drafts += [
                    NotificationDraft(
                        recipient_id=r,
                        kind="limitation.warning",
                        key=f"limitation.warning:{pk}:{threshold}:{expires.isoformat()}:{r}",
                        title=f"Loan {loan_no}: the claim runs out in {left} days ({expires:%Y-%m-%d})",
                        body=(
                            f"The limitation period runs from {starts:%Y-%m-%d}. Keep the claim alive: obtain a "
                            "payment, a written acknowledgement of the debt or a notice signed by the debtor."
                        ),
                        url=_case_url(pk),
                    )
                    for r in recipients
                ]
            notifications_send(drafts=drafts)
            return len(rows)

        counts[f"warnings_{threshold}_days"] = _in_batches(candidates, handle)
    return counts


# --- 7. "loans by loans" ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Repayment:
    pk: int
    received_on: date
    amount: Decimal
    loan_id: int
    loan_disbursed_on: date
    borrower_id: int
    group_code: str


def _chunks(values: list, size: int = 1000) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def check_loans_by_loans(*, as_of: date) -> Counts:
    """Flag a new loan to the borrower of an overdue loan, to a guarantor of it who is a borrower,
    or to a borrower of the same group, disbursed within the window (30 days, policy) before or
    after a cash repayment of that overdue loan. The managers of the new loan's branch review it.

    Reads only the window's repayments and the loans of the borrowers concerned (by index), never
    the whole book. One flag per new loan and repayment.
    """
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
            LoansByLoansFlag.objects.filter(
                new_loan_id__in={f.new_loan_id for f in chunk}, overdue_loan_id__in={f.overdue_loan_id for f in chunk}
            ).values_list("new_loan_id", "overdue_loan_id")
        )
    fresh = [f for f in found if (f.new_loan_id, f.overdue_loan_id) not in existing]
    for chunk in _chunks(fresh, batch_size()):
        with transaction.atomic():
            LoansByLoansFlag.objects.bulk_create(chunk, ignore_conflicts=True)
    told = _notify_managers_of_flags(as_of)
    return {"repayments": len(repayments), "flags": len(fresh), "managers_told": told}


def _notify_managers_of_flags(as_of: date) -> int:
    """The new loans flagged today in each manager's branches."""
    per_branch = dict(
        LoansByLoansFlag.objects.filter(found_on=as_of)
        .order_by()
        .values("branch_id")
        .annotate(n=Count("new_loan_id", distinct=True))
        .values_list("branch_id", "n")
    )
    return _notify_managers_per_branch(
        per_branch,
        kind="loans_by_loans.flag",
        key=f"loans_by_loans:{as_of.isoformat()}",
        title=lambda n: f"Loans by loans? {n} new loan(s) close to a repayment of an overdue loan",
        body=(
            f"The checks of {as_of:%Y-%m-%d} found new loans to the borrower of an overdue loan, or to "
            "a related party, disbursed close to a repayment of it. Confirm or clear each."
        ),
        url=reverse("accountability:prevention") + "?tab=loans_by_loans&status=open",
    )


# --- 8. the prevention watch list -----------------------------------------------------------------


def check_watch_list(*, as_of: date) -> Counts:
    """Normal and special-mention loans that may turn bad (early days past due, close to
    substandard, recently downgraded), one row per loan for the day; older days are pruned."""
    policy = accountability_policy()
    substandard_after = classification_policy().substandard_after_days
    keep_from = as_of - timedelta(days=policy.watch_list_keep_days)
    pruned, _ = WatchListEntry.objects.filter(as_of__lt=keep_from).delete()
    previous_day = WatchListEntry.objects.filter(as_of__lt=as_of).aggregate(d=Max("as_of"))["d"]
    drift_since = as_of - timedelta(days=policy.watch_drift_days)
    performing = [FiveLevel.NORMAL.value, FiveLevel.SPECIAL_MENTION.value]
    columns = (
        "pk",
        "branch_id",
        "responsible_officer_id",
        "five_level_class",
        "overdue_since",
        "outstanding_principal",
    )

    # Every downgrade from normal to special mention in the drift window, once (small: a window's
    # worth of downgrades, not the book).
    downgraded_on = dict(
        ClassificationChange.objects.filter(
            scheme=ClassificationChange.Scheme.FIVE_LEVEL,
            from_class=FiveLevel.NORMAL,
            to_class=FiveLevel.SPECIAL_MENTION,
            as_of__range=(drift_since, as_of),
        )
        .order_by()
        .values("loan_id")
        .annotate(on=Max("as_of"))
        .values_list("loan_id", "on")
    )

    def store(rows: list[tuple]) -> int:
        ids = [r[0] for r in rows]
        # A rerun (or a second worker) skips what is on today's list already.
        done = set(WatchListEntry.objects.filter(as_of=as_of, loan_id__in=ids).values_list("loan_id", flat=True))
        first_seen = {}
        if previous_day is not None:
            first_seen = dict(
                WatchListEntry.objects.filter(as_of=previous_day, loan_id__in=ids).values_list(
                    "loan_id", "first_seen_on"
                )
            )
        entries = []
        for pk, branch_id, officer_id, five, overdue_since, outstanding in rows:
            if pk in done:
                continue
            dpd = days_past_due(overdue_since, as_of)
            reasons = watch_reasons(
                WatchFacts(five, dpd, downgraded_on.get(pk)), as_of, policy, substandard_after_days=substandard_after
            )
            if reasons:
                entries.append(
                    WatchListEntry(
                        as_of=as_of,
                        loan_id=pk,
                        branch_id=branch_id,
                        officer_id=officer_id,
                        five_level_class=five,
                        days_past_due=dpd,
                        outstanding_principal=outstanding,
                        reasons=",".join(reasons),
                        first_seen_on=first_seen.get(pk, as_of),
                    )
                )
        with transaction.atomic():
            WatchListEntry.objects.bulk_create(entries, ignore_conflicts=True)
        return len(entries)

    added, last_id, size = 0, 0, max(batch_size(), 5000)
    overdue = Loan.objects.filter(five_level_class__in=performing, overdue_since__lt=as_of)
    while True:
        rows = list(overdue.filter(pk__gt=last_id).order_by("pk").values_list(*columns)[:size])
        if not rows:
            break
        last_id = rows[-1][0]
        added += store(rows)
    # Downgraded by a manager's judgement without being overdue.
    for chunk in _chunks(sorted(downgraded_on), size):
        rows = list(
            Loan.objects.filter(pk__in=chunk, five_level_class=FiveLevel.SPECIAL_MENTION)
            .filter(Q(overdue_since__isnull=True) | Q(overdue_since__gte=as_of))
            .values_list(*columns)
        )
        if rows:
            added += store(rows)
    listed = WatchListEntry.objects.filter(as_of=as_of).count()
    told = _notify_officers_of_watch_list(as_of)
    return {"listed": listed, "added": added, "officers_told": told, "pruned": pruned}


def _notify_officers_of_watch_list(as_of: date) -> int:
    new_per_officer = list(
        WatchListEntry.objects.filter(as_of=as_of, first_seen_on=as_of, officer__isnull=False)
        .order_by()
        .values("officer_id")
        .annotate(n=Count("id"))
        .values_list("officer_id", "n")
    )
    url = reverse("accountability:prevention") + "?mine=1"
    with transaction.atomic():
        notifications_send(
            drafts=[
                NotificationDraft(
                    recipient_id=officer_id,
                    kind="watch_list.new",
                    key=f"watch_list:{as_of.isoformat()}:{officer_id}",
                    title=f"{n} of your loans joined the watch list",
                    body="Performing loans that may turn bad: contact the borrowers before they do.",
                    url=url,
                    email=False,
                )
                for officer_id, n in new_per_officer
            ]
        )
    return len(new_per_officer)


# --- 9. the month-end snapshot --------------------------------------------------------------------


def check_month_end_snapshot(*, as_of: date) -> Counts:
    """On a month's last day, record its closing figures per branch and responsible officer.

    Beat runs it just after midnight for the day before; the command runs it for `--as-of`. One
    snapshot per month: the MonthEndClose row is the claim (a second run, or a second worker, finds
    the month taken). The figures are read in one REPEATABLE READ transaction: one consistent view.
    """
    if not is_month_end(as_of):
        return {"skipped": "not a month end"}
    month = month_start(as_of)
    if MonthEndClose.objects.filter(month=month).exists():
        return {"skipped": "already taken"}
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try:
            with transaction.atomic():
                close = MonthEndClose.objects.create(month=month, as_of=as_of)
        except IntegrityError:
            return {"skipped": "already taken"}
        rows = _snapshot_rows(month=month, as_of=as_of)
        MonthEndSnapshot.objects.bulk_create(rows, batch_size=2000)
        MonthEndClose.objects.filter(pk=close.pk).update(rows=len(rows))
    return {"rows": len(rows)}


def _snapshot_rows(*, month: date, as_of: date) -> list[MonthEndSnapshot]:
    cells: dict[tuple[int, int | None], MonthEndSnapshot] = {}

    def cell(branch_id: int, officer_id: int | None) -> MonthEndSnapshot:
        key = (branch_id, officer_id)
        if key not in cells:
            cells[key] = MonthEndSnapshot(month=month, branch_id=branch_id, officer_id=officer_id)
        return cells[key]

    non_performing = {c.value for c in NON_PERFORMING_FIVE}
    for branch_id, officer_id, five, n, balance, provision in (
        Loan.objects.order_by()
        .values("branch_id", "responsible_officer_id", "five_level_class")
        .annotate(n=Count("id"), balance=Sum("outstanding_principal"), provision=Sum("specific_provision"))
        .values_list("branch_id", "responsible_officer_id", "five_level_class", "n", "balance", "provision")
    ):
        c = cell(branch_id, officer_id)
        balance = balance or Decimal(0)
        c.loans += n
        c.outstanding_principal += balance
        c.specific_provision += provision or Decimal(0)
        setattr(c, f"{five}_count", getattr(c, f"{five}_count") + n)
        setattr(c, f"{five}_balance", getattr(c, f"{five}_balance") + balance)
        if five in non_performing:
            c.npl_count += n
            c.npl_balance += balance
    for branch_id, officer_id, form, amount in (
        Recovery.objects.filter(received_on__range=(month, as_of))
        .order_by()
        .values("case__branch_id", "case__loan__responsible_officer_id", "form")
        .annotate(amount=Sum("amount"))
        .values_list("case__branch_id", "case__loan__responsible_officer_id", "form", "amount")
    ):
        c = cell(branch_id, officer_id)
        if form == Recovery.Form.CASH:
            c.cash_recovered += amount
        else:
            c.in_kind_value += amount
    for branch_id, officer_id, n, late in (
        CollectionCase.objects.filter(is_open=True)
        .order_by()
        .values("branch_id", "loan__responsible_officer_id")
        .annotate(
            n=Count("id"),
            late=Count("id", filter=Q(recovery_deadline__lt=as_of) & ~Q(measure=Measure.WRITTEN_OFF)),
        )
        .values_list("branch_id", "loan__responsible_officer_id", "n", "late")
    ):
        c = cell(branch_id, officer_id)
        c.open_cases += n
        c.cases_past_deadline += late
    return list(cells.values())


# --- the registry and the runner ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    label: str
    run: Callable[..., Counts]
    # Needs today's classification first (beat starts it later; the task waits for it).
    after_reclassify: bool = True


CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check("reclassify", "Reclassify the book, open cases, first divisions", check_reclassify, False),
        Check("deadline_reminders", "Time-limit reminders", check_deadline_reminders),
        Check("deadline_missed", "Time limits missed: sanctions proposed", check_deadline_missed),
        Check("recovered_in_time", "Recovered within the time limit: rewards", check_recovered_in_time),
        Check("promises", "Promises to pay due and broken", check_promises),
        Check("limitation", "Limitation-period warnings", check_limitation),
        Check("loans_by_loans", "Loans-by-loans detector", check_loans_by_loans),
        Check("watch_list", "Prevention watch list", check_watch_list),
        Check("month_end_snapshot", "Month-end snapshot", check_month_end_snapshot, False),
    )
}


def runner_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def check_run(*, name: str, as_of: date, runner: str = "") -> DailyCheckRun:
    """Run one check, recording the run (start, end, counts, or the error) in DailyCheckRun."""
    if name not in CHECKS:
        raise ValueError(f"Unknown daily check {name!r}; the checks are: {', '.join(CHECKS)}")
    # Seen running only with its lock held: the lock shows this process is alive (npl_recovery/jobs.py).
    with transaction.atomic():
        run = DailyCheckRun.objects.create(check_name=name, as_of=as_of, runner=(runner or runner_name())[:200])
        CHECK_RUN_LOCK.take(run.pk)
    try:
        counts = CHECKS[name].run(as_of=as_of)
    except Exception as exc:
        DailyCheckRun.objects.filter(pk=run.pk).update(
            status=DailyCheckRun.Status.FAILED,
            finished_at=timezone.now(),
            error="".join(traceback.format_exception_only(type(exc), exc))[:2000],
        )
        raise
    finally:
        CHECK_RUN_LOCK.release(run.pk)
    DailyCheckRun.objects.filter(pk=run.pk).update(
        status=DailyCheckRun.Status.DONE, finished_at=timezone.now(), counts=counts
    )
    run.refresh_from_db()
    return run


def checks_run_all(*, as_of: date, only: Iterable[str] | None = None, runner: str = "") -> list[DailyCheckRun]:
    """Every check (or `only` these) for `as_of`, in order: reclassification first."""
    names = list(CHECKS) if not only else [n for n in CHECKS if n in set(only)]
    return [check_run(name=name, as_of=as_of, runner=runner) for name in names]
