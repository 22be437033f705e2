"""Writes of accountability: divisions of responsibility, sanctions and rewards.

Every function takes keyword arguments and the acting user (`actor`; None is the system, i.e.
the daily checks), runs in one transaction, writes an audit event in it, and creates its
notifications in it (they are e-mailed after commit). The daily checks are in daily_checks/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, can_proceed

from accountability.directory import ManagerDirectory
from accountability.models import (
    DEFAULT_DIVISION_REASON,
    AccountabilityRecord,
    LoansByLoansFlag,
    RecordKind,
    RecordOrigin,
    RecordState,
    RecordType,
    ResponsibilityAssignment,
    ResponsibilityShare,
)
from accountability.policy import accountability_policy
from accountability.rules import (
    TYPES_WITH_AMOUNT,
    RewardType,
    SanctionType,
    bonus_amount,
    decision_reason_missing,
    recovered_in_time,
    shares_problem,
)
from audit.services import AuditRow, audit_record, audit_records_bulk, audit_system_run
from collections_app.case_rules import Measure
from collections_app.models import CollectionCase, Recovery
from collections_app.services import case_set_responsibility
from ledger.selectors import recovery_counted_on
from loans.access import visible_branch_ids
from loans.models import Branch, Loan, User
from loans.permissions import role_allows
from notifications.services import NotificationDraft, notifications_send, text
from npl_recovery.db import analyze_after_bulk_write

CENT = Decimal("0.01")

# A word lowered when the sentence is rendered (in the recipient's language): "To decide: wage stop for …".
_lower = lazy(lambda value: str(value).lower(), str)

# The officer's message when a record is proposed for them: one whole sentence per type.
PROPOSED_FOR_YOU = {
    RecordType.WAGE_STOP: gettext_lazy("Wage stop proposed for you"),
    RecordType.SUSPENSION: gettext_lazy("Suspension proposed for you"),
    RecordType.LAYOFF: gettext_lazy("Layoff proposed for you"),
    RecordType.COMPENSATION: gettext_lazy("Compensation proposed for you"),
    RecordType.LEGAL_ACTION: gettext_lazy("Legal action proposed for you"),
    RecordType.COMMENDATION: gettext_lazy("Commendation proposed for you"),
    RecordType.BONUS: gettext_lazy("Bonus proposed for you"),
}

# A record's reason in the language it is rendered in (the recipient's).
_reason_shown = lazy(lambda record: record.reason_shown, str)

# The decisions as words, for messages.
DECISION_WORDS = {
    "impose": gettext_lazy("Imposing"),
    "waive": gettext_lazy("Waiving"),
    "lift": gettext_lazy("Lifting"),
    "honour": gettext_lazy("Honouring"),
}


class RecordChanged(Exception):
    """Someone decided the record between the moment the user saw it and their action."""

    def __init__(self, now: str | None = None) -> None:
        if now:
            message = _(
                "Someone decided this record while you were looking at it. It is now %(state)s. Reload and try again."
            ) % {"state": str(RecordState(now).label).lower()}
        else:
            message = _("Someone decided this record while you were looking at it. Reload and try again.")
        super().__init__(message)


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationError({field: _("Enter an amount of money.")}) from exc
    return amount


def _require_reason(reason: str, field: str = "reason") -> str:
    if not reason or not reason.strip():
        raise ValidationError({field: _("Give a reason.")})
    return reason.strip()


def _case_url(case_id: int) -> str:
    return reverse("collections_app:case_detail", args=[case_id])


def _require_manager_of_case(actor: Any, case: CollectionCase) -> None:
    if not role_allows(actor, "accountability.divide_responsibility"):
        raise PermissionDenied(_("Only a manager divides responsibility for a case."))
    if not CollectionCase.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise PermissionDenied(_("This case is outside your branches."))


# --- responsibility -----------------------------------------------------------------------------


def _shares_snapshot(assignment: ResponsibilityAssignment | None) -> dict[str, Any]:
    if assignment is None:
        return {}
    return {
        "assignment": assignment.pk,
        "recovery_deadline": assignment.recovery_deadline,
        "shares": {str(s.officer_id): str(s.share) for s in assignment.shares.all()},
    }


@transaction.atomic
def responsibility_assign(
    *,
    case: CollectionCase,
    shares: Sequence[tuple[User, Decimal]],
    recovery_deadline: date,
    reason: str,
    actor: User,
    as_of: date,
    promised_reward: str = RewardType.BONUS.value,
) -> ResponsibilityAssignment:
    """A new division of responsibility: ends the current one (kept as history) and starts this one.

    `shares` are (officer, percent) pairs adding up to 100; the largest share leads and becomes the
    case's officer; the time limit becomes the case's (collections_app.case_set_responsibility).
    """
    _require_manager_of_case(actor, case)
    reason = _require_reason(reason)
    pairs = [(officer, Decimal(str(share))) for officer, share in shares]
    problem = shares_problem([share for _officer, share in pairs])
    if problem:
        raise ValidationError({"shares": problem})
    officer_ids = [officer.pk for officer, _share in pairs]
    if len(set(officer_ids)) != len(officer_ids):
        raise ValidationError({"shares": _("Name each officer once.")})
    if promised_reward not in {t.value for t in RewardType}:
        raise ValidationError({"promised_reward": _("Choose a bonus or a commendation.")})
    case = CollectionCase.objects.select_for_update(of=("self",)).select_related("loan").get(pk=case.pk)
    if not case.is_open or case.measure == Measure.WRITTEN_OFF:
        raise ValidationError(
            _("The case is %(measure)s: responsibility is no longer divided.")
            % {"measure": str(case.get_measure_display()).lower()}
        )
    for officer, _share in pairs:
        if not role_allows(officer, "accountability.carry_responsibility"):
            raise ValidationError(
                {"shares": _("%(name)s is not an active officer or manager.") % {"name": officer.display_name}}
            )
        if not CollectionCase.objects.visible_to(officer).filter(pk=case.pk).exists():
            raise ValidationError(
                {"shares": _("%(name)s does not work in the case's branch.") % {"name": officer.display_name}}
            )
    if recovery_deadline < as_of:
        raise ValidationError({"recovery_deadline": _("The time limit cannot be in the past.")})
    current = (
        ResponsibilityAssignment.objects.select_for_update()
        .filter(case=case, ended_on__isnull=True)
        .prefetch_related("shares")
        .first()
    )
    old = _shares_snapshot(current)
    if current is not None:
        if as_of < current.starts_on:
            raise ValidationError(
                _("The current division starts on %(day)s: a new one cannot start before.")
                % {"day": f"{current.starts_on:%Y-%m-%d}"}
            )
        current.ended_on = as_of
        current.end_reason = reason[:300]
        current.save(update_fields=["ended_on", "end_reason"])
    lead = max(pairs, key=lambda p: p[1])[0]  # ties: the first named
    assignment = ResponsibilityAssignment(
        case=case,
        loan_id=case.loan_id,
        branch_id=case.branch_id,
        lead_officer=lead,
        recovery_deadline=recovery_deadline,
        starts_on=as_of,
        reason=reason[:300],
        promised_reward=promised_reward,
        assigned_by=actor,
    )
    assignment.full_clean(exclude=["case", "loan", "branch", "lead_officer", "assigned_by"])
    assignment.save()
    ResponsibilityShare.objects.bulk_create(
        [ResponsibilityShare(assignment=assignment, officer=officer, share=share) for officer, share in pairs]
    )
    case_set_responsibility(case=case, officer=lead, recovery_deadline=recovery_deadline, actor=actor, reason=reason)
    # "Whoever lends, collects" unless reassigned: the loan's responsible officer follows the lead.
    Loan.objects.filter(pk=case.loan_id).exclude(responsible_officer=lead).update(
        responsible_officer=lead, updated_at=timezone.now()
    )
    new = _shares_snapshot(assignment)
    audit_record(
        actor=actor,
        event_type="responsibility.assigned",
        subject=assignment,
        branch_id=assignment.branch_id,
        old=old,
        new=new,
        reason=reason,
    )
    loan_no = case.loan.loan_no
    drafts = [
        NotificationDraft(
            recipient_id=officer.pk,
            kind="responsibility.assigned",
            key=f"responsibility.assigned:{assignment.pk}:{officer.pk}",
            title=text(
                gettext_lazy("Loan %(no)s: you are responsible for %(share)s%% until %(deadline)s"),
                no=loan_no,
                share=f"{share.normalize():f}",
                deadline=recovery_deadline,
            ),
            body=text(
                gettext_lazy("%(name)s divided responsibility for loan %(no)s: %(reason)s"),
                name=actor.display_name,
                no=loan_no,
                reason=reason,
            ),
            url=_case_url(case.pk),
        )
        for officer, share in pairs
        if officer.pk != actor.pk
    ]
    if current is not None:
        dropped = set(old.get("shares", {})) - {str(i) for i in officer_ids}
        drafts += [
            NotificationDraft(
                recipient_id=int(officer_id),
                kind="responsibility.ended",
                key=f"responsibility.ended:{current.pk}:{officer_id}",
                title=text(gettext_lazy("Loan %(no)s: you are no longer responsible"), no=loan_no),
                body=text(
                    gettext_lazy("%(name)s divided responsibility anew: %(reason)s"),
                    name=actor.display_name,
                    reason=reason,
                ),
                url=_case_url(case.pk),
            )
            for officer_id in sorted(dropped)
        ]
    notifications_send(drafts=drafts)
    return assignment


# Which open cases never had a division. Read in a statement of its own: an anti-join against the
# table that the same statement inserts into goes quadratic when the planner believes that table
# empty (statistics taken before the first run), scanning it again for every case.
_PG_DEFAULTS_TODO = """
SELECT c.id FROM collections_app_collectioncase c
 WHERE c.is_open AND c.officer_id IS NOT NULL
   AND (%(ids)s::bigint[] IS NULL OR c.id = ANY(%(ids)s::bigint[]))
   AND NOT EXISTS (SELECT 1 FROM accountability_responsibilityassignment a WHERE a.case_id = c.id)
 ORDER BY c.id
