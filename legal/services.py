"""Every write of legal recourse: the case file, hearings, the decision, enforcement, preservation
orders, the debtor's assets and guarantee periods. Views, the admin and commands call these.

Each takes keyword arguments and the acting user, runs in one transaction, locks the case row
(collections_app's `_lock`), checks who may (`_require_work`), validates (refusing with the field
named), writes, and records an audit event on the case in the same transaction. Deadlines come
from legal/rules.py with the policy of the day; nothing here computes a date itself.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from collections_app.models import CollectionCase, LegalProceeding, Recovery
from collections_app.services import cost_record, recovery_record
from collections_app.services._common import _audit, _lock, _money, _not_future, _require_work
from collections_app.services.dates import _refresh_dates
from legal.models import DebtorAsset, GuaranteeTerm, Hearing, PreservationOrder
from legal.policy import legal_policy
from legal.rules import appeal_deadline, enforcement_deadline, preservation_expiry
from loans.models import Borrower, Branch, Collateral, Guarantee, Guarantor, User

Status = LegalProceeding.Status


def _open_file(proceeding: LegalProceeding, actor: User) -> tuple[CollectionCase, LegalProceeding]:
    """Lock the case, check the actor may work it, and return it with a locked fresh proceeding."""
    case = _lock(proceeding.case)
    _require_work(case, actor)
    return case, LegalProceeding.objects.select_for_update().get(pk=proceeding.pk)


def _not_before_filing(value: date, proceeding: LegalProceeding, field: str) -> None:
    if value < proceeding.filed_on:
        raise ValidationError(
            {field: _("Cannot be before the proceeding was filed (%(filed)s).") % {"filed": proceeding.filed_on}}
        )


@transaction.atomic
def proceeding_update_file(
    *,
    proceeding: LegalProceeding,
    actor: User,
    forum: str,
    court: str,
    cause: str,
    claim_principal: Decimal,
    claim_interest: Decimal,
    claim_costs: Decimal,
    lawyer: str,
) -> LegalProceeding:
    """Correct the case file: forum, court, cause, claim and lawyer."""
    case, proceeding = _open_file(proceeding, actor)
    fields = ("forum", "court", "cause", "claim_principal", "claim_interest", "claim_costs", "lawyer")
    old = {f: getattr(proceeding, f) for f in fields}
    proceeding.forum, proceeding.court, proceeding.cause, proceeding.lawyer = forum, court, cause, lawyer
    proceeding.claim_principal = _money(claim_principal or 0)
    proceeding.claim_interest = _money(claim_interest or 0)
    proceeding.claim_costs = _money(claim_costs or 0)
    proceeding.full_clean()
    proceeding.save(update_fields=list(fields))
    _audit(
        case,
        actor,
        "legal.file_updated",
        old={"proceeding": proceeding.pk, **old},
        new={"proceeding": proceeding.pk, **{f: getattr(proceeding, f) for f in fields}},
    )
    return proceeding


@transaction.atomic
def hearing_record(
    *, proceeding: LegalProceeding, actor: User, held_on: date, place: str, outcome: str = ""
) -> Hearing:
    """A hearing (past or coming: coming ones are reminded 7 and 1 days before, policy)."""
    case, proceeding = _open_file(proceeding, actor)
    _not_before_filing(held_on, proceeding, "held_on")
    if outcome.strip() and held_on > timezone.localdate():
        raise ValidationError({"outcome": _("A hearing that has not been held yet has no outcome.")})
    hearing = Hearing(proceeding=proceeding, held_on=held_on, place=place, outcome=outcome, recorded_by=actor)
    hearing.full_clean()
    hearing.save()
    _audit(
        case,
        actor,
        "legal.hearing_recorded",
        new={"proceeding": proceeding.pk, "hearing": hearing.pk, "on": held_on, "place": place, "outcome": outcome},
    )
    return hearing


@transaction.atomic
def decision_record(
    *,
    proceeding: LegalProceeding,
    actor: User,
    decision_kind: str,
    decided_on: date,
    served_on: date | None = None,
    awarded_amount: Decimal | None = None,
    performance_deadline: date | None = None,
    effective_on: date | None = None,
) -> LegalProceeding:
    """The judgment, ruling or mediation: what it awards, by when the debtor must perform, and the
    appeal and enforcement-application deadlines that follow (rules.appeal_deadline, enforcement_deadline)."""
    case, proceeding = _open_file(proceeding, actor)
    if decision_kind not in LegalProceeding.Decision.values:
        raise ValidationError({"decision_kind": _("Choose judgment, ruling or mediation.")})
    _not_future(decided_on, "decided_on")
    _not_before_filing(decided_on, proceeding, "decided_on")
    if served_on is not None:
        _not_future(served_on, "served_on")
        if served_on < decided_on:
            raise ValidationError({"served_on": _("Cannot be served before it was decided.")})
    if effective_on is not None and effective_on < decided_on:
        raise ValidationError({"effective_on": _("Cannot take effect before it was decided.")})
    if performance_deadline is not None and performance_deadline < decided_on:
        raise ValidationError({"performance_deadline": _("Cannot be before the decision.")})
    if awarded_amount is not None and awarded_amount < 0:
        raise ValidationError({"awarded_amount": _("Cannot be negative.")})
    policy = legal_policy()
    fields = (
        "decision_kind",
        "judgment_on",
        "decision_served_on",
        "awarded_amount",
        "performance_deadline",
        "effective_on",
        "appeal_deadline",
        "enforcement_deadline",
        "status",
    )
    old = {f: getattr(proceeding, f) for f in fields}
    proceeding.decision_kind = decision_kind
    proceeding.judgment_on = decided_on
    proceeding.decision_served_on = served_on
    proceeding.awarded_amount = _money(awarded_amount) if awarded_amount is not None else None
    proceeding.performance_deadline = performance_deadline
    proceeding.effective_on = effective_on
    proceeding.appeal_deadline = appeal_deadline(served_on, decision_kind, policy)
    proceeding.enforcement_deadline = enforcement_deadline(performance_deadline, policy)
    if proceeding.status in (Status.FILED, Status.DECIDED, Status.EFFECTIVE):
        proceeding.status = Status.EFFECTIVE if effective_on else Status.DECIDED
    proceeding.full_clean()
    proceeding.save(update_fields=list(fields))
    _audit(
        case,
        actor,
        "legal.decision_recorded",
        old={"proceeding": proceeding.pk, **old},
        new={"proceeding": proceeding.pk, **{f: getattr(proceeding, f) for f in fields}},
    )
    return proceeding


@transaction.atomic
def enforcement_apply(
    *, proceeding: LegalProceeding, actor: User, applied_on: date, enforcement_case_number: str = ""
) -> LegalProceeding:
    """Apply for enforcement of the decision: restarts the limitation period; ends the deadline's warnings."""
    case, proceeding = _open_file(proceeding, actor)
    if not proceeding.decision_kind:
        raise ValidationError({"applied_on": _("Record the judgment, ruling or mediation first.")})
    _not_future(applied_on, "applied_on")
    if applied_on < proceeding.judgment_on:
        raise ValidationError({"applied_on": _("Cannot be before the decision.")})
    old = {"enforcement_applied_on": proceeding.enforcement_applied_on, "status": proceeding.status}
    proceeding.enforcement_applied_on = applied_on
    proceeding.enforcement_case_number = enforcement_case_number.strip()
    proceeding.status = Status.ENFORCEMENT
    proceeding.full_clean()
    proceeding.save(update_fields=["enforcement_applied_on", "enforcement_case_number", "status"])
    _refresh_dates(case)
    late = proceeding.enforcement_deadline is not None and applied_on > proceeding.enforcement_deadline
    _audit(
        case,
        actor,
        "legal.enforcement_applied",
        old={"proceeding": proceeding.pk, **old},
        new={
            "proceeding": proceeding.pk,
            "enforcement_applied_on": applied_on,
            "enforcement_case_number": proceeding.enforcement_case_number,
            "status": proceeding.status,
            "late": late,
        },
    )
    return proceeding


