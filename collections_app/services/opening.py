"""Opening cases: by hand for one loan, and for every non-performing loan by the daily checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from audit.models import AuditEvent
from collections_app.case_rules import default_recovery_deadline, limitation_expires, urgency_date
from collections_app.models import CollectionCase
from collections_app.policy import collection_policy
from collections_app.services._common import CASE_SUBJECT, _audit, _require_reason
from collections_app.services.dates import _refresh_dates, cases_refresh_dates
from loans.classification import NON_PERFORMING_FIVE, add_months
from loans.models import Loan, User
from loans.policy import classification_policy
from npl_recovery.db import analyze_after_bulk_write


def _may_open(actor: Any, loan: Loan) -> None:
    role = getattr(actor, "role", "")
    if role not in ("officer", "manager") or not Loan.objects.visible_to(actor).filter(pk=loan.pk).exists():
        raise PermissionDenied("Only an officer or a manager of the loan's branch may open a case for it.")


@transaction.atomic
def case_open(*, loan: Loan, actor: User, as_of: date, reason: str) -> CollectionCase:
    """Open a case by hand for a non-performing loan that has none open."""
    _may_open(actor, loan)
    reason = _require_reason(reason)
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.five_level_class not in NON_PERFORMING_FIVE:
        raise ValidationError(
            f"Loan {loan.loan_no} is {loan.get_five_level_class_display().lower()}: cases are opened for "
            "non-performing loans (substandard, doubtful, loss)."
        )
    if loan.total_owed <= 0:
        raise ValidationError(f"Nothing is owed on loan {loan.loan_no}.")
    if CollectionCase.objects.filter(loan=loan, is_open=True).exists():
        raise ValidationError(f"Loan {loan.loan_no} already has an open case.")
    policy = collection_policy()
    deadline = default_recovery_deadline(as_of, policy)
    case = CollectionCase(
        loan=loan,
        branch_id=loan.branch_id,
        officer_id=loan.responsible_officer_id,
        recovery_deadline=deadline,
        opened_on=as_of,
        opened_by=actor,
        opening_reason=reason[:300],
        measure_since=as_of,
        urgency_on=deadline,
    )
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as exc:  # a concurrent opener won
        raise ValidationError(f"Loan {loan.loan_no} already has an open case.") from exc
    _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.opened",
        new={"loan": loan.pk, "measure": case.measure, "officer": case.officer_id, "recovery_deadline": deadline},
        reason=reason,
    )
    case.refresh_from_db()
    return case


# Which loans need a case, read in a statement of its own: an anti-join against the table that the
# same statement inserts into goes quadratic when the planner believes that table empty.
_PG_OPEN_TODO = """
SELECT l.id FROM loans_loan l
 WHERE l.five_level_class IN ('substandard', 'doubtful', 'loss')
   AND l.outstanding_principal + l.interest_on_balance + l.interest_off_balance > 0
   AND (%(ids)s::bigint[] IS NULL OR l.id = ANY(%(ids)s::bigint[]))
   -- a loan holding a case, or whose last case was closed (recourse exhausted), gets no new one
   AND NOT EXISTS (SELECT 1 FROM collections_app_collectioncase c
                    WHERE c.loan_id = l.id AND (c.is_open OR c.measure = 'closed'))
   -- a revitalised loan in its observation period is non-performing by the floor, not by arrears
   AND NOT (l.restructured_on IS NOT NULL AND l.restructured_on > %(observation_start)s
            AND l.overdue_since IS NULL)
 ORDER BY l.id
"""
_PG_OPEN = """
WITH ins AS (
    INSERT INTO collections_app_collectioncase (
        loan_id, branch_id, measure, is_open, officer_id, recovery_deadline, opened_on, opened_by_id,
        opening_reason, measure_since, ended_on, next_promise_due, limitation_starts_on,
        limitation_expires_on, urgency_on, created_at, updated_at)
    SELECT l.id, l.branch_id, 'responsibility', true, l.responsible_officer_id, %(deadline)s, %(as_of)s,
           %(actor)s, %(reason)s, %(as_of)s, NULL, NULL, l.overdue_since,
           (l.overdue_since + make_interval(years => %(years)s))::date,
           -- LEAST ignores NULLs: a loan without an overdue date is due by its time limit.
           LEAST(%(deadline)s::date, (l.overdue_since + make_interval(years => %(years)s))::date),
           %(now)s, %(now)s
      FROM loans_loan l
     WHERE l.id = ANY(%(todo)s::bigint[])
    -- case_one_open_per_loan: a concurrent run opens nothing more
    ON CONFLICT DO NOTHING
    RETURNING id, branch_id, loan_id, officer_id
)
INSERT INTO audit_auditevent (event_type, actor_id, subject_type, subject_id, branch_id, old_values,
                              new_values, reason, created_at)