"""
_PG_DEFAULTS = """
WITH ins AS (
    INSERT INTO accountability_responsibilityassignment (
        case_id, loan_id, branch_id, lead_officer_id, recovery_deadline, starts_on, ended_on, reason,
        end_reason, promised_reward, assigned_by_id, created_at)
    SELECT c.id, c.loan_id, c.branch_id, c.officer_id, c.recovery_deadline, c.opened_on, NULL, %(reason)s,
           '', 'bonus', NULL, %(now)s
      FROM collections_app_collectioncase c
     WHERE c.id = ANY(%(todo)s::bigint[])
    -- the partial unique index responsibility_one_current_per_case: a concurrent run adds nothing
    ON CONFLICT DO NOTHING
    RETURNING id, lead_officer_id
), shares AS (
    INSERT INTO accountability_responsibilityshare (assignment_id, officer_id, share)
    SELECT id, lead_officer_id, 100 FROM ins
    RETURNING assignment_id
)
SELECT count(*), min(assignment_id), max(assignment_id) FROM shares
"""

DEFAULT_REASON = DEFAULT_DIVISION_REASON


def responsibility_tally_compact() -> int:
    """Fold the tally's signed rows into one per (branch, officer, time limit); the number of rows
    kept, or -1 when another compaction was running. PostgreSQL only (else 0)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT responsibility_tally_compact()")
        return cursor.fetchone()[0]


