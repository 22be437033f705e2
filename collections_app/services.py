"""Every write to a collection case. Views, the admin, tasks and commands call these and nothing else.

Each service takes keyword arguments and the acting user (`actor`), runs in one transaction,
locks the case row, checks the rules in collections_app/case_rules.py, writes, and records an
audit event in the same transaction. Side effects (the loan's reclassification signal) go out on
commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, Subquery
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from audit.models import AuditEvent
from audit.services import AuditRow, audit_record, audit_records_bulk
from collections_app.case_rules import (
    MEASURE_LABELS,
    Measure,
    Owed,
    RecoveryExceedsDebt,
    allocate_recovery,
    approval_refusal,
    default_recovery_deadline,
    entry_refusal,
    limitation_expires,
    limitation_start,
    may_work,
    move_refusal,
    needs_manager,
    sources_of,
    urgency_date,
)
from collections_app.models import (
    AssetInKind,
    CaseRequest,
    CollectionCase,
    Contact,
    GuarantorDemand,
    LegalProceeding,
    LegalStep,
    MeasureChange,
    Notice,
    PromiseToPay,
    Recovery,
)
from collections_app.policy import collection_policy
from loans.classification import NON_PERFORMING_FIVE, add_months
from loans.models import Collateral, Guarantee, Loan, User
from loans.policy import classification_policy
from npl_recovery.db import analyze_after_bulk_write

CENT = Decimal("0.01")
CASE_SUBJECT = CollectionCase._meta.label_lower


class CaseChanged(Exception):
    """Someone else moved the case between the moment the user saw it and their action."""

    def __init__(self, now: str | None = None) -> None:
        where = f" It is now in {MEASURE_LABELS[Measure(now)].lower()}." if now else ""
        super().__init__(f"Someone changed this case while you were working on it.{where} Reload it and try again.")


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _require_reason(reason: str, field: str = "reason") -> str:
    if not reason or not reason.strip():
        raise ValidationError({field: "Give a reason."})
    return reason.strip()


def _lock(case: CollectionCase) -> CollectionCase:
    """Lock the case row for this transaction and return a fresh copy of it (loan loaded)."""
    return (
        CollectionCase.objects.select_for_update(of=("self",)).select_related("loan", "loan__borrower").get(pk=case.pk)
    )


def _require_work(case: CollectionCase, actor: Any) -> None:
    refusal = may_work(case.actor_facts(actor))
    if refusal:
        raise PermissionDenied(refusal)
    if not case.is_open:
        raise ValidationError(f"The case is {case.get_measure_display().lower()}: nothing more is recorded on it.")


def _audit(case: CollectionCase, actor: Any, event: str, *, old=None, new=None, reason: str = "") -> None:
    audit_record(actor=actor, event_type=event, subject=case, branch_id=case.branch_id, old=old, new=new, reason=reason)


# --- the dates the queue orders by -------------------------------------------------------------


def _limitation_inputs(loan_id_ref: Any) -> dict[str, Any]:
    """Subqueries for the latest payment, signed notice and written acknowledgement on a loan."""
    return {
        "last_recovery": Subquery(
            Recovery.objects.filter(case__loan=loan_id_ref)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("received_on"))
            .values("d")[:1]
        ),
        "last_signed_notice": Subquery(
            Notice.objects.filter(case__loan=loan_id_ref, signed_acknowledgement=True)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("served_on"))
            .values("d")[:1]
        ),
        "last_acknowledgement": Subquery(
            Contact.objects.filter(case__loan=loan_id_ref, debt_acknowledged=True)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("contacted_on"))
            .values("d")[:1]
        ),
    }


def cases_refresh_dates(*, case_ids: Iterable[int] | None = None, batch_size: int = 2000) -> int:
    """Recompute next promise due, limitation dates and urgency of open cases; returns rows changed.

    The services call it for the case they touch; the daily checks may call it for every open case
    (the loan's overdue date can change through an import). Set-based reads, bulk writes.
    """
    policy = collection_policy()
    base = CollectionCase.objects.filter(is_open=True)
    if case_ids is not None:
        base = base.filter(pk__in=list(case_ids))
    changed = 0
    last_id = 0
    while True:
        rows = list(
            base.filter(pk__gt=last_id)
            .order_by("pk")
            .annotate(
                overdue_since=Subquery(Loan.objects.filter(pk=OuterRef("loan_id")).values("overdue_since")[:1]),
                promise_due=Subquery(
                    PromiseToPay.objects.filter(case=OuterRef("pk"), status=PromiseToPay.Status.OPEN)
                    .order_by()
                    .values("case")
                    .annotate(d=Min("due_on"))
                    .values("d")[:1]
                ),
                **_limitation_inputs(OuterRef("loan_id")),
            )[:batch_size]
        )
        if not rows:
            break
        last_id = rows[-1].pk
        updates = []
        for case in rows:
            start = limitation_start(
                overdue_since=case.overdue_since,
                last_recovery_on=case.last_recovery,
                last_signed_notice_on=case.last_signed_notice,
                last_acknowledgement_on=case.last_acknowledgement,
            )
            expires = limitation_expires(start, policy)
            urgency = urgency_date(case.recovery_deadline, case.promise_due, expires)
            new = (case.promise_due, start, expires, urgency)
            if new != (case.next_promise_due, case.limitation_starts_on, case.limitation_expires_on, case.urgency_on):
                case.next_promise_due, case.limitation_starts_on, case.limitation_expires_on, case.urgency_on = new
                updates.append(case)
        if updates:
            # Plain UPDATEs of the date columns: the measure is not touched, so no state check is needed.
            for case in updates:
                CollectionCase.objects.filter(pk=case.pk).update(
                    next_promise_due=case.next_promise_due,
                    limitation_starts_on=case.limitation_starts_on,
                    limitation_expires_on=case.limitation_expires_on,
                    urgency_on=case.urgency_on,
                )
            changed += len(updates)
    return changed


def _refresh_dates(case: CollectionCase) -> None:
    cases_refresh_dates(case_ids=[case.pk])


# --- opening --------------------------------------------------------------------------------------


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


# --- responsibility and the team -----------------------------------------------------------------


@transaction.atomic
def case_set_responsibility(
    *, case: CollectionCase, officer: User, recovery_deadline: date, actor: User | None, reason: str
) -> CollectionCase:
    """Set the case's lead responsible officer and recovery time limit.

    Called by the accountability app when it records a new division of responsibility (it keeps
    the history and the shares); `actor` is the manager deciding, or None for the system.
    """
    case = _lock(case)
    if actor is not None:
        facts = case.actor_facts(actor)
        if facts.role != "manager" or not facts.in_scope:
            raise PermissionDenied("Only a manager of the case's branches assigns its officer and time limit.")
    reason = _require_reason(reason)
    if not officer.is_active or officer.role not in ("officer", "manager"):
        raise ValidationError({"officer": f"{officer} is not an active officer or manager."})
    if not CollectionCase.objects.visible_to(officer).filter(pk=case.pk).exists():
        raise ValidationError({"officer": f"{officer.display_name} does not work in the case's branch."})
    if recovery_deadline < case.opened_on:
        raise ValidationError({"recovery_deadline": "The time limit cannot be before the case was opened."})
    old = {"officer": case.officer_id, "recovery_deadline": case.recovery_deadline}
    CollectionCase.objects.filter(pk=case.pk).update(
        officer=officer, recovery_deadline=recovery_deadline, updated_at=timezone.now()
    )
    _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.responsibility_set",
        old=old,
        new={"officer": officer.pk, "recovery_deadline": recovery_deadline},
        reason=reason,
    )
    case.refresh_from_db()
    return case


@transaction.atomic
def case_team_set(*, case: CollectionCase, members: Iterable[User], actor: User, reason: str) -> CollectionCase:
    """Name the special team (the entry condition of measure 4 needs at least two members)."""
    case = _lock(case)
    _require_work(case, actor)
    reason = _require_reason(reason)
    members = list(members)
    for member in members:
        if not member.is_active or not CollectionCase.objects.visible_to(member).filter(pk=case.pk).exists():
            raise ValidationError({"members": f"{member.display_name} does not work in the case's branch."})
    old = sorted(case.team_members.values_list("pk", flat=True))
    case.team_members.set(members)
    _audit(case, actor, "case.team_set", old={"team": old}, new={"team": sorted(m.pk for m in members)}, reason=reason)
    return case


# --- moves ----------------------------------------------------------------------------------------


def _perform_move(
    *, case: CollectionCase, target: Measure, actor: User, as_of: date, reason: str, request: CaseRequest | None = None
) -> None:
    """Check, transition, save, record. `case` is the instance the user acted on (its state is checked)."""
    refusal = entry_refusal(target, case.entry_facts())
    if refusal:
        raise ValidationError(refusal)
    role_refusal = move_refusal(target, case.actor_facts(actor))
    if role_refusal:
        raise PermissionDenied(role_refusal)
    old = case.measure
    try:
        case.transition_method(target.value)(on=as_of)
    except TransitionNotAllowed as exc:
        raise ValidationError(f"{target.label} is not possible from {MEASURE_LABELS[Measure(old)].lower()}.") from exc
    try:
        # ConcurrentTransitionMixin: UPDATE ... WHERE measure = <the state this instance was read in>.
        with transaction.atomic():  # a savepoint, so the state can still be read after a lost race
            case.save(update_fields=["measure", "measure_since", "ended_on", "is_open", "updated_at"])
    except ConcurrentTransition as exc:
        now = CollectionCase.objects.filter(pk=case.pk).values_list("measure", flat=True).first()
        raise CaseChanged(now) from exc
    MeasureChange.objects.create(
        case=case,
        from_measure=old,
        to_measure=target.value,
        changed_on=as_of,
        actor=actor,
        request=request,
        reason=reason,
    )
    # Requests the case has moved past can no longer be approved.
    lapsed = [t.value for t in Measure if Measure(case.measure) not in sources_of(t)]
    pending = CaseRequest.objects.filter(case=case, status=CaseRequest.Status.REQUESTED, target__in=lapsed)
    if request is not None:
        pending = pending.exclude(pk=request.pk)
    pending.update(
        status=CaseRequest.Status.LAPSED,
        decided_at=timezone.now(),
        decision_reason=f"The case moved to {target.label}.",
    )
    _audit(case, actor, "case.moved", old={"measure": old}, new={"measure": target.value}, reason=reason)


def _check_seen(case: CollectionCase, seen_measure: str | None) -> None:
    """Lock the row; the state the user saw (and this instance holds) must still be the state."""
    current = (
        CollectionCase.objects.select_for_update(of=("self",))
        .filter(pk=case.pk)
        .values_list("measure", flat=True)
        .get()
    )
    if seen_measure is not None and seen_measure != case.measure:
        raise CaseChanged(case.measure)
    if seen_measure is not None and current != seen_measure:
        raise CaseChanged(current)


@transaction.atomic
def case_move(
    *,
    case: CollectionCase,
    target: str,
    actor: User,
    as_of: date,
    reason: str = "",
    seen_measure: str | None = None,
) -> CollectionCase:
    """Move a case now, for the moves an officer may make (collaborative, pressure, recovered).

    `seen_measure` is the measure the user saw when they chose the move; if the case has moved
    since, or moves while this runs, CaseChanged is raised and nothing is written.
    """
    target = Measure(target)
    if needs_manager(target):
        raise ValidationError(f"{target.label} needs a manager's approval: request it.")
    _check_seen(case, seen_measure)
    _perform_move(case=case, target=target, actor=actor, as_of=as_of, reason=reason.strip())
    return case


@transaction.atomic
def case_request_create(
    *, case: CollectionCase, target: str, actor: User, as_of: date, reason: str, seen_measure: str | None = None
) -> CaseRequest:
    """Ask a manager for a move that needs one (legal, special team, disposal, revitalise, write off, close)."""
    target = Measure(target)
    if not needs_manager(target):
        raise ValidationError(f"{target.label} needs no approval: move the case directly.")
    _check_seen(case, seen_measure)
    refusal = may_work(case.actor_facts(actor))
    if refusal:
        raise PermissionDenied(refusal)
    reason = _require_reason(reason)
    refusal = entry_refusal(target, case.entry_facts())
    if refusal:
        raise ValidationError(refusal)
    try:
        with transaction.atomic():
            request = CaseRequest.objects.create(
                case=case, target=target.value, requested_by=actor, requested_on=as_of, reason=reason
            )
    except IntegrityError as exc:
        raise ValidationError(f"{target.label} is already requested for this case.") from exc
    _audit(case, actor, "case.move_requested", new={"request": request.pk, "target": target.value}, reason=reason)
    return request


def _lock_request(request: CaseRequest) -> tuple[CaseRequest, CollectionCase]:
    case = _lock(request.case)
    request = CaseRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    if request.status != CaseRequest.Status.REQUESTED:
        raise ValidationError(f"This request is already {request.get_status_display().lower()}.")
    return request, case


@transaction.atomic
def case_request_approve(*, request: CaseRequest, actor: User, as_of: date, reason: str = "") -> CollectionCase:
    """A manager of the case's branches, not the requester, approves: the case moves now."""
    request, case = _lock_request(request)
    refusal = approval_refusal(case.actor_facts(actor), request.requested_by_id)
    if refusal:
        raise PermissionDenied(refusal)
    target = Measure(request.target)
    _perform_move(
        case=case, target=target, actor=actor, as_of=as_of, reason=reason.strip() or request.reason, request=request
    )
    CaseRequest.objects.filter(pk=request.pk, status=CaseRequest.Status.REQUESTED).update(
        status=CaseRequest.Status.APPROVED, decided_by=actor, decided_at=timezone.now(), decision_reason=reason.strip()
    )
    _apply_to_loan(case=case, target=target, actor=actor, as_of=as_of)
    _audit(
        case,
        actor,
        "case.request_approved",
        old={"request": request.pk, "status": "requested"},
        new={"request": request.pk, "status": "approved", "target": target.value},
        reason=reason.strip(),
    )
    return case


def _apply_to_loan(*, case: CollectionCase, target: Measure, actor: User, as_of: date) -> None:
    """What an approved end of a case means for the loan itself."""
    from loans.services import loan_classify

    if target == Measure.WRITTEN_OFF:
        loan = Loan.objects.select_for_update().get(pk=case.loan_id)
        loan.written_off_on = as_of
        loan.save(update_fields=["written_off_on", "updated_at"])
        loan_classify(loan=loan, as_of=as_of, actor=actor)
    elif target == Measure.REVITALISED:
        # Restructured: a new schedule replaces the arrears; the loan enters its observation period
        # (at least substandard, classification floor) and is upgraded only after it.
        loan = Loan.objects.select_for_update().get(pk=case.loan_id)
        loan.restructured_on = as_of
        if loan.overdue_since is not None:
            loan.overdue_since = None
            loan.arrears_cleared_on = as_of
        loan.save(update_fields=["restructured_on", "overdue_since", "arrears_cleared_on", "updated_at"])
        loan_classify(loan=loan, as_of=as_of, actor=actor)


@transaction.atomic
def case_request_reject(*, request: CaseRequest, actor: User, reason: str) -> CaseRequest:
    request, case = _lock_request(request)
    refusal = approval_refusal(case.actor_facts(actor), request.requested_by_id)
    if refusal:
        raise PermissionDenied(refusal)
    reason = _require_reason(reason)
    CaseRequest.objects.filter(pk=request.pk, status=CaseRequest.Status.REQUESTED).update(
        status=CaseRequest.Status.REJECTED, decided_by=actor, decided_at=timezone.now(), decision_reason=reason
    )
    _audit(
        case,
        actor,
        "case.request_rejected",
        old={"request": request.pk, "status": "requested"},
        new={"request": request.pk, "status": "rejected", "target": request.target},
        reason=reason,
    )
    request.refresh_from_db()
    return request


# --- the timeline ---------------------------------------------------------------------------------


def _save(record: Any) -> Any:
    record.full_clean()
    record.save()
    return record


def _not_future(value: date, field: str) -> None:
    if value > timezone.localdate():
        raise ValidationError({field: "This date is in the future."})


@transaction.atomic
def contact_record(
    *,
    case: CollectionCase,
    actor: User,
    kind: str,
    contacted_on: date,
    summary: str,
    person: str = "",
    debt_acknowledged: bool = False,
) -> Contact:
    case = _lock(case)
    _require_work(case, actor)
    _not_future(contacted_on, "contacted_on")
    contact = _save(
        Contact(
            case=case,
            kind=kind,
            contacted_on=contacted_on,
            person=person,
            summary=summary,
            debt_acknowledged=debt_acknowledged,
            recorded_by=actor,
        )
    )
    if debt_acknowledged:
        _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.contact_recorded",
        new={"contact": contact.pk, "kind": kind, "on": contacted_on, "debt_acknowledged": debt_acknowledged},
    )
    return contact