@transaction.atomic
def enforcement_terminate(
    *, proceeding: LegalProceeding, actor: User, ruled_on: date, notes: str = ""
) -> LegalProceeding:
    """The ruling that ends this round of enforcement for lack of executable assets (终结本次执行).

    It is write-off evidence: the audit event `legal.enforcement_terminated` and the field
    `enforcement_terminated_on` are what the write-off dossier looks for."""
    case, proceeding = _open_file(proceeding, actor)
    if proceeding.status != Status.ENFORCEMENT:
        raise ValidationError({"ruled_on": _("Enforcement is not under way in this proceeding.")})
    _not_future(ruled_on, "ruled_on")
    if ruled_on < proceeding.enforcement_applied_on:
        raise ValidationError({"ruled_on": _("Cannot be before enforcement was applied for.")})
    proceeding.enforcement_terminated_on = ruled_on
    proceeding.status = Status.ENFORCEMENT_ENDED
    if notes.strip():
        proceeding.notes = (proceeding.notes + "\n" + notes.strip()).strip()
    proceeding.full_clean()
    proceeding.save(update_fields=["enforcement_terminated_on", "status", "notes"])
    _audit(
        case,
        actor,
        "legal.enforcement_terminated",
        old={"proceeding": proceeding.pk, "status": Status.ENFORCEMENT},
        new={"proceeding": proceeding.pk, "enforcement_terminated_on": ruled_on, "status": proceeding.status},
        reason=notes.strip(),
    )
    return proceeding


