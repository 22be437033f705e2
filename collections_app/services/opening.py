"""Opening cases: by hand for one loan, and for every non-performing loan by the daily checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_system_run
from collections_app.case_rules import (
    CollectionPolicy,
    Measure,
    case_emphasis,
    default_recovery_deadline,
    limitation_expires,
    may_open_case,
    urgency_date,
)
from collections_app.models import CaseOpeningRun, CollectionCase
from collections_app.policy import collection_policy
from collections_app.selectors import emphasis_expression, loans_needing_a_case, opening_facts
from collections_app.services._common import _audit, _require_reason
from collections_app.services.dates import _refresh_dates, cases_refresh_dates
from loans.models import Loan, User
from loans.permissions import role_allows
from loans.policy import classification_policy
from npl_recovery.db import advisory_xact_lock, analyze_after_bulk_write


def _may_open(actor: Any, loan: Loan) -> None:
    if (
        not role_allows(actor, "collections_app.open_case")
        or not Loan.objects.visible_to(actor).filter(pk=loan.pk).exists()
    ):
        raise PermissionDenied(_("Only an officer or a manager of the loan's branch may open a case for it."))


@transaction.atomic
def case_open(*, loan: Loan, actor: User, as_of: date, reason: str) -> CollectionCase:
    """Open a case by hand for a loan that may have one (case_rules.may_open_case)."""
    _may_open(actor, loan)
    reason = _require_reason(reason)
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    policy = collection_policy()
    refusal = may_open_case(opening_facts(loan=loan, as_of=as_of), as_of, classification_policy(), policy)
    if refusal:
        raise ValidationError(refusal)
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
        emphasis=case_emphasis(
            insider=bool(loan.borrower.insider_kind),
            five_level_class=loan.five_level_class,
            four_level_class=loan.four_level_class,
        ),
    )
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as exc:  # a concurrent opener won
        raise ValidationError(_("Loan %(loan)s already has an open case.") % {"loan": loan.loan_no}) from exc
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


# The advisory lock the set-based opener holds until its transaction ends.
OPENER_LOCK = "npl-case-opener"

# Stored with the case and in the audit trail: data, kept in one language (not translated).
OPENING_REASON = "Opened automatically: the loan is non-performing."

# The loans come from the selector's own SQL (no copy of the rule here). ARRAY(...) is computed whole
# before the first row is inserted, so its anti-join against the cases table never scans the rows
# this statement inserts (which goes quadratic when the planner believes that table empty).
_PG_OPEN = """
WITH opened AS (
    INSERT INTO collections_app_collectioncase (
        loan_id, branch_id, measure, is_open, officer_id, recovery_deadline, opened_on, opened_by_id,
        opening_reason, measure_since, ended_on, next_promise_due, limitation_starts_on,
        limitation_expires_on, urgency_on, created_at, updated_at, emphasis)
    SELECT l.id, l.branch_id, %s, true, l.responsible_officer_id, %s, %s, %s, %s, %s, NULL, NULL,
           l.overdue_since,
           (l.overdue_since + make_interval(years => %s))::date,
           -- LEAST ignores NULLs: a loan without an overdue date is due by its time limit.
           LEAST(%s::date, (l.overdue_since + make_interval(years => %s))::date),
           %s, %s,
           -- the guideline's emphasis (selectors.emphasis_expression, compiled by the ORM)
           (<emphasis>)
      FROM loans_loan l
     WHERE l.id = ANY(ARRAY(<eligible loans>))
     ORDER BY l.id
    -- case_one_open_per_loan: a concurrent run opens nothing more
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT count(*), min(id), max(id) FROM opened
"""


def cases_open_for_non_performing(
    *, as_of: date, actor: User | None = None, loan_ids: Iterable[int] | None = None
) -> int:
    """Open a case for every loan that may have one (selectors.loans_needing_a_case); returns how many.

    Set-based on PostgreSQL (one INSERT ... SELECT) and idempotent: the partial unique index
    `case_one_open_per_loan` makes a second run, or two runs at once, open nothing more.
    `loan_ids` limits it to some loans (the classification signal passes the loans that just
    became non-performing). A run that opens cases records one CaseOpeningRun and one system audit
    event pointing to them; `actor` is the person whose change triggered it (None: the checks).
    """
    return _open_cases(as_of=as_of, actor=actor, loan_ids=loan_ids, set_based=connection.vendor == "postgresql")


def _open_cases(*, as_of: date, actor: User | None, loan_ids: Iterable[int] | None, set_based: bool) -> int:
    """Both paths behind one door, so a test can run each on the same PostgreSQL data and compare."""
    if loan_ids is not None:
        loan_ids = sorted(set(loan_ids))
        if not loan_ids:
            return 0
    policy = collection_policy()
    deadline = default_recovery_deadline(as_of, policy)
    actor_id = getattr(actor, "pk", None)
    eligible = loans_needing_a_case(as_of=as_of, loan_ids=loan_ids)
    with transaction.atomic():
        if set_based:
            # One opener at a time until its commit, so that the ids of the cases a run opens are its
            # own range (its CaseOpeningRun and audit event name them by first and last id): the
            # reclassification's writers open the cases of two batches at once.
            advisory_xact_lock(OPENER_LOCK)
            opened, first_id, last_id = _open_postgresql(
                eligible, as_of=as_of, deadline=deadline, actor_id=actor_id, reason=OPENING_REASON, policy=policy
            )
            # The first divisions of responsibility are made from these rows next.
            analyze_after_bulk_write(CollectionCase._meta.db_table, rows=opened)
        else:
            opened, first_id, last_id = _open_portable(
                eligible, as_of=as_of, deadline=deadline, actor_id=actor_id, reason=OPENING_REASON, policy=policy
            )
        if opened:
            _refresh_reopened(first_id, last_id)
            _record_run(as_of=as_of, actor_id=actor_id, opened=opened, first_id=first_id, last_id=last_id)
        return opened


def _open_postgresql(
    eligible: QuerySet[Loan],
    *,
    as_of: date,
    deadline: date,
    actor_id: int | None,
    reason: str,
    policy: CollectionPolicy,
) -> tuple[int, int | None, int | None]:
    eligible_sql, eligible_params = eligible.values("pk").query.sql_with_params()
    # The same rule the queue's refresh uses, for the row being inserted (l is the outer loan).
    emphasis = Loan.objects.filter(pk=RawSQL("l.id", ())).annotate(value=emphasis_expression()).values("value")[:1]
    emphasis_sql, emphasis_params = emphasis.query.sql_with_params()
    now = timezone.now()
    params = [
        Measure.RESPONSIBILITY.value,
        deadline,
        as_of,
        actor_id,
        reason,
        as_of,
        policy.limitation_years,
        deadline,
        policy.limitation_years,
        now,
        now,
        *emphasis_params,
        *eligible_params,
    ]
    sql = _PG_OPEN.replace("<emphasis>", emphasis_sql).replace("<eligible loans>", eligible_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        opened, first_id, last_id = cursor.fetchone()
    return opened, first_id, last_id


def _open_portable(
    eligible: QuerySet[Loan],
    *,
    as_of: date,
    deadline: date,
    actor_id: int | None,
    reason: str,
    policy: CollectionPolicy,
) -> tuple[int, int | None, int | None]:
    """The same as _PG_OPEN with the ORM, for SQLite (whose writers are serialised anyway)."""
    new_cases = []
    for loan in eligible.only("id", "branch_id", "responsible_officer_id", "overdue_since").annotate(
        emphasis=emphasis_expression()
    ):
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
                emphasis=loan.emphasis,
            )
        )
    CollectionCase.objects.bulk_create(new_cases, batch_size=1000)
    ids = [c.pk for c in new_cases]
    return len(ids), min(ids, default=None), max(ids, default=None)


def _refresh_reopened(first_id: int, last_id: int) -> None:
    """Loans with an earlier (finished) case keep their limitation history in the new case's dates."""
    reopened = CollectionCase.objects.filter(pk__gte=first_id, pk__lte=last_id, is_open=True).filter(
        Exists(CollectionCase.objects.filter(loan=OuterRef("loan"), is_open=False))
    )
    cases_refresh_dates(case_ids=list(reopened.values_list("pk", flat=True)))


def _record_run(*, as_of: date, actor_id: int | None, opened: int, first_id: int, last_id: int) -> None:
    """One system audit event per run, pointing to the cases it opened (not one event per case)."""
    run = CaseOpeningRun.objects.create(
        as_of=as_of, actor_id=actor_id, opened=opened, first_case_id=first_id, last_case_id=last_id
    )
    audit_system_run(
        event_type="cases_opened",
        subject=run,
        summary={
            "as_of": as_of,
            "opened": opened,
            "first_case_id": first_id,
            "last_case_id": last_id,
            "actor": actor_id,
        },
        reason=OPENING_REASON,
    )