def responsibility_assign_defaults(
    *, as_of: date, case_ids: Iterable[int] | None = None, run: models.Model | None = None
) -> int:
    """Give every open case that has never had a division its first one: the case's officer, 100%,
    with the case's time limit. Set-based and idempotent; returns how many divisions were created.

    Cases without an officer are left for a manager (the board lists them). A run that creates
    divisions records one audit event, the system its actor, naming them (id range and count);
    its subject is `run` (the daily check's DailyCheckRun), else the first division created.
    """
    ids = None if case_ids is None else sorted(set(case_ids))
    if ids is not None and not ids:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            created, first_id, last_id = _assign_defaults_postgres(ids)
        else:
            created, first_id, last_id = _assign_defaults_portable(ids)
        if created:
            audit_system_run(
                event_type="responsibility.first_divisions",
                subject=run or ResponsibilityAssignment.objects.get(pk=first_id),
                summary={
                    "as_of": as_of,
                    "assignments": {"first_id": first_id, "last_id": last_id, "count": created},
                },
                reason=DEFAULT_REASON,
            )
        if ids is None:
            # The whole book's run (daily): fold the board's kept figures once it has committed.
            transaction.on_commit(responsibility_tally_compact)
    return created


def _assign_defaults_postgres(ids: list[int] | None) -> tuple[int, int | None, int | None]:
    """(divisions created, lowest id, highest id): one INSERT ... SELECT per 20,000 cases."""
    created, first_id, last_id = 0, None, None
    with connection.cursor() as cursor:
        cursor.execute(_PG_DEFAULTS_TODO, {"ids": ids})
        todo = [row[0] for row in cursor.fetchall()]
        now = timezone.now()
        for start in range(0, len(todo), 20_000):
            chunk = todo[start : start + 20_000]
            cursor.execute(_PG_DEFAULTS, {"reason": DEFAULT_REASON, "now": now, "todo": chunk})
            n, low, high = cursor.fetchone()
            if n:
                created += n
                first_id = low if first_id is None else min(first_id, low)
                last_id = high if last_id is None else max(last_id, high)
    analyze_after_bulk_write(ResponsibilityAssignment._meta.db_table, ResponsibilityShare._meta.db_table, rows=created)
    return created, first_id, last_id