@transaction.atomic
def notice_serve(
    *,
    case: CollectionCase,
    actor: User,
    served_on: date,
    served_to: str,
    method: str = Notice.Method.IN_PERSON,
    signed_acknowledgement: bool = False,
    notes: str = "",
) -> Notice:
    case = _lock(case)
    _require_work(case, actor)
    _not_future(served_on, "served_on")
    notice = _save(
        Notice(
            case=case,
            served_on=served_on,
            served_to=served_to,
            method=method,
            signed_acknowledgement=signed_acknowledgement,
            notes=notes,
            recorded_by=actor,
        )
    )
    if signed_acknowledgement:
        _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.notice_served",
        new={"notice": notice.pk, "on": served_on, "signed_acknowledgement": signed_acknowledgement},
    )
    return notice


@transaction.atomic
def promise_record(
    *, case: CollectionCase, actor: User, promised_on: date, amount: Decimal, due_on: date, notes: str = ""
) -> PromiseToPay:
    case = _lock(case)
    _require_work(case, actor)
    _not_future(promised_on, "promised_on")
    amount = _money(amount)
    if amount > case.loan.total_owed:
        raise ValidationError({"amount": f"More than the {case.loan.total_owed:,.2f} owed."})
    if due_on < promised_on:
        raise ValidationError({"due_on": "The due date cannot be before the promise."})
    promise = _save(
        PromiseToPay(case=case, promised_on=promised_on, amount=amount, due_on=due_on, notes=notes, recorded_by=actor)
    )
    _refresh_dates(case)
    _audit(case, actor, "case.promise_recorded", new={"promise": promise.pk, "amount": amount, "due_on": due_on})
    return promise


