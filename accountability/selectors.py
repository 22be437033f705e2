"""Reads for the accountability pages, always scoped to the user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accountability.models import (
    OPEN_RECORD_STATES,
    TO_DECIDE_STATES,
    AccountabilityRecord,
    CaseCause,
    DailyCheckRun,
    LoansByLoansFlag,
    RecordKind,
    RecordState,
    ResponsibilityAssignment,
    ResponsibilityShare,
    ResponsibilityTally,
    WatchListEntry,
)
from accountability.policy import accountability_policy
from audit.models import AuditEvent
from collections_app.models import CollectionCase, Recovery
from loans.access import answered_loan_ids, get_for_user_or_404, visible_branch_ids
from loans.models import User

MONEY = DecimalField(max_digits=18, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY)


def _recovered(form: str) -> Subquery:
    return Coalesce(
        Subquery(
            Recovery.objects.filter(case=OuterRef("assignment__case"), form=form)
            .order_by()
            .values("case")
            .annotate(total=Sum("amount"))
            .values("total")[:1],
            output_field=MONEY,
        ),
        ZERO,
    )


def _owed():
    return (
        F("assignment__case__loan__outstanding_principal")
        + F("assignment__case__loan__interest_on_balance")
        + F("assignment__case__loan__interest_off_balance")
    )


def current_responsibilities(*, officers: Any) -> QuerySet[ResponsibilityShare]:
    """What "answers for N loans" counts, on every page: the officers' shares of the current
    divisions of open cases, wherever the case's branch (a person answers for all of them).

    `officers`: a user, or ids (a list or a subquery). The board and "My responsibilities" both
    count this queryset, so their numbers agree.
    """
    current = ResponsibilityShare.objects.filter(assignment__ended_on__isnull=True, assignment__case__is_open=True)
    if isinstance(officers, User):
        return current.filter(officer=officers)
    return current.filter(officer_id__in=officers)


def past_deadline(as_of: date) -> Q:
    """A share whose division's time limit has passed."""
    return Q(assignment__recovery_deadline__lt=as_of)


def _my_current_shares(user: Any) -> QuerySet[ResponsibilityShare]:
    return current_responsibilities(officers=user)


def my_responsibilities(*, user: Any) -> QuerySet[ResponsibilityShare]:
    """The user's shares of the current divisions of open cases, with what is owed and recovered."""
    return (
        _my_current_shares(user)
        .select_related(
            "assignment",
            "assignment__case",
            "assignment__case__loan",
            "assignment__case__loan__borrower",
            "assignment__branch",
        )
        .annotate(
            owed=ExpressionWrapper(_owed(), output_field=MONEY),
            my_part=ExpressionWrapper(_owed() * F("share") / Value(100), output_field=MONEY),
            cash_recovered=_recovered(Recovery.Form.CASH),
            in_kind_recovered=_recovered(Recovery.Form.IN_KIND),
        )
        .order_by("assignment__recovery_deadline", "assignment_id")
    )


@dataclass
class MySummary:
    cases: int
    owed: Decimal
    my_part: Decimal
    past_deadline: int
    # Time limits within the first reminder window (policy: 30 days by default).
    due_soon: int
    soon_days: int
    open_sanctions: int
    rewards_pending: int


def my_summary(*, user: Any, as_of: date) -> MySummary:
    soon_days = accountability_policy().first_reminder_days
    totals = (
        _my_current_shares(user)
        .order_by()
        .aggregate(
            cases=Count("id"),
            owed=Sum(_owed(), output_field=MONEY),
            my_part=Sum(_owed() * F("share") / Value(100), output_field=MONEY),
            past=Count("id", filter=past_deadline(as_of)),
            soon=Count(
                "id",
                filter=Q(assignment__recovery_deadline__gte=as_of)
                & Q(assignment__recovery_deadline__lte=as_of + timedelta(days=soon_days)),
            ),
        )
    )
    records = (
        AccountabilityRecord.objects.filter(officer=user, state__in=OPEN_RECORD_STATES)
        .order_by()
        .aggregate(
            sanctions=Count("id", filter=Q(kind=RecordKind.SANCTION)),
            rewards=Count("id", filter=Q(kind=RecordKind.REWARD)),
        )
    )
    return MySummary(
        cases=totals["cases"] or 0,
        owed=totals["owed"] or Decimal(0),
        my_part=totals["my_part"] or Decimal(0),
        past_deadline=totals["past"] or 0,
        due_soon=totals["soon"] or 0,
        soon_days=soon_days,
        open_sanctions=records["sanctions"] or 0,
        rewards_pending=records["rewards"] or 0,
    )