def _assign_defaults_portable(ids: list[int] | None) -> tuple[int, int | None, int | None]:
    """The same through the ORM (SQLite), 1,000 cases per INSERT."""
    cases = CollectionCase.objects.filter(is_open=True, officer__isnull=False).exclude(
        pk__in=ResponsibilityAssignment.objects.values("case_id")
    )
    if ids is not None:
        cases = cases.filter(pk__in=ids)
    created_ids: list[int] = []
    now = timezone.now()
    rows = list(cases.values_list("pk", "loan_id", "branch_id", "officer_id", "recovery_deadline", "opened_on"))
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        assignments = ResponsibilityAssignment.objects.bulk_create(
            [
                ResponsibilityAssignment(
                    case_id=case_id,
                    loan_id=loan_id,
                    branch_id=branch_id,
                    lead_officer_id=officer_id,
                    recovery_deadline=deadline,
                    starts_on=opened_on,
                    reason=DEFAULT_REASON,
                    created_at=now,
                )
                for case_id, loan_id, branch_id, officer_id, deadline, opened_on in chunk
            ]
        )
        ResponsibilityShare.objects.bulk_create(
            [ResponsibilityShare(assignment=a, officer_id=a.lead_officer_id, share=100) for a in assignments]
        )
        created_ids += [a.pk for a in assignments]
    if not created_ids:
        return 0, None, None
    return len(created_ids), min(created_ids), max(created_ids)


# --- sanctions and rewards ------------------------------------------------------------------------