@transaction.atomic
def promise_mark_broken(*, promise: PromiseToPay, actor: User | None, as_of: date) -> bool:
    """Mark an open promise broken once its due date has passed unpaid. Idempotent: False if nothing changed."""
    changed = promises_mark_broken(promise_ids=[promise.pk], actor=actor, as_of=as_of)
    if changed:
        promise.refresh_from_db()
    return bool(changed)


@transaction.atomic
def promises_mark_broken(*, promise_ids: Iterable[int], actor: User | None, as_of: date) -> list[int]:
    """Set-based: mark every open promise among `promise_ids` whose due date has passed as broken.

    Claims the rows (skip_locked, so two workers split the work), refreshes the cases' dates once
    and writes one audit row per promise. Returns the ids actually marked; idempotent.
    """
    claimed = list(
        PromiseToPay.objects.select_for_update(skip_locked=True)
        .filter(pk__in=list(promise_ids), status=PromiseToPay.Status.OPEN, due_on__lt=as_of)
        .values_list("pk", "case_id", "case__branch_id", "due_on", "amount_paid")
    )
    if not claimed:
        return []
    ids = [row[0] for row in claimed]
    PromiseToPay.objects.filter(pk__in=ids).update(status=PromiseToPay.Status.BROKEN, status_on=as_of)
    cases_refresh_dates(case_ids={row[1] for row in claimed})
    audit_records_bulk(
        actor=actor,
        event_type="case.promise_broken",
        subject_type=CollectionCase._meta.label_lower,
        rows=[
            AuditRow(
                subject_id=case_id,
                branch_id=branch_id,
                old={"promise": pk, "status": "open"},
                new={"promise": pk, "status": "broken", "due_on": due_on, "amount_paid": paid},
            )
            for pk, case_id, branch_id, due_on, paid in claimed
        ],
    )
    return ids