@transaction.atomic
def enforcement_resume(*, proceeding: LegalProceeding, actor: User, resumed_on: date, reason: str) -> LegalProceeding:
    """Enforcement ended for lack of assets resumes (new assets found): restarts the limitation period."""
    case, proceeding = _open_file(proceeding, actor)
    if proceeding.status != Status.ENFORCEMENT_ENDED:
        raise ValidationError({"resumed_on": _("Only enforcement that was ended for lack of assets can be resumed.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    _not_future(resumed_on, "resumed_on")
    if resumed_on < proceeding.enforcement_terminated_on:
        raise ValidationError({"resumed_on": _("Cannot be before enforcement was ended.")})
    proceeding.enforcement_resumed_on = resumed_on
    # Resuming is applying for enforcement again: the limitation period restarts from it.
    proceeding.enforcement_applied_on = resumed_on
    proceeding.status = Status.ENFORCEMENT
    proceeding.full_clean()
    proceeding.save(update_fields=["enforcement_resumed_on", "enforcement_applied_on", "status"])
    _refresh_dates(case)
    _audit(
        case,
        actor,
        "legal.enforcement_resumed",
        old={"proceeding": proceeding.pk, "status": Status.ENFORCEMENT_ENDED},
        new={"proceeding": proceeding.pk, "enforcement_resumed_on": resumed_on, "status": proceeding.status},
        reason=reason.strip(),
    )
    return proceeding


def court_deduction_record(
    *, proceeding: LegalProceeding, actor: User, received_on: date, amount: Decimal, note: str = ""
) -> Recovery:
    """Money the court deducts from the debtor: a recovery paid by court enforcement (the one recovery
    service; with the ledger merged it posts there)."""
    with transaction.atomic():
        proceeding = LegalProceeding.objects.select_related("case").get(pk=proceeding.pk)
        if proceeding.enforcement_applied_on is None:
            raise ValidationError({"received_on": _("Apply for enforcement first.")})
        if received_on < proceeding.enforcement_applied_on:
            raise ValidationError({"received_on": _("Cannot be before enforcement was applied for.")})
        return recovery_record(
            case=proceeding.case,
            actor=actor,
            received_on=received_on,
            amount=amount,
            paid_by=Recovery.PaidBy.COURT_ENFORCEMENT,
            note=note
            or _("Court deduction, %(number)s")
            % {"number": proceeding.enforcement_case_number or proceeding.case_number},
        )


# --- preservation orders ---------------------------------------------------------------------------

_LIEN_AFTER_ORDER = {
    PreservationOrder.Kind.FREEZE: Collateral.LienStatus.FROZEN,
    PreservationOrder.Kind.SEAL: Collateral.LienStatus.SEALED,
    PreservationOrder.Kind.SEIZURE: Collateral.LienStatus.SEALED,
}


@transaction.atomic
def preservation_order_record(
    *,
    proceeding: LegalProceeding,
    actor: User,
    kind: str,
    asset_kind: str,
    description: str,
    ruling_on: date,
    expires_on: date | None = None,
    asset: DebtorAsset | None = None,
    collateral: Collateral | None = None,
) -> PreservationOrder:
    """A freeze, seal or seizure: without an expiry given, the policy's default for the asset kind."""
    case, proceeding = _open_file(proceeding, actor)
    _not_future(ruling_on, "ruling_on")
    _not_before_filing(ruling_on, proceeding, "ruling_on")
    if expires_on is None:
        expires_on = preservation_expiry(ruling_on, asset_kind, legal_policy())
    elif expires_on <= ruling_on:
        raise ValidationError({"expires_on": _("The expiry must be after the ruling date.")})
    if collateral is not None and collateral.loan_id != case.loan_id:
        raise ValidationError({"collateral": _("This collateral is not pledged for the case's loan.")})
    if asset is not None and not _asset_of_case(asset, case):
        raise ValidationError({"asset": _("This asset belongs to neither the borrower nor a guarantor of the loan.")})
    order = PreservationOrder(
        proceeding=proceeding,
        kind=kind,
        asset_kind=asset_kind,
        description=description or (asset.description if asset else ""),
        ruling_on=ruling_on,
        expires_on=expires_on,
        asset=asset,
        collateral=collateral,
        recorded_by=actor,
    )
    order.full_clean()
    order.save()
    if collateral is not None:
        Collateral.objects.filter(pk=collateral.pk).update(lien_status=_LIEN_AFTER_ORDER[kind])
    _audit(
        case,
        actor,
        "legal.preservation_ordered",
        new={
            "proceeding": proceeding.pk,
            "order": order.pk,
            "kind": kind,
            "asset_kind": asset_kind,
            "ruling_on": ruling_on,
            "expires_on": expires_on,
        },
    )
    return order


def _order_for_update(order: PreservationOrder, actor: User) -> tuple[CollectionCase, PreservationOrder]:
    case = _lock(order.proceeding.case)
    _require_work(case, actor)
    order = PreservationOrder.objects.select_for_update().get(pk=order.pk)
    if order.released_on is not None:
        raise ValidationError(_("This order was released on %(on)s.") % {"on": order.released_on})
    return case, order


@transaction.atomic
def preservation_order_renew(
    *, order: PreservationOrder, actor: User, renewed_on: date, expires_on: date
) -> PreservationOrder:
    """Renewed by the court before it expires: a lapsed order cannot be renewed (record a new one)."""
    case, order = _order_for_update(order, actor)
    _not_future(renewed_on, "renewed_on")
    if renewed_on > order.expires_on:
        raise ValidationError(
            {"renewed_on": _("The order lapsed on %(on)s: it can no longer be renewed.") % {"on": order.expires_on}}
        )
    if renewed_on < order.ruling_on:
        raise ValidationError({"renewed_on": _("Cannot be before the ruling.")})
    if expires_on <= order.expires_on:
        raise ValidationError(
            {"expires_on": _("The new expiry must be after the current one (%(on)s).") % {"on": order.expires_on}}
        )
    old = {"order": order.pk, "expires_on": order.expires_on, "renewals": order.renewals}
    order.expires_on = expires_on
    order.last_renewed_on = renewed_on
    order.renewals += 1
    order.full_clean()
    order.save(update_fields=["expires_on", "last_renewed_on", "renewals"])
    _audit(
        case,
        actor,
        "legal.preservation_renewed",
        old=old,
        new={"order": order.pk, "expires_on": expires_on, "renewals": order.renewals, "on": renewed_on},
    )
    return order


@transaction.atomic
def preservation_order_release(
    *, order: PreservationOrder, actor: User, released_on: date, reason: str
) -> PreservationOrder:
    case, order = _order_for_update(order, actor)
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    _not_future(released_on, "released_on")
    if released_on < order.ruling_on:
        raise ValidationError({"released_on": _("Cannot be before the ruling.")})
    order.released_on = released_on
    order.release_reason = reason.strip()
    order.full_clean()
    order.save(update_fields=["released_on", "release_reason"])
    if order.collateral_id is not None:
        Collateral.objects.filter(pk=order.collateral_id).update(lien_status=Collateral.LienStatus.FREE)
    _audit(
        case,
        actor,
        "legal.preservation_released",
        old={"order": order.pk, "released_on": None},
        new={"order": order.pk, "released_on": released_on},
        reason=order.release_reason,
    )
    return order


# --- the debtor's assets -----------------------------------------------------------------------------


def _asset_of_case(asset: DebtorAsset, case: CollectionCase) -> bool:
    if asset.borrower_id is not None:
        return asset.borrower_id == case.loan.borrower_id
    return Guarantee.objects.filter(loan_id=case.loan_id, guarantor_id=asset.guarantor_id).exists()


@transaction.atomic
def debtor_asset_register(
    *,
    actor: User,
    branch: Branch,
    kind: str,
    description: str,
    found_on: date,
    estimated_value: Decimal,
    where_found: str = "",
    borrower: Borrower | None = None,
    guarantor: Guarantor | None = None,
) -> DebtorAsset:
    """Add an asset of a borrower or a guarantor to the register (scoped to the branch recording it)."""
    if (borrower is None) == (guarantor is None):
        raise ValidationError(_("An asset belongs to a borrower or to a guarantor."))
    if getattr(actor, "role", "") not in ("officer", "manager"):
        raise PermissionDenied(_("Only officers and managers record the debtor's assets."))
    _not_future(found_on, "found_on")
    if estimated_value is None or estimated_value < 0:
        raise ValidationError({"estimated_value": _("Cannot be negative.")})
    asset = DebtorAsset(
        borrower=borrower,
        guarantor=guarantor,
        branch=branch,
        kind=kind,
        description=description,
        where_found=where_found,
        found_on=found_on,
        estimated_value=_money(estimated_value),
        recorded_by=actor,
    )
    asset.full_clean()
    asset.save()
    audit_record(
        actor=actor,
        event_type="legal.asset_registered",
        subject=asset,
        branch_id=branch.pk,
        new={
            "kind": kind,
            "description": description,
            "found_on": found_on,
            "estimated_value": asset.estimated_value,
            "borrower": borrower.pk if borrower else None,
            "guarantor": guarantor.pk if guarantor else None,
        },
    )
    return asset


@transaction.atomic
def debtor_asset_sell(
    *, asset: DebtorAsset, case: CollectionCase, actor: User, sold_on: date, proceeds: Decimal
) -> DebtorAsset:
    """The sale of an effective asset (pressure measure or auction): the proceeds are a recovery on the case."""
    asset = DebtorAsset.objects.select_for_update().get(pk=asset.pk)
    case = CollectionCase.objects.select_related("loan").get(pk=case.pk)
    if asset.sold_on is not None:
        raise ValidationError(_("This asset was sold on %(on)s.") % {"on": asset.sold_on})
    if not _asset_of_case(asset, case):
        raise ValidationError({"asset": _("This asset belongs to neither the borrower nor a guarantor of the loan.")})
    _not_future(sold_on, "sold_on")
    proceeds = _money(proceeds)
    if proceeds <= 0:
        raise ValidationError({"proceeds": _("A sale brings a positive amount.")})
    recovery_record(
        case=case,
        actor=actor,
        received_on=sold_on,
        amount=proceeds,
        note=_("Sale of %(asset)s") % {"asset": asset.description},
    )
    asset.sold_on, asset.sale_proceeds = sold_on, proceeds
    asset.full_clean()
    asset.save(update_fields=["sold_on", "sale_proceeds"])
    audit_record(
        actor=actor,
        event_type="legal.asset_sold",
        subject=asset,
        branch_id=asset.branch_id,
        new={"case": case.pk, "on": sold_on, "amount": proceeds},
    )
    return asset


# --- guarantee periods -------------------------------------------------------------------------------


@transaction.atomic
def guarantee_term_set(
    *, case: CollectionCase, guarantee: Guarantee, actor: User, period_ends_on: date
) -> GuaranteeTerm:
    """The guarantee period's end as the contract sets it (replacing the 6-month default)."""
    case = _lock(case)
    _require_work(case, actor)
    if guarantee.loan_id != case.loan_id:
        raise ValidationError({"guarantee": _("This guarantee is not on the case's loan.")})
    term = GuaranteeTerm.objects.filter(guarantee=guarantee).first()
    old = {"guarantee": guarantee.pk, "period_ends_on": term.period_ends_on if term else None}
    if term is None:
        term = GuaranteeTerm(guarantee=guarantee, period_ends_on=period_ends_on, recorded_by=actor)
    else:
        term.period_ends_on, term.recorded_by = period_ends_on, actor
    term.full_clean()
    term.save()
    _audit(
        case,
        actor,
        "legal.guarantee_period_set",
        old=old,
        new={"guarantee": guarantee.pk, "period_ends_on": period_ends_on},
    )
    return term


# --- fees -------------------------------------------------------------------------------------------------

FEE_KINDS = ("litigation", "lawyer", "preservation", "appraisal", "auction")


def proceeding_fee_record(
    *,
    proceeding: LegalProceeding,
    actor: User,
    kind: str,
    amount: Decimal,
    incurred_on: date,
    borne_by: str = "bank",
    note: str = "",
) -> Any:
    """A court, lawyer, preservation, appraisal or auction fee of the proceeding: a cost of the case
    (collections_app's cost_record, the one place costs are written), its source the court case number."""
    if kind not in FEE_KINDS:
        raise ValidationError({"kind": _("Choose a court, lawyer, preservation, appraisal or auction fee.")})
    return cost_record(
        case=proceeding.case,
        actor=actor,
        kind=kind,
        amount=amount,
        incurred_on=incurred_on,
        borne_by=borne_by,
        note=note,
        source_document=proceeding.case_number[:200],
    )