def _kind_of(record_type: str) -> str:
    if record_type in {t.value for t in SanctionType}:
        return RecordKind.SANCTION
    if record_type in {t.value for t in RewardType}:
        return RecordKind.REWARD
    raise ValidationError({"record_type": _("Unknown type %(type)s.") % {"type": repr(record_type)}})


def proposal_notice_key(record: AccountabilityRecord) -> str:
    """The dedupe key of the message telling an officer that a record was proposed for them: one
    message per record, however often the proposal is announced (a rerun, a redelivered task)."""
    return f"record.proposed:{record.pk}"


def proposals_announce(
    *, records: Sequence[AccountabilityRecord], actor: User | None, title: Callable[[AccountabilityRecord], Any]
) -> None:
    """Audit each new proposal (`accountability.proposed`, its values) and tell its officer.

    Every way a record is proposed calls this in the proposals' transaction: a manager
    (record_propose), a recovery in time (case_recovered_in_time), a missed time limit (the daily
    check). `actor` None is the system. `title` gives a record's title (a lazy text: the officer's
    language).
    """
    audit_records_bulk(
        actor=actor,
        event_type="accountability.proposed",
        subject_type=AccountabilityRecord._meta.label_lower,
        rows=[
            AuditRow(
                subject_id=r.pk,
                branch_id=r.branch_id,
                old={},
                new={
                    "officer": r.officer_id,
                    "type": r.record_type,
                    "origin": r.origin,
                    "amount": r.amount,
                    "case": r.case_id,
                },
                reason=r.reason,
            )
            for r in records
        ],
    )
    notifications_send(
        drafts=[
            NotificationDraft(
                recipient_id=r.officer_id,
                kind="record.proposed",
                key=proposal_notice_key(r),
                title=title(r),
                body=_reason_shown(r),
                url=r.get_absolute_url(),
            )
            for r in records
        ]
    )


def _record_drafts_for_managers(
    record: AccountabilityRecord, *, title: str, body: str, exclude: Iterable[int] = ()
) -> list[NotificationDraft]:
    skip = {record.officer_id, *exclude}
    return [
        NotificationDraft(
            recipient_id=manager_id,
            kind="record.to_decide",
            key=f"record.to_decide:{record.pk}:{record.state}:{manager_id}",
            title=title,
            body=body,
            url=record.get_absolute_url(),
        )
        for manager_id in ManagerDirectory.build().for_branch(record.branch_id)
        if manager_id not in skip
    ]


@transaction.atomic
def record_propose(
    *,
    officer: User,
    record_type: str,
    reason: str,
    actor: User,
    as_of: date,
    case: CollectionCase | None = None,
    amount: Decimal | str | None = None,
) -> AccountabilityRecord:
    """A manager proposes a sanction or reward for an officer (e.g. compensation for an NPL formed by
    human factors); another manager decides it."""
    if not role_allows(actor, "accountability.propose_record"):
        raise PermissionDenied(_("Only a manager proposes sanctions and rewards."))
    if actor.pk == officer.pk:
        raise PermissionDenied(_("Nobody proposes a sanction or reward for themselves."))
    reason = _require_reason(reason)
    kind = _kind_of(record_type)
    if case is not None:
        if not CollectionCase.objects.visible_to(actor).filter(pk=case.pk).exists():
            raise PermissionDenied(_("This case is outside your branches."))
        branch_id = case.branch_id
    else:
        if (
            officer.branch_id is None
            or not User.objects.filter(pk=officer.pk, branch__in=_visible_branches(actor)).exists()
        ):
            raise PermissionDenied(_("This officer works outside your branches."))
        branch_id = officer.branch_id
    if record_type in TYPES_WITH_AMOUNT:
        if amount in (None, ""):
            raise ValidationError({"amount": _("Give the amount.")})
        amount = _money(amount, "amount")
        if amount <= 0:
            raise ValidationError({"amount": _("The amount must be more than zero.")})
    else:
        amount = None
    record = AccountabilityRecord(
        kind=kind,
        record_type=record_type,
        origin=RecordOrigin.MANUAL,
        officer=officer,
        branch_id=branch_id,
        case=case,
        loan_id=case.loan_id if case else None,
        amount=amount,
        reason=reason,
        proposed_on=as_of,
        proposed_by=actor,
    )
    record.full_clean(exclude=["state", "officer", "branch", "case", "loan", "proposed_by"])
    record.save()
    label = RecordType(record.record_type).label
    proposals_announce(records=[record], actor=actor, title=lambda r: text(PROPOSED_FOR_YOU[r.record_type]))
    notifications_send(
        drafts=_record_drafts_for_managers(
            record,
            title=text(gettext_lazy("To decide: %(type)s for %(name)s"), type=_lower(label), name=officer.display_name),
            body=text(gettext_lazy("Proposed by %(name)s: %(reason)s"), name=actor.display_name, reason=reason),
            exclude=[actor.pk],
        )
    )
    return record