@transaction.atomic
def guarantor_demand_record(
    *, case: CollectionCase, actor: User, guarantee: Guarantee, demanded_on: date, amount: Decimal, response: str = ""
) -> GuarantorDemand:
    case = _lock(case)
    _require_work(case, actor)
    _not_future(demanded_on, "demanded_on")
    if guarantee.loan_id != case.loan_id:
        raise ValidationError({"guarantee": "This guarantee is not on the case's loan."})
    amount = _money(amount)
    if amount > guarantee.amount:
        raise ValidationError({"amount": f"More than the {guarantee.amount:,.2f} guaranteed."})
    demand = _save(
        GuarantorDemand(
            case=case, guarantee=guarantee, demanded_on=demanded_on, amount=amount, response=response, recorded_by=actor
        )
    )
    _audit(
        case,
        actor,
        "case.guarantor_demanded",
        new={"demand": demand.pk, "guarantee": guarantee.pk, "amount": amount, "on": demanded_on},
    )
    return demand


@transaction.atomic
def legal_proceeding_file(
    *, case: CollectionCase, actor: User, court: str, case_number: str, filed_on: date, notes: str = ""
) -> LegalProceeding:
    case = _lock(case)
    _require_work(case, actor)
    _not_future(filed_on, "filed_on")
    proceeding = _save(
        LegalProceeding(
            case=case, court=court, case_number=case_number, filed_on=filed_on, notes=notes, recorded_by=actor
        )
    )
    _audit(
        case,
        actor,
        "case.legal_filed",
        new={"proceeding": proceeding.pk, "court": court, "case_number": case_number, "filed_on": filed_on},
    )
    return proceeding


