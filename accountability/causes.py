"""Why a case's loan went bad, and the compensation a human cause proposes (issue 11, item 7).

`case_cause_record` is the one write: the case page's cause form, and anything else, call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accountability.models import (
    AccountabilityRecord,
    CaseCause,
    CauseShare,
    RecordKind,
    RecordOrigin,
    RecordType,
)
from accountability.policy import accountability_policy
from accountability.rules import cause_category, cause_loss, compensation_amount, shares_problem
from accountability.services import _lower, _record_drafts_for_managers, proposals_announce
from audit.services import audit_record
from collections_app.models import CollectionCase
from loans.models import Loan, User
from loans.permissions import role_allows
from notifications.services import notifications_send, text

# The reason written on each compensation a human cause proposes (the active language; filled from facts).
COMPENSATION_REASON = gettext_lazy(
    "Loan %(loan_no)s went bad through %(cause)s: %(rate)s%% of the loss of %(loss)s, "
    "%(share)s%% of it for this person."
)


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _snapshot(cause: CaseCause | None) -> dict:
    if cause is None:
        return {}
    return {
        "kind": cause.kind,
        "category": cause.category,
        "description": cause.description,
        "loss": cause.loss,
        "shares": {str(s.person_id): str(s.share) for s in cause.shares.all()},
    }


@transaction.atomic
def case_cause_record(
    *,
    case: CollectionCase,
    actor: User,
    kind: str,
    description: str,
    staff: Sequence[tuple[User, Decimal]] = (),
    as_of: date,
) -> CaseCause:
    """A manager records why the case's loan went bad.

    An objective cause names nobody; a human cause names the staff concerned, their shares adding
    up to 100%. For each of them a compensation is proposed (compensation_rate x the loss x their
    share) for another manager to decide. Recording the cause again replaces it (the audit keeps
    the old one) and proposes a compensation only for a person who has none from this case yet.
    """
    if not role_allows(actor, "accountability.propose_record"):
        raise PermissionDenied(_("Only a manager records why a loan went bad."))
    case = CollectionCase.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if not CollectionCase.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise PermissionDenied(_("This case is outside your branches."))
    try:
        category = cause_category(kind)
    except ValueError as exc:
        raise ValidationError({"kind": _("Choose the cause.")}) from exc
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Say what happened.")})
    staff = [(person, Decimal(str(share))) for person, share in staff]
    if category == "human":
        problem = shares_problem([share for _, share in staff])
        if problem:
            raise ValidationError({"staff": problem})
        people = [person.pk for person, _ in staff]
        if len(set(people)) != len(people):
            raise ValidationError({"staff": _("Name each person once.")})
        if actor.pk in people:
            raise ValidationError(
                {"staff": _("You are among the staff concerned: another manager records this cause.")}
            )
    elif staff:
        raise ValidationError({"staff": _("An objective cause names no staff: leave them out.")})

    loan = Loan.objects.get(pk=case.loan_id)
    loss = cause_loss(
        outstanding_principal=loan.outstanding_principal,
        interest_on_balance=loan.interest_on_balance,
        interest_off_balance=loan.interest_off_balance,
    )
    cause = CaseCause.objects.select_for_update().filter(case=case).first()
    old = _snapshot(cause)
    if cause is None:
        cause = CaseCause(case=case, branch_id=case.branch_id)
    cause.category, cause.kind, cause.description = category, kind, description
    cause.loss, cause.recorded_on, cause.recorded_by = loss, as_of, actor
    cause.full_clean(exclude=["case", "branch", "recorded_by"])
    cause.save()
    cause.shares.all().delete()
    CauseShare.objects.bulk_create([CauseShare(cause=cause, person=person, share=share) for person, share in staff])
    audit_record(
        actor=actor,
        event_type="accountability.cause_recorded",
        subject=case,
        branch_id=case.branch_id,
        old=old,
        new=_snapshot(cause),
        reason=description,
    )
    if category == "human":
        _propose_compensations(cause=cause, case=case, loan=loan, staff=staff, actor=actor, as_of=as_of)
    return cause


def _propose_compensations(
    *, cause: CaseCause, case: CollectionCase, loan: Loan, staff: list[tuple[User, Decimal]], actor: User, as_of: date
) -> list[AccountabilityRecord]:
    policy = accountability_policy()
    already = set(
        AccountabilityRecord.objects.filter(
            case=case, origin=RecordOrigin.HUMAN_CAUSE, record_type=RecordType.COMPENSATION
        ).values_list("officer_id", flat=True)
    )
    cause_words = str(CaseCause.Kind(cause.kind).label).lower()
    created: list[AccountabilityRecord] = []
    for person, share in staff:
        amount = compensation_amount(loss=cause.loss, share_percent=share, policy=policy)
        if person.pk in already or amount <= 0:
            continue
        record = AccountabilityRecord(
            kind=RecordKind.SANCTION,
            record_type=RecordType.COMPENSATION,
            origin=RecordOrigin.HUMAN_CAUSE,
            officer=person,
            branch_id=case.branch_id,
            case=case,
            loan_id=case.loan_id,
            share=share,
            amount=amount,
            reason=str(
                COMPENSATION_REASON
                % {
                    "loan_no": loan.loan_no,
                    "cause": cause_words,
                    "rate": _percent(policy.compensation_rate * 100),
                    "loss": f"{cause.loss:,.2f}",
                    "share": _percent(share),
                }
            ),
            proposed_on=as_of,
            proposed_by=actor,
        )
        record.save()
        created.append(record)
    if not created:
        return created
    proposals_announce(
        records=created,
        actor=actor,
        title=lambda r: text(
            gettext_lazy("Loan %(no)s went bad through human factors: compensation proposed"), no=loan.loan_no
        ),
    )
    for record in created:
        notifications_send(
            drafts=_record_drafts_for_managers(
                record,
                title=text(
                    gettext_lazy("To decide: %(type)s for %(name)s"),
                    type=_lower(RecordType.COMPENSATION.label),
                    name=record.officer.display_name,
                ),
                body=text(
                    gettext_lazy("Proposed by %(name)s: %(reason)s"), name=actor.display_name, reason=record.reason
                ),
                exclude=[actor.pk],
            )
        )
    return created