def _visible_branches(user: Any):
    ids = visible_branch_ids(user)
    return Branch.objects.all() if ids is None else Branch.objects.filter(pk__in=ids)


_DECISIONS = {
    "impose": "accountability.imposed",
    "waive": "accountability.waived",
    "lift": "accountability.lifted",
    "honour": "accountability.honoured",
}


@transaction.atomic
def record_decide(
    *, record: AccountabilityRecord, decision: str, actor: User, reason: str = "", seen_state: str | None = None
) -> AccountabilityRecord:
    """A manager decides: impose (a sanction with a reason), waive (with a reason), lift or honour.

    Maker-checker: never the record's officer nor its proposer (permissions.decision_refusal; the
    database has the same check). `seen_state` is the state the manager saw: if the record changed
    since, or changes while this runs, RecordChanged is raised and nothing is written.
    """
    if decision not in _DECISIONS:
        raise ValidationError(_("Unknown decision %(decision)s.") % {"decision": repr(decision)})
    event_type = _DECISIONS[decision]
    reason = (reason or "").strip()
    locked = AccountabilityRecord.objects.select_for_update(of=("self",)).filter(pk=record.pk).first()
    if locked is None:
        raise ValidationError(_("This record no longer exists."))
    if seen_state is not None and locked.state != seen_state:
        raise RecordChanged(locked.state)
    refusal = locked.decision_refusal(actor)
    if refusal:
        raise PermissionDenied(refusal)
    method = getattr(locked, decision)
    if not can_proceed(method):
        raise ValidationError(
            _("%(decision)s is not possible for a %(kind)s that is %(state)s.")
            % {
                "decision": DECISION_WORDS[decision],
                "kind": str(locked.get_kind_display()).lower(),
                "state": str(locked.state_label).lower(),
            }
        )
    missing = decision_reason_missing(decision=decision, kind=locked.kind, reason=reason)
    if missing:
        raise ValidationError({"reason": missing})
    old_state = locked.state
    method(by=actor, reason=reason)
    try:
        locked.save()
    except ConcurrentTransition as exc:  # pragma: no cover - the row lock above makes this a last resort
        raise RecordChanged(
            AccountabilityRecord.objects.filter(pk=record.pk).values_list("state", flat=True).first()
        ) from exc
    audit_record(
        actor=actor,
        event_type=event_type,
        subject=locked,
        branch_id=locked.branch_id,
        old={"state": old_state},
        new={"state": locked.state},
        reason=reason,
    )
    notifications_send(
        drafts=[
            NotificationDraft(
                recipient_id=locked.officer_id,
                kind="record.decided",
                key=f"record.decided:{locked.pk}:{locked.state}",
                title=text(
                    gettext_lazy("%(type)s: %(state)s"),
                    type=RecordType(locked.record_type).label,
                    state=_lower(locked.state_label),
                ),
                body=text(gettext_lazy("%(name)s decided: %(reason)s"), name=actor.display_name, reason=reason)
                if reason
                else text(gettext_lazy("Decided by %(name)s."), name=actor.display_name),
                url=locked.get_absolute_url(),
            )
        ]
    )
    return locked