@transaction.atomic
def legal_proceeding_update(
    *,
    proceeding: LegalProceeding,
    actor: User,
    judgment_on: date | None = None,
    enforcement_order_on: date | None = None,
) -> LegalProceeding:
    """Record the judgment and/or the enforcement order of a proceeding (dates are not erased)."""
    case = _lock(proceeding.case)
    _require_work(case, actor)
    proceeding = LegalProceeding.objects.select_for_update().get(pk=proceeding.pk)
    old = {"judgment_on": proceeding.judgment_on, "enforcement_order_on": proceeding.enforcement_order_on}
    if judgment_on is None and enforcement_order_on is None:
        raise ValidationError("Give the judgment date or the enforcement order date.")
    for field, value in (("judgment_on", judgment_on), ("enforcement_order_on", enforcement_order_on)):
        if value is not None:
            _not_future(value, field)
            if value < proceeding.filed_on:
                raise ValidationError({field: "Cannot be before the proceeding was filed."})
            setattr(proceeding, field, value)
    proceeding.full_clean()
    proceeding.save(update_fields=["judgment_on", "enforcement_order_on"])
    _audit(
        case,
        actor,
        "case.legal_updated",
        old={"proceeding": proceeding.pk, **old},
        new={
            "proceeding": proceeding.pk,
            "judgment_on": proceeding.judgment_on,
            "enforcement_order_on": proceeding.enforcement_order_on,
        },
    )
    return proceeding


