"""Corrections of the loan book by hand: loans, borrowers, guarantors, guarantees and collateral.

The import (loans/importing) is how the book normally changes; these are for one record at a
time (the Django admin calls them). Each checks the actor may correct the book and sees the
record, validates with the model's own rules, writes in one transaction and records an
AuditEvent with the old and new values. A loan whose facts change is reclassified at once, its
provision recomputed, and the classes and provision that moved are in the same event.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from loans.classification import arrears_cleared_on
from loans.models import Borrower, Collateral, Guarantee, Guarantor, Loan
from loans.permissions import role_allows
from loans.services._fields import apply_changes
from loans.services.classification import loans_reclassify

M = TypeVar("M", bound=models.Model)

# What a correction may change: the facts the core banking book also sends (loans/importing).
# The borrower, branch and officers of a loan, its classes, write-off and restructuring change
# through their own services (import, responsibility, collection cases, classification).
LOAN_FACT_FIELDS = (
    "product",
    "principal",
    "outstanding_principal",
    "interest_on_balance",
    "interest_off_balance",
    "disbursed_on",
    "maturity_on",
    "overdue_since",
    "business_ceased",
    "government_directed",
)
# What the classification run derives from the facts; recorded in the loan's audit event when it moved.
_DERIVED = ("five_level_class", "four_level_class", "specific_provision")
BALANCE_FIELDS = ("outstanding_principal", "interest_on_balance", "interest_off_balance")
BORROWER_FIELDS = ("name", "kind", "id_no", "group_code", "phone", "address")
GUARANTOR_FIELDS = ("name", "kind", "id_no", "phone", "borrower")
GUARANTEE_FIELDS = ("amount", "signed_on")
COLLATERAL_FIELDS = ("kind", "description", "appraised_value", "appraised_on", "lien_status")


def _require_corrector(actor: Any) -> None:
    if not role_allows(actor, "loans.correct_book"):
        raise PermissionDenied(_("Only an administrator corrects the loan book by hand."))


def _locked(model: type[M], obj: M, actor: Any) -> M:
    """The row, locked, if the actor sees it (else PermissionDenied: another branch's record)."""
    found = model._default_manager.visible_to(actor).select_for_update().filter(pk=obj.pk).first()
    if found is None:
        raise PermissionDenied(_("This record is outside your branches."))
    return found


def _correct(
    model: type[M], obj: M, *, actor: Any, fields: tuple[str, ...], changes: dict, event: str, branch_id, reason: str
) -> M:
    """One correction by hand of a book record: locked in scope, validated, saved, audited (old and new).
    `branch_id` is a function of the saved record (the branch its audit row belongs to)."""
    _require_corrector(actor)
    obj = _locked(model, obj, actor)
    old, new = apply_changes(obj, changes, fields)
    if new:
        obj.full_clean()
        obj.save(update_fields=list(new))
        audit_record(
            actor=actor, event_type=event, subject=obj, branch_id=branch_id(obj), old=old, new=new, reason=reason
        )
    return obj


def _require_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Say why the loan is corrected (e.g. the core banking book's figure).")})
    return reason.strip()


# --- loans ---------------------------------------------------------------------------------------


@transaction.atomic
def loan_update(*, loan: Loan, actor: Any, as_of: date, reason: str, **changes: Any) -> Loan:
    """Correct a loan's facts (amounts, dates, flags), then reclassify it as of `as_of`."""
    _require_corrector(actor)
    reason = _require_reason(reason)
    loan = _locked(Loan, loan, actor)
    was_overdue_since = loan.overdue_since
    old, new = apply_changes(loan, changes, LOAN_FACT_FIELDS)
    if not new:
        return loan
    cleared = arrears_cleared_on(
        was_overdue_since=was_overdue_since,
        overdue_since=loan.overdue_since,
        cleared_on=loan.arrears_cleared_on,
        as_of=as_of,
    )
    if cleared != loan.arrears_cleared_on:
        old["arrears_cleared_on"], new["arrears_cleared_on"] = loan.arrears_cleared_on, cleared
        loan.arrears_cleared_on = cleared
    loan.full_clean()  # the loan as it will be
    # The balances change through the ledger only (issue 11): a "correction from the book" entry.
    deltas = {name: new[name] - old[name] for name in BALANCE_FIELDS if name in new}
    for name in deltas:
        setattr(loan, name, old[name])
    facts = [name for name in new if name not in BALANCE_FIELDS]
    # A lower principal: the outstanding principal falls first, so it never exceeds the principal.
    principal_first = "principal" in new and new["principal"] < old["principal"]
    if deltas and principal_first:
        _post_correction(loan, deltas, actor=actor, as_of=as_of, reason=reason)
    if facts:
        loan.save(update_fields=[*facts, "updated_at"])
    if deltas and not principal_first:
        _post_correction(loan, deltas, actor=actor, as_of=as_of, reason=reason)
    before = {name: getattr(loan, name) for name in _DERIVED}
    loans_reclassify(as_of=as_of, actor=actor, loan_ids=[loan.pk])
    loan.refresh_from_db()
    for name, value in before.items():
        if getattr(loan, name) != value:
            old[name], new[name] = value, getattr(loan, name)
    audit_record(
        actor=actor, event_type="loan.updated", subject=loan, branch_id=loan.branch_id, old=old, new=new, reason=reason
    )
    return loan


def _post_correction(loan: Loan, deltas: dict[str, Decimal], *, actor: Any, as_of: date, reason: str) -> None:
    from ledger.rules import EntryKind
    from ledger.services import ledger_post

    ledger_post(
        loan=loan,
        kind=EntryKind.BOOK_CORRECTION,
        principal=deltas.get("outstanding_principal", Decimal("0")),
        interest_on=deltas.get("interest_on_balance", Decimal("0")),
        interest_off=deltas.get("interest_off_balance", Decimal("0")),
        value_date=max(as_of, loan.disbursed_on),
        actor=actor,
        as_of=as_of,
        source="correction by hand",
        note=reason,
    )


# --- borrowers and guarantors ------------------------------------------------------------------------


def _borrower_branch_id(borrower_id: int) -> int | None:
    """The branch of a borrower's first loan: where the borrower's audit events are scoped."""
    return Loan.objects.filter(borrower_id=borrower_id).order_by("pk").values_list("branch_id", flat=True).first()


@transaction.atomic
def borrower_update(*, borrower: Borrower, actor: Any, reason: str = "", **changes: Any) -> Borrower:
    _require_corrector(actor)
    borrower = _locked(Borrower, borrower, actor)
    old, new = apply_changes(borrower, changes, BORROWER_FIELDS)
    if new:
        borrower.full_clean()
        borrower.save(update_fields=list(new))
        audit_record(
            actor=actor,
            event_type="borrower.updated",
            subject=borrower,
            branch_id=_borrower_branch_id(borrower.pk),
            old=old,
            new=new,
            reason=reason,
        )
    return borrower


@transaction.atomic
def guarantor_create(
    *,
    name: str,
    id_no: str,
    actor: Any,
    kind: str = Guarantor.Kind.INDIVIDUAL,
    phone: str = "",
    borrower: Borrower | None = None,
    reason: str = "",
) -> Guarantor:
    """A guarantor entered by hand (to be named in a guarantee next)."""
    _require_corrector(actor)
    values = {"name": name, "kind": kind, "id_no": id_no, "phone": phone, "borrower": borrower}
    guarantor = Guarantor(**values)
    guarantor.full_clean()
    guarantor.save()
    audit_record(actor=actor, event_type="guarantor.created", subject=guarantor, new=values, reason=reason)
    return guarantor


@transaction.atomic
def guarantor_update(*, guarantor: Guarantor, actor: Any, reason: str = "", **changes: Any) -> Guarantor:
    def branch_of(g: Guarantor) -> int | None:
        found = Guarantee.objects.filter(guarantor=g).order_by("pk").values_list("loan__branch_id").first()
        return found[0] if found else None

    return _correct(
        Guarantor,
        guarantor,
        actor=actor,
        fields=GUARANTOR_FIELDS,
        changes=changes,
        event="guarantor.updated",
        branch_id=branch_of,
        reason=reason,
    )


# --- guarantees ------------------------------------------------------------------------------------


@transaction.atomic
def guarantee_add(
    *,
    loan: Loan,
    guarantor: Guarantor,
    amount: Decimal,
    actor: Any,
    signed_on: date | None = None,
    reason: str = "",
) -> Guarantee:
    _require_corrector(actor)
    loan = _locked(Loan, loan, actor)
    guarantee = Guarantee(loan=loan, guarantor=guarantor, amount=amount, signed_on=signed_on)
    guarantee.full_clean()
    guarantee.save()
    audit_record(
        actor=actor,
        event_type="guarantee.added",
        subject=guarantee,
        branch_id=loan.branch_id,
        new={"loan": loan, "guarantor": guarantor, "amount": guarantee.amount, "signed_on": signed_on},
        reason=reason,
    )
    return guarantee


@transaction.atomic
def guarantee_update(*, guarantee: Guarantee, actor: Any, reason: str = "", **changes: Any) -> Guarantee:
    return _correct(
        Guarantee,
        guarantee,
        actor=actor,
        fields=GUARANTEE_FIELDS,
        changes=changes,
        event="guarantee.updated",
        branch_id=lambda g: g.loan.branch_id,
        reason=reason,
    )


@transaction.atomic
def guarantee_remove(*, guarantee: Guarantee, actor: Any, reason: str = "") -> None:
    """Remove a guarantee entered by mistake. One that demands were made under is kept (the case's
    timeline refers to it)."""
    _require_corrector(actor)
    guarantee = _locked(Guarantee, guarantee, actor)
    if guarantee.demands.exists():
        raise ValidationError(
            _("Demands on the guarantor were recorded under this guarantee of loan %(loan)s: it is kept.")
            % {"loan": guarantee.loan.loan_no}
        )
    audit_record(
        actor=actor,
        event_type="guarantee.removed",
        subject=guarantee,
        branch_id=guarantee.loan.branch_id,
        old={
            "loan": guarantee.loan_id,
            "guarantor": guarantee.guarantor_id,
            "amount": guarantee.amount,
            "signed_on": guarantee.signed_on,
        },
        reason=reason,
    )
    guarantee.delete()


# --- collateral ------------------------------------------------------------------------------------


@transaction.atomic
def collateral_add(
    *,
    loan: Loan,
    kind: str,
    description: str,
    appraised_value: Decimal,
    actor: Any,
    appraised_on: date | None = None,
    lien_status: str = Collateral.LienStatus.FREE,
    reason: str = "",
) -> Collateral:
    _require_corrector(actor)
    loan = _locked(Loan, loan, actor)
    values = {
        "kind": kind,
        "description": description,
        "appraised_value": appraised_value,
        "appraised_on": appraised_on,
        "lien_status": lien_status,
    }
    collateral = Collateral(loan=loan, **values)
    collateral.full_clean()
    collateral.save()
    audit_record(
        actor=actor,
        event_type="collateral.added",
        subject=collateral,
        branch_id=loan.branch_id,
        new={"loan": loan, **values},
        reason=reason,
    )
    return collateral


@transaction.atomic
def collateral_update(*, collateral: Collateral, actor: Any, reason: str = "", **changes: Any) -> Collateral:
    return _correct(
        Collateral,
        collateral,
        actor=actor,
        fields=COLLATERAL_FIELDS,
        changes=changes,
        event="collateral.updated",
        branch_id=lambda c: c.loan.branch_id,
        reason=reason,
    )


@transaction.atomic
def collateral_remove(*, collateral: Collateral, actor: Any, reason: str = "") -> None:
    """Remove collateral entered by mistake (legal steps that named it keep their record without it)."""
    _require_corrector(actor)
    collateral = _locked(Collateral, collateral, actor)
    audit_record(
        actor=actor,
        event_type="collateral.removed",
        subject=collateral,
        branch_id=collateral.loan.branch_id,
        old={"loan": collateral.loan_id, **{name: getattr(collateral, name) for name in COLLATERAL_FIELDS}},
        reason=reason,
    )
    collateral.delete()