# --- a loan recovered within its time limit -------------------------------------------------------


def _recovered_totals(case_id: int) -> tuple[Decimal, Decimal]:
    sums = Recovery.objects.filter(case_id=case_id).aggregate(
        cash=Sum("amount", filter=Q(form=Recovery.Form.CASH)),
        in_kind=Sum("amount", filter=Q(form=Recovery.Form.IN_KIND)),
    )
    return sums["cash"] or Decimal(0), sums["in_kind"] or Decimal(0)


@transaction.atomic
def case_recovered_in_time(*, case: CollectionCase, as_of: date) -> list[AccountabilityRecord]:
    """The promised reward for each responsible officer, and open sanctions to be lifted.

    For a case that ended recovered on or before its time limit; does nothing otherwise, and
    nothing the second time (the division's row lock and the unique proposal per officer and type).
    Money recovered and value taken in kind are kept apart: a bonus is a share of the cash.
    """
    case = CollectionCase.objects.select_related("loan").get(pk=case.pk)
    if case.measure != Measure.RECOVERED or case.ended_on is None:
        return []
    assignment = (
        ResponsibilityAssignment.objects.select_for_update(no_key=True).filter(case=case, ended_on__isnull=True).first()
    )
    # Issue 11: a backdated recovery counts on its value date only once a manager approved it.
    counted_on = recovery_counted_on(case.pk, case.ended_on)
    if counted_on is None or assignment is None or not recovered_in_time(counted_on, assignment.recovery_deadline):
        return []
    if AccountabilityRecord.objects.filter(assignment=assignment, origin=RecordOrigin.RECOVERED_IN_TIME).exists():
        return []
    # The checks' sentences live with the checks, which import this module.
    from accountability.daily_checks.messages import recovered_in_time_reason

    policy = accountability_policy()
    cash, in_kind = _recovered_totals(case.pk)
    loan_no = case.loan.loan_no
    created: list[AccountabilityRecord] = []
    for share in assignment.shares.all():
        amount = bonus_amount(cash_recovered=cash, share_percent=share.share, policy=policy)
        if assignment.promised_reward == RewardType.BONUS and amount > 0:
            record_type = RecordType.BONUS
        else:
            record_type, amount = RecordType.COMMENDATION, None
        created.append(
            AccountabilityRecord(
                kind=RecordKind.REWARD,
                record_type=record_type,
                origin=RecordOrigin.RECOVERED_IN_TIME,
                officer_id=share.officer_id,
                branch_id=case.branch_id,
                case=case,
                loan_id=case.loan_id,
                assignment=assignment,
                share=share.share,
                deadline=assignment.recovery_deadline,
                amount=amount,
                cash_recovered=cash,
                in_kind_value=in_kind,
                # Kept as written (the active language); pages and messages show `reason_shown`.
                reason=recovered_in_time_reason(
                    loan_no=loan_no,
                    recovered_on=case.ended_on,
                    deadline=assignment.recovery_deadline,
                    share=share.share,
                    bonus=amount,
                    bonus_rate=policy.bonus_rate,
                    cash=cash,
                    in_kind=in_kind,
                ),
                proposed_on=as_of,
            )
        )
    AccountabilityRecord.objects.bulk_create(created)
    proposals_announce(
        records=created,
        actor=None,
        title=lambda r: text(
            gettext_lazy("Loan %(no)s recovered in time: %(type)s proposed"),
            no=loan_no,
            type=_lower(RecordType(r.record_type).label),
        ),
    )
    # Sanctions on this case still open are to be lifted: recovered in time, without delay.
    to_lift = list(
        AccountabilityRecord.objects.select_for_update(of=("self",)).filter(
            case=case, kind=RecordKind.SANCTION, state__in=[RecordState.PROPOSED, RecordState.IMPOSED]
        )
    )
    for sanction in to_lift:
        old = sanction.state
        sanction.mark_to_be_lifted(reason=_("Loan %(no)s recovered within its time limit.") % {"no": loan_no})
        sanction.save()
        audit_record(
            actor=None,
            event_type="accountability.to_be_lifted",
            subject=sanction,
            branch_id=sanction.branch_id,
            old={"state": old},
            new={"state": sanction.state},
            reason=sanction.close_reason,
        )
    managers = ManagerDirectory.build().for_branch(case.branch_id)
    n_lift = len(to_lift)
    if n_lift:
        title = text(
            gettext_lazy(
                "Loan %(no)s recovered in time: %(rewards)d reward(s) to honour, %(sanctions)d sanction(s) to lift"
            ),
            no=loan_no,
            rewards=len(created),
            sanctions=n_lift,
        )
    else:
        title = text(
            gettext_lazy("Loan %(no)s recovered in time: %(rewards)d reward(s) to honour"),
            no=loan_no,
            rewards=len(created),
        )
    drafts = [
        NotificationDraft(
            recipient_id=manager_id,
            kind="record.recovered_in_time",
            key=f"recovered_in_time:{assignment.pk}:{manager_id}",
            title=title,
            body=text(
                gettext_lazy("Recovered within the time limit: honour the reward and lift the sanctions without delay.")
            ),
            url=reverse("accountability:board") + f"?case={case.pk}",
        )
        for manager_id in managers
    ]
    notifications_send(drafts=drafts)
    return created