_LIEN_AFTER_STEP = {
    LegalStep.Kind.FREEZE: Collateral.LienStatus.FROZEN,
    LegalStep.Kind.SEAL: Collateral.LienStatus.SEALED,
    LegalStep.Kind.AUCTION: Collateral.LienStatus.AUCTIONED,
}


@transaction.atomic
def legal_step_record(
    *,
    proceeding: LegalProceeding,
    actor: User,
    kind: str,
    taken_on: date,
    collateral: Collateral | None = None,
    amount: Decimal | None = None,
    notes: str = "",
) -> LegalStep:
    """A court measure: freeze, seal up, deduct, auction. A step on a collateral item updates its lien."""
    case = _lock(proceeding.case)
    _require_work(case, actor)
    _not_future(taken_on, "taken_on")
    if taken_on < proceeding.filed_on:
        raise ValidationError({"taken_on": "Cannot be before the proceeding was filed."})
    if collateral is not None and collateral.loan_id != case.loan_id:
        raise ValidationError({"collateral": "This collateral is not pledged for the case's loan."})
    step = _save(
        LegalStep(
            proceeding=proceeding,
            kind=kind,
            taken_on=taken_on,
            collateral=collateral,
            amount=_money(amount) if amount is not None else None,
            notes=notes,
            recorded_by=actor,
        )
    )
    if collateral is not None and kind in _LIEN_AFTER_STEP:
        Collateral.objects.filter(pk=collateral.pk).update(lien_status=_LIEN_AFTER_STEP[kind])
    _audit(
        case,
        actor,
        "case.legal_step",
        new={"step": step.pk, "proceeding": proceeding.pk, "kind": kind, "on": taken_on, "collateral": collateral},
    )
    return step