def my_records(*, user: Any) -> QuerySet[AccountabilityRecord]:
    return (
        AccountabilityRecord.objects.filter(officer=user)
        .select_related("loan", "case")
        .annotate(open_first=Case(When(state__in=OPEN_RECORD_STATES, then=0), default=1, output_field=IntegerField()))
        .order_by("open_first", "-created_at", "-id")
    )


# --- the manager's board ----------------------------------------------------------------------


def records_for_user(*, user: Any) -> QuerySet[AccountabilityRecord]:
    return AccountabilityRecord.objects.visible_to(user).select_related(
        "officer", "loan", "case", "branch", "proposed_by", "decided_by"
    )


def records_to_decide(*, user: Any) -> QuerySet[AccountabilityRecord]:
    """What a manager should act on first: sanctions to lift (recovered in time: without delay),
    then proposed rewards, then proposed sanctions; the oldest first."""
    return (
        records_for_user(user=user)
        .filter(state__in=TO_DECIDE_STATES)
        .annotate(
            priority=Case(
                When(state=RecordState.TO_BE_LIFTED, then=0),
                When(kind=RecordKind.REWARD, then=1),
                default=2,
                output_field=IntegerField(),
            )
        )
        .order_by("priority", "created_at", "id")
    )


@dataclass
class OfficerRow:
    officer_id: int
    name: str
    branch: str
    cases: int
    past_deadline: int
    sanctions_open: int
    sanctions_imposed: int
    rewards_open: int
    rewards_honoured: int
    compensation: Decimal
    bonus: Decimal


def officer_case_counts_direct(*, user: Any, as_of: date) -> dict[int, dict[str, int]]:
    """The officers answering for a loan the user may see, and all they answer for (the count their
    own page shows), and how many of those are past their time limit: aggregated from every current
    share. What the kept figures (`officer_case_counts`) must equal; SQLite's path."""
    officers_here = (
        ResponsibilityShare.objects.visible_to(user)
        .filter(assignment__ended_on__isnull=True, assignment__case__is_open=True)
        .values("officer_id")
    )
    return {
        r["officer_id"]: {"cases": r["cases"], "past": r["past"]}
        for r in current_responsibilities(officers=officers_here)
        .order_by()
        .values("officer_id")
        .annotate(cases=Count("id"), past=Count("id", filter=past_deadline(as_of)))
    }


def officer_case_counts(*, user: Any, as_of: date) -> dict[int, dict[str, int]]:
    """As `officer_case_counts_direct`, read from the kept tally (issue 15; PostgreSQL): one query
    that sums a few rows per officer instead of joining every current share of the book.

    The officers "here" are those with shares kept under the user's branches, and (for a user who
    answers for loans elsewhere, as `visible_to` allows) those sharing a current division of a
    loan the user answers for: a handful of indexed rows read directly.
    """
    if connection.vendor != "postgresql":
        return officer_case_counts_direct(user=user, as_of=as_of)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    branch_ids = visible_branch_ids(user)
    tally = ResponsibilityTally.objects.order_by()
    condition = Q()  # the whole bank: every officer who answers for something
    if branch_ids is not None:
        here = tally.filter(branch_id__in=branch_ids)
        condition = Q(
            officer_id__in=here.values("officer_id").annotate(n=Sum("shares")).filter(n__gt=0).values("officer_id")
        )
        for answered in answered_loan_ids(user):
            condition |= Q(
                officer_id__in=ResponsibilityShare.objects.filter(
                    assignment__loan_id__in=answered,
                    assignment__ended_on__isnull=True,
                    assignment__case__is_open=True,
                ).values("officer_id")
            )
    rows = (
        tally.filter(condition)
        .values("officer_id")
        .annotate(cases=Sum("shares"), past=Coalesce(Sum("shares", filter=Q(recovery_deadline__lt=as_of)), 0))
        .filter(cases__gt=0)
    )
    return {r["officer_id"]: {"cases": r["cases"], "past": r["past"]} for r in rows}