# --- prevention ------------------------------------------------------------------------------------


@transaction.atomic
def loans_by_loans_review(*, flag: Any, status: str, note: str, actor: User) -> Any:
    """A manager confirms a "loans by loans" flag or clears it with an explanation."""
    if not role_allows(actor, "accountability.review_flag"):
        raise PermissionDenied(_("Only a manager reviews a loans-by-loans flag."))
    if not LoansByLoansFlag.objects.visible_to(actor).filter(pk=flag.pk).exists():
        raise PermissionDenied(_("This flag is outside your branches."))
    if status not in (LoansByLoansFlag.Status.CONFIRMED, LoansByLoansFlag.Status.CLEARED):
        raise ValidationError({"status": _("Confirm or clear the flag.")})
    note = _require_reason(note, "note")
    flag = LoansByLoansFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.lending_officer_id == actor.pk:
        raise PermissionDenied(_("You lent this loan: another manager reviews it."))
    old = {"status": flag.status}
    flag.status, flag.reviewed_by, flag.review_note = status, actor, note
    flag.save(update_fields=["status", "reviewed_by", "review_note"])
    audit_record(
        actor=actor,
        event_type="loans_by_loans.reviewed",
        subject=flag,
        branch_id=flag.branch_id,
        old=old,
        new={"status": status},
        reason=note,
    )
    if status == LoansByLoansFlag.Status.CONFIRMED and flag.ledger_entry_id:
        _confirmed_fall_is_refinancing(flag, actor=actor, note=note)
    return flag


def _confirmed_fall_is_refinancing(flag: Any, *, actor: User, note: str) -> None:
    """A confirmed "loans by loans" flag on a fall reported by the book: the fall was a refinancing
    (posted as such in the ledger, never a recovery), unless the officer already classified it."""
    from reconciliation.models import ReportedFall
    from reconciliation.services import reported_fall_classify

    fall = ReportedFall.objects.filter(entry_id=flag.ledger_entry_id, status=ReportedFall.Status.TO_CLASSIFY).first()
    if fall is not None:
        reported_fall_classify(
            fall=fall, outcome=ReportedFall.Outcome.REFINANCING, actor=actor, as_of=timezone.localdate(), note=note
        )
