"""The case's timeline records: contacts, notices, promises, guarantor demands and legal steps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import AuditRow, audit_records_bulk
from collections_app.models import (
    CollectionCase,
    Contact,
    GuarantorDemand,
    LegalProceeding,
    LegalStep,
    Notice,
    PromiseToPay,
    Recovery,
)
from collections_app.services._common import _audit, _lock, _money, _not_future, _require_work, _save
from collections_app.services.dates import _refresh_dates, cases_refresh_dates
from collections_app.services.money import _record_recovery
from loans.models import Collateral, Guarantee, User
from npl_recovery.i18n import format_amount


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
    tracking_number: str = "",
    document: Any = None,
    receipt: Any = None,
) -> Notice:
    """A notice served: how (registered mail needs its tracking number), which generated document,
    and the signed receipt (an upload kept as evidence; a signed receipt means signed by the debtor)."""
    case = _lock(case)
    _require_work(case, actor)
    _not_future(served_on, "served_on")
    tracking_number = (tracking_number or "").strip()
    if method == Notice.Method.REGISTERED_MAIL and not tracking_number:
        raise ValidationError({"tracking_number": _("Registered mail: give the tracking number.")})
    if document is not None and document.case_id != case.pk:
        raise ValidationError({"document": _("This document was not generated for this case.")})
    if receipt:
        _check_receipt(receipt)
        signed_acknowledgement = True
    notice = _save(
        Notice(
            case=case,
            served_on=served_on,
            served_to=served_to,
            method=method,
            tracking_number=tracking_number,
            document=document,
            signed_acknowledgement=signed_acknowledgement,
            notes=notes,
            recorded_by=actor,
        )
    )
    if receipt:
        notice.receipt = _keep_receipt(notice=notice, actor=actor, upload=receipt)
        notice.save(update_fields=["receipt"])
    if signed_acknowledgement:
        _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.notice_served",
        new={
            "notice": notice.pk,
            "on": served_on,
            "method": method,
            "tracking_number": tracking_number,
            "document": document.number if document is not None else None,
            "receipt": notice.receipt_id,
            "signed_acknowledgement": signed_acknowledgement,
        },
    )
    return notice


@transaction.atomic
def notice_receipt_attach(*, notice: Notice, actor: User, receipt: Any) -> Notice:
    """The signed receipt of a notice already recorded: kept as evidence; the notice counts as signed."""
    case = _lock(notice.case)
    _require_work(case, actor)
    notice = Notice.objects.select_for_update().get(pk=notice.pk, case=case)
    if notice.receipt_id is not None:
        raise ValidationError({"notice": _("This notice's receipt is already attached.")})
    _check_receipt(receipt)
    notice.receipt = _keep_receipt(notice=notice, actor=actor, upload=receipt)
    was_signed = notice.signed_acknowledgement
    notice.signed_acknowledgement = True
    notice.save(update_fields=["receipt", "signed_acknowledgement"])
    if not was_signed:
        _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.notice_receipt_attached",
        old={"notice": notice.pk, "receipt": None, "signed_acknowledgement": was_signed},
        new={"notice": notice.pk, "receipt": notice.receipt_id, "signed_acknowledgement": True},
    )
    return notice


def _check_receipt(upload: Any) -> None:
    """The receipt's size and type, checked before anything is written; the refusal names `receipt`."""
    from evidence.services import evidence_check  # the evidence app builds on this one

    try:
        evidence_check(upload)
    except ValidationError as exc:
        raise ValidationError({"receipt": exc.message_dict["file"]}) from exc


def _keep_receipt(*, notice: Notice, actor: User, upload: Any):
    from evidence.models import EvidenceFile
    from evidence.services import evidence_upload

    return evidence_upload(actor=actor, target=notice, upload=upload, kind=EvidenceFile.Kind.RECEIPT)


@transaction.atomic
def promise_record(
    *, case: CollectionCase, actor: User, promised_on: date, amount: Decimal, due_on: date, notes: str = ""
) -> PromiseToPay:
    case = _lock(case)
    _require_work(case, actor)
    _not_future(promised_on, "promised_on")
    amount = _money(amount)
    if amount > case.loan.total_owed:
        raise ValidationError(
            {"amount": _("More than the %(owed)s owed.") % {"owed": format_amount(case.loan.total_owed)}}
        )
    if due_on < promised_on:
        raise ValidationError({"due_on": _("The due date cannot be before the promise.")})
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
        raise ValidationError({"guarantee": _("This guarantee is not on the case's loan.")})
    amount = _money(amount)
    if amount > guarantee.amount:
        raise ValidationError(
            {"amount": _("More than the %(amount)s guaranteed.") % {"amount": format_amount(guarantee.amount)}}
        )
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
    *,
    case: CollectionCase,
    actor: User,
    court: str,
    case_number: str,
    filed_on: date,
    notes: str = "",
    forum: str = LegalProceeding.Forum.COURT,
    cause: str = "",
    claim_principal: Decimal | None = None,
    claim_interest: Decimal | None = None,
    claim_costs: Decimal | None = None,
    lawyer: str = "",
) -> LegalProceeding:
    """File a suit (or arbitration, or a complaint to a procuratorate or another authority): the case file."""
    case = _lock(case)
    _require_work(case, actor)
    _not_future(filed_on, "filed_on")
    proceeding = _save(
        LegalProceeding(
            case=case,
            forum=forum,
            court=court,
            case_number=case_number,
            cause=cause,
            claim_principal=_money(claim_principal or 0),
            claim_interest=_money(claim_interest or 0),
            claim_costs=_money(claim_costs or 0),
            lawyer=lawyer,
            filed_on=filed_on,
            notes=notes,
            recorded_by=actor,
        )
    )
    # Filing a suit restarts the limitation period.
    _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.legal_filed",
        new={
            "proceeding": proceeding.pk,
            "forum": forum,
            "court": court,
            "case_number": case_number,
            "filed_on": filed_on,
            "claim": proceeding.claim_total,
        },
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
        raise ValidationError(_("Give the judgment date or the enforcement order date."))
    for field, value in (("judgment_on", judgment_on), ("enforcement_order_on", enforcement_order_on)):
        if value is not None:
            _not_future(value, field)
            if value < proceeding.filed_on:
                raise ValidationError({field: _("Cannot be before the proceeding was filed.")})
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
        raise ValidationError({"taken_on": _("Cannot be before the proceeding was filed.")})
    if collateral is not None and collateral.loan_id != case.loan_id:
        raise ValidationError({"collateral": _("This collateral is not pledged for the case's loan.")})
    if kind == LegalStep.Kind.DEDUCT and (amount is None or _money(amount) <= 0):
        raise ValidationError({"amount": _("Give the amount the court deducted.")})
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
    if kind == LegalStep.Kind.DEDUCT:
        # Issue 11: money the court deducted is a recovery (court deduction in the ledger): it lowers
        # the debt and counts as cash recovered.
        _record_recovery(
            case=case,
            actor=actor,
            received_on=taken_on,
            amount=step.amount,
            paid_by=Recovery.PaidBy.COURT_ENFORCEMENT,
            form=Recovery.Form.CASH,
            as_of=timezone.localdate(),
            note=f"Court deduction ({proceeding.court} {proceeding.case_number})"[:300],
            arrears_cleared=False,
            source=f"legal step {step.pk}",
            date_field="taken_on",
        )
    return step