def records_by_officer(*, user: Any, as_of: date) -> list[OfficerRow]:
    """Per officer in the user's branches: current responsibilities (and how many are past their
    time limit: "pay off first, then lend more"; kept figures, `officer_case_counts`) and their
    sanctions and rewards (one GROUP BY)."""
    records = {
        r["officer_id"]: r
        for r in AccountabilityRecord.objects.visible_to(user)
        .order_by()
        .values("officer_id")
        .annotate(
            sanctions_open=Count("id", filter=Q(kind=RecordKind.SANCTION, state__in=TO_DECIDE_STATES)),
            sanctions_imposed=Count("id", filter=Q(kind=RecordKind.SANCTION, state=RecordState.IMPOSED)),
            rewards_open=Count("id", filter=Q(kind=RecordKind.REWARD, state__in=OPEN_RECORD_STATES)),
            rewards_honoured=Count("id", filter=Q(kind=RecordKind.REWARD, state=RecordState.HONOURED)),
            compensation=Sum("amount", filter=Q(record_type="compensation", state=RecordState.IMPOSED)),
            bonus=Sum("amount", filter=Q(record_type="bonus", state__in=[RecordState.IMPOSED, RecordState.HONOURED])),
        )
    }
    cases = officer_case_counts(user=user, as_of=as_of)
    ids = set(records) | set(cases)
    people = {u.pk: u for u in User.objects.filter(pk__in=ids).select_related("branch")}
    rows = []
    for officer_id in ids:
        r, c, u = records.get(officer_id, {}), cases.get(officer_id, {}), people.get(officer_id)
        rows.append(
            OfficerRow(
                officer_id=officer_id,
                name=u.display_name if u else str(officer_id),
                branch=u.branch.name if u and u.branch else "",
                cases=c.get("cases", 0),
                past_deadline=c.get("past", 0),
                sanctions_open=r.get("sanctions_open", 0),
                sanctions_imposed=r.get("sanctions_imposed", 0),
                rewards_open=r.get("rewards_open", 0),
                rewards_honoured=r.get("rewards_honoured", 0),
                compensation=r.get("compensation") or Decimal(0),
                bonus=r.get("bonus") or Decimal(0),
            )
        )
    rows.sort(key=lambda row: (-row.past_deadline, -row.sanctions_open, row.name))
    return rows


def record_detail_for_user(*, user: Any, pk: int) -> AccountabilityRecord:
    return get_for_user_or_404(
        AccountabilityRecord.objects.select_related(
            "officer",
            "loan",
            "loan__borrower",
            "case",
            "branch",
            "assignment",
            "proposed_by",
            "decided_by",
            "closed_by",
        ),
        user,
        pk=pk,
    )


def record_history(*, record: AccountabilityRecord) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(subject_type=AccountabilityRecord._meta.label_lower, subject_id=record.pk)
        .select_related("actor")
        .order_by("created_at", "id")
    )


# --- responsibility of one case ----------------------------------------------------------------


def case_for_user(*, user: Any, pk: int) -> CollectionCase:
    return get_for_user_or_404(
        CollectionCase.objects.select_related("loan", "loan__borrower", "branch", "officer"), user, pk=pk
    )


def case_cause(*, case: CollectionCase) -> CaseCause | None:
    """Why the case's loan went bad, with the staff concerned (two queries), or None."""
    return CaseCause.objects.filter(case=case).select_related("recorded_by").prefetch_related("shares__person").first()


def case_divisions(*, case: CollectionCase) -> list[ResponsibilityAssignment]:
    """Every division of the case, the current one first, with its shares (two queries)."""
    return list(
        ResponsibilityAssignment.objects.filter(case=case)
        .select_related("assigned_by", "lead_officer")
        .prefetch_related("shares__officer")
        .order_by(F("ended_on").desc(nulls_first=True), "-starts_on", "-id")
    )


# --- prevention --------------------------------------------------------------------------------


def latest_watch_list_day() -> date | None:
    return WatchListEntry.objects.aggregate(d=Max("as_of"))["d"]


def watch_list_for_user(*, user: Any, as_of: date | None) -> QuerySet[WatchListEntry]:
    if as_of is None:
        return WatchListEntry.objects.none()
    return (
        WatchListEntry.objects.visible_to(user)
        .filter(as_of=as_of)
        .select_related("loan", "loan__borrower", "branch", "officer")
    )


def flags_for_user(*, user: Any) -> QuerySet[LoansByLoansFlag]:
    return LoansByLoansFlag.objects.visible_to(user).select_related(
        "new_loan",
        "new_loan__borrower",
        "overdue_loan",
        "overdue_loan__borrower",
        "branch",
        "lending_officer",
        "ledger_entry",
    )


def last_check_runs() -> list[DailyCheckRun]:
    """The latest run of each check (for the board's status line): one query."""
    latest = DailyCheckRun.objects.order_by().values("check_name").annotate(last=Max("id")).values("last")
    return list(DailyCheckRun.objects.filter(pk__in=Subquery(latest)).order_by("check_name"))