# --- money ----------------------------------------------------------------------------------------


def _credit_promises(case: CollectionCase, amount: Decimal, received_on: date, actor: User) -> None:
    """A payment counts towards the open promises made before it, the earliest due first."""
    left = amount
    for promise in PromiseToPay.objects.filter(
        case=case, status=PromiseToPay.Status.OPEN, promised_on__lte=received_on
    ).order_by("due_on", "id"):
        if left <= 0:
            break
        take = min(left, promise.amount - promise.amount_paid)
        left -= take
        promise.amount_paid += take
        if promise.amount_paid >= promise.amount:
            promise.status, promise.status_on = PromiseToPay.Status.KEPT, received_on
            _audit(case, actor, "case.promise_kept", new={"promise": promise.pk, "on": received_on})
        promise.save(update_fields=["amount_paid", "status", "status_on"])


def _record_recovery(
    *,
    case: CollectionCase,
    actor: User,
    received_on: date,
    amount: Decimal,
    paid_by: str,
    form: str,
    as_of: date,
    note: str,
    arrears_cleared: bool,
    asset: AssetInKind | None = None,
) -> Recovery:
    from loans.services import loan_classify

    _not_future(received_on, "received_on")
    loan = Loan.objects.select_for_update().get(pk=case.loan_id)
    amount = _money(amount)
    owed = Owed(loan.outstanding_principal, loan.interest_on_balance, loan.interest_off_balance)
    try:
        allocation = allocate_recovery(amount, owed, collection_policy().recovery_allocation_order)
    except RecoveryExceedsDebt as exc:
        raise ValidationError({"amount": str(exc)}) from exc
    recovery = _save(
        Recovery(
            case=case,
            received_on=received_on,
            amount=amount,
            form=form,
            paid_by=paid_by,
            principal=allocation.principal,
            interest_on_balance=allocation.interest_on_balance,
            interest_off_balance=allocation.interest_off_balance,
            asset=asset,
            note=note,
            recorded_by=actor,
        )
    )
    old = {
        "outstanding_principal": loan.outstanding_principal,
        "interest_on_balance": loan.interest_on_balance,
        "interest_off_balance": loan.interest_off_balance,
        "overdue_since": loan.overdue_since,
    }
    remaining = owed.minus(allocation)
    loan.outstanding_principal = remaining.principal
    loan.interest_on_balance = remaining.interest_on_balance
    loan.interest_off_balance = remaining.interest_off_balance
    # Nothing overdue any more: the upgrade rule counts the wait from arrears_cleared_on.
    if (remaining.total == 0 or arrears_cleared) and loan.overdue_since is not None:
        loan.overdue_since = None
        loan.arrears_cleared_on = received_on
    loan.save(
        update_fields=[
            "outstanding_principal",
            "interest_on_balance",
            "interest_off_balance",
            "overdue_since",
            "arrears_cleared_on",
            "updated_at",
        ]
    )
    _credit_promises(case, amount, received_on, actor)
    _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.recovery_recorded",
        old=old,
        new={
            "recovery": recovery.pk,
            "amount": amount,
            "form": form,
            "paid_by": paid_by,
            "principal": allocation.principal,
            "interest_on_balance": allocation.interest_on_balance,
            "interest_off_balance": allocation.interest_off_balance,
            "outstanding_principal": remaining.principal,
            "interest_on_balance_left": remaining.interest_on_balance,
            "interest_off_balance_left": remaining.interest_off_balance,
        },
        reason=note,
    )
    loan_classify(loan=loan, as_of=as_of, actor=actor)
    if remaining.total == 0:
        # Nothing outstanding: the case is recovered, by itself.
        case.refresh_from_db()
        _perform_move(
            case=case,
            target=Measure.RECOVERED,
            actor=actor,
            as_of=max(received_on, case.measure_since),
            reason="Nothing outstanding after the recovery.",
        )
    return recovery