SELECT 'case.opened', %(actor)s, %(subject)s, ins.id, ins.branch_id, '{}'::jsonb,
       jsonb_build_object('loan', ins.loan_id, 'measure', 'responsibility', 'officer', ins.officer_id,
                          'recovery_deadline', %(deadline_text)s),
       %(reason)s, %(now)s
  FROM ins
"""


def cases_open_for_non_performing(
    *, as_of: date, actor: User | None = None, loan_ids: Iterable[int] | None = None
) -> int:
    """Open a case for every non-performing loan that has none open; returns how many were opened.

    Set-based on PostgreSQL (one SELECT of the loans, then INSERT ... SELECT in chunks) and
    idempotent: the partial unique index `case_one_open_per_loan` makes a second run, or two runs
    at once, open nothing more.
    `loan_ids` limits it to some loans (the classification signal passes the loans that just
    became non-performing).
    """
    policy = collection_policy()
    deadline = default_recovery_deadline(as_of, policy)
    observation_start = add_months(as_of, -classification_policy().restructured_observation_months)
    reason = "Opened automatically: the loan is non-performing."
    ids = None if loan_ids is None else sorted(set(loan_ids))
    if ids is not None and not ids:
        return 0
    actor_id = getattr(actor, "pk", None)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_PG_OPEN_TODO, {"ids": ids, "observation_start": observation_start})
                todo = [row[0] for row in cursor.fetchall()]
                opened = 0
                for start in range(0, len(todo), 20_000):
                    cursor.execute(
                        _PG_OPEN,
                        {
                            "as_of": as_of,
                            "deadline": deadline,
                            "deadline_text": deadline.isoformat(),
                            "years": policy.limitation_years,
                            "actor": actor_id,
                            "reason": reason,
                            "now": timezone.now(),
                            "todo": todo[start : start + 20_000],
                            "subject": CASE_SUBJECT,
                        },
                    )
                    opened += cursor.rowcount
            # The first divisions of responsibility are made from these rows next.
            analyze_after_bulk_write(CollectionCase._meta.db_table, rows=opened)
            if opened and ids is not None and len(ids) <= 5000:
                # Loans with an earlier (finished) case keep their limitation history.
                _refresh_reopened(ids)
            return opened
        return _open_portable(
            as_of=as_of,
            deadline=deadline,
            actor_id=actor_id,
            reason=reason,
            ids=ids,
            observation_start=observation_start,
        )


def _refresh_reopened(loan_ids: list[int]) -> None:
    reopened = CollectionCase.objects.filter(loan_id__in=loan_ids, is_open=True).filter(
        Exists(CollectionCase.objects.filter(loan=OuterRef("loan"), is_open=False))
    )
    cases_refresh_dates(case_ids=list(reopened.values_list("pk", flat=True)))


def _open_portable(
    *, as_of: date, deadline: date, actor_id: int | None, reason: str, ids: list[int] | None, observation_start: date
) -> int:
    """The same as _PG_OPEN with the ORM, for SQLite (whose writers are serialised anyway)."""
    policy = collection_policy()
    loans = (
        Loan.objects.filter(five_level_class__in=[c.value for c in NON_PERFORMING_FIVE])
        .exclude(
            Exists(CollectionCase.objects.filter(loan=OuterRef("pk")).filter(Q(is_open=True) | Q(measure="closed")))
        )
        .exclude(restructured_on__gt=observation_start, overdue_since__isnull=True)
    )
    if ids is not None:
        loans = loans.filter(pk__in=ids)
    new_cases = []
    for loan in loans.only(
        "id",
        "branch_id",
        "responsible_officer_id",
        "overdue_since",
        "outstanding_principal",
        "interest_on_balance",
        "interest_off_balance",
    ):
        if loan.total_owed <= 0:
            continue
        expires = limitation_expires(loan.overdue_since, policy)
        new_cases.append(
            CollectionCase(
                loan_id=loan.pk,
                branch_id=loan.branch_id,
                officer_id=loan.responsible_officer_id,
                recovery_deadline=deadline,
                opened_on=as_of,
                opened_by_id=actor_id,
                opening_reason=reason,
                measure_since=as_of,
                limitation_starts_on=loan.overdue_since,
                limitation_expires_on=expires,
                urgency_on=urgency_date(deadline, expires),
            )
        )
    CollectionCase.objects.bulk_create(new_cases, batch_size=1000)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                event_type="case.opened",
                actor_id=actor_id,
                subject_type=CASE_SUBJECT,
                subject_id=c.pk,
                branch_id=c.branch_id,
                new_values={
                    "loan": c.loan_id,
                    "measure": "responsibility",
                    "officer": c.officer_id,
                    "recovery_deadline": deadline.isoformat(),
                },
                reason=reason,
            )
            for c in new_cases
        ],
        batch_size=1000,
    )
    if new_cases:
        _refresh_reopened([c.loan_id for c in new_cases])
    return len(new_cases)