@transaction.atomic
def recovery_record(
    *,
    case: CollectionCase,
    actor: User,
    received_on: date,
    amount: Decimal,
    paid_by: str = Recovery.PaidBy.BORROWER,
    as_of: date | None = None,
    note: str = "",
    arrears_cleared: bool = False,
) -> Recovery:
    """Money received: split it (case_rules.allocate_recovery), reduce the loan, reclassify it.

    Refuses more than is owed. `arrears_cleared` says the borrower is current again (nothing past
    due) although something is still owed; when nothing is owed that is so anyway. A case with
    nothing outstanding moves to recovered.
    """
    case = _lock(case)
    _require_work(case, actor)
    return _record_recovery(
        case=case,
        actor=actor,
        received_on=received_on,
        amount=amount,
        paid_by=paid_by,
        form=Recovery.Form.CASH,
        as_of=as_of or timezone.localdate(),
        note=note,
        arrears_cleared=arrears_cleared,
    )


@transaction.atomic
def asset_take_in_kind(
    *,
    case: CollectionCase,
    actor: User,
    kind: str,
    description: str,
    taken_on: date,
    appraised_value: Decimal,
    credited_amount: Decimal | None = None,
    paid_by: str = Recovery.PaidBy.BORROWER,
    as_of: date | None = None,
) -> AssetInKind:
    """Property accepted in place of money: a recovery in kind of `credited_amount` (default the appraisal)."""
    case = _lock(case)
    _require_work(case, actor)
    appraised_value = _money(appraised_value)
    credited = _money(credited_amount if credited_amount is not None else appraised_value)
    if credited > case.loan.total_owed:
        raise ValidationError(
            {"credited_amount": f"{credited:,.2f} is more than the {case.loan.total_owed:,.2f} owed: credit less."}
        )
    asset = _save(
        AssetInKind(
            case=case,
            kind=kind,
            description=description,
            taken_on=taken_on,
            appraised_value=appraised_value,
            credited_amount=credited,
            recorded_by=actor,
        )
    )
    _audit(
        case,
        actor,
        "case.asset_taken",
        new={"asset": asset.pk, "appraised_value": appraised_value, "credited_amount": credited},
    )
    _record_recovery(
        case=case,
        actor=actor,
        received_on=taken_on,
        amount=credited,
        paid_by=paid_by,
        form=Recovery.Form.IN_KIND,
        as_of=as_of or timezone.localdate(),
        note=f"In kind: {description}"[:300],
        arrears_cleared=False,
        asset=asset,
    )
    return asset


@transaction.atomic
def asset_dispose(*, asset: AssetInKind, actor: User, disposed_on: date, disposal_proceeds: Decimal) -> AssetInKind:
    """The bank sold an asset it took in kind. The loan was credited when it was taken; this is the sale."""
    case = _lock(asset.case)
    refusal = may_work(case.actor_facts(actor))
    if refusal:
        raise PermissionDenied(refusal)
    asset = AssetInKind.objects.select_for_update().get(pk=asset.pk)
    if asset.disposed_on is not None:
        raise ValidationError("This asset is already disposed of.")
    _not_future(disposed_on, "disposed_on")
    if disposed_on < asset.taken_on:
        raise ValidationError({"disposed_on": "Cannot be before the asset was taken."})
    asset.disposed_on = disposed_on
    asset.disposal_proceeds = _money(disposal_proceeds)
    asset.full_clean()
    asset.save(update_fields=["disposed_on", "disposal_proceeds"])
    _audit(
        case,
        actor,
        "case.asset_disposed",
        new={"asset": asset.pk, "disposed_on": disposed_on, "disposal_proceeds": asset.disposal_proceeds},
    )
    return asset
