"""Reconciling the imports with the ledger: the falls an import reported, and their classification.

- `reported_falls_record`: set-based, in the import's transaction: a `ReportedFall` to classify for
  every "reported by the book" entry of the batch on a loan with an open case.
- `reported_fall_classify`: the loan's officer (or a manager) says what a fall was. A cash repayment
  (the officer confirms the value date) becomes a recovery that counts; a refinancing posts as such
  (it never counts as recovery); "other" keeps the reported entry, with the note. While a "loans by
  loans" flag on the fall is not cleared by a manager, it cannot be classified a cash repayment.
- `rise_acknowledge`: the loan's officer (or a manager) acknowledges a rise of a non-performing loan's
  balance reported by an import, saying why; it leaves the list of rises.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from collections_app.models import Recovery
from collections_app.services.money import case_settle
from ledger import rules as ledger_rules
from ledger.models import LedgerEntry
from ledger.services import ledger_post
from loans.models import Loan, User
from loans.permissions import is_manager, role_allows
from reconciliation.models import ReportedFall, RiseAcknowledgement

Outcome = ReportedFall.Outcome


def reported_falls_record(*, batch_id: int, as_of: date, now: datetime) -> int:
    """Set-based: the falls of import `batch_id` that the officers classify (those on a loan with an
    open case; the entry names the case). The officer is the case's. Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ReportedFall._meta.db_table}
                (entry_id, loan_id, case_id, branch_id, officer_id, amount, reported_on, status, outcome, note,
                 created_at)
            SELECT e.id, e.loan_id, e.case_id, c.branch_id, c.officer_id,
                   -(e.principal + e.interest_on_balance + e.interest_off_balance), %s, 'to_classify', '', '', %s
              FROM {LedgerEntry._meta.db_table} e
              JOIN collections_app_collectioncase c ON c.id = e.case_id
             WHERE e.import_batch_id = %s AND e.kind = %s AND e.case_id IS NOT NULL
            """,
            [as_of, now, batch_id, ledger_rules.EntryKind.BOOK_REPORTED.value],
        )
        return max(cursor.rowcount, 0)


def refinancing_flag_pending(fall: ReportedFall) -> Any:
    """The "loans by loans" flag on this fall that a manager has not cleared, if any."""
    from accountability.models import LoansByLoansFlag

    return (
        LoansByLoansFlag.objects.filter(ledger_entry_id=fall.entry_id)
        .exclude(status=LoansByLoansFlag.Status.CLEARED)
        .order_by("pk")
        .first()
    )


def may_classify(user: Any, fall: ReportedFall) -> bool:
    """The case's officer, or a manager of its branches (the caller has scoped `fall` already)."""
    if not role_allows(user, "reconciliation.classify_fall"):
        return False
    return is_manager(user) or fall.officer_id == user.pk or fall.case.officer_id == user.pk


@transaction.atomic
def reported_fall_classify(
    *,
    fall: ReportedFall,
    outcome: str,
    actor: User,
    as_of: date,
    value_date: date | None = None,
    note: str = "",
) -> ReportedFall:
    """Say what a fall reported by the book was (one transaction, audited)."""
    fall = (
        ReportedFall.objects.select_for_update()
        .visible_to(actor)
        .select_related("entry", "case", "loan")
        .filter(pk=fall.pk)
        .first()
    )
    if fall is None:
        raise PermissionDenied(_("This balance change is outside your branches."))
    if not may_classify(actor, fall):
        raise PermissionDenied(_("The loan's officer or a manager classifies this balance change."))
    if fall.status != ReportedFall.Status.TO_CLASSIFY:
        raise ValidationError(_("This balance change is already classified."))
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose what the fall was.")})
    note = (note or "").strip()
    if outcome == Outcome.OTHER and not note:
        raise ValidationError({"note": _("Say what it was.")})
    entry: LedgerEntry = fall.entry
    deltas = {
        "principal": entry.principal,
        "interest_on": entry.interest_on_balance,
        "interest_off": entry.interest_off_balance,
    }
    source = _("classification of entry %(entry)s") % {"entry": entry.pk}
    settle_case = False
    if outcome == Outcome.CASH_REPAYMENT:
        if value_date is None:
            raise ValidationError({"value_date": _("Confirm the day the money came in.")})
        flag = refinancing_flag_pending(fall)
        if flag is not None:
            raise ValidationError(
                {
                    "outcome": _(
                        "A new loan went to a related borrower near this fall (“loans by loans”): it counts as "
                        "no recovery until a manager clears the flag on the prevention page."
                    )
                }
            )
    if outcome in (Outcome.CASH_REPAYMENT, Outcome.REFINANCING):
        kind = (
            ledger_rules.EntryKind.CASH_RECOVERY
            if outcome == Outcome.CASH_REPAYMENT
            else ledger_rules.EntryKind.REFINANCING
        )
        posted_on = value_date if outcome == Outcome.CASH_REPAYMENT else entry.value_date
        loan = Loan.objects.select_for_update().get(pk=fall.loan_id)
        # The same change, posted with its kind: the reported fall reversed first, so the balance
        # ends where the book put it. The value date is checked by the ledger (naming value_date).
        reversal = ledger_post(
            loan=loan,
            kind=ledger_rules.EntryKind.BOOK_CORRECTION,
            principal=-deltas["principal"],
            interest_on=-deltas["interest_on"],
            interest_off=-deltas["interest_off"],
            value_date=entry.value_date,
            actor=actor,
            as_of=as_of,
            source=source,
            case=fall.case,
            note=_("reversed: classified as %(outcome)s") % {"outcome": Outcome(outcome).label},
        )
        recovery = None
        if kind == ledger_rules.EntryKind.CASH_RECOVERY:
            recovery = _recovery_row(fall, posted_on, actor, note)
        posted = ledger_post(
            loan=loan,
            kind=kind,
            **deltas,
            value_date=posted_on,
            actor=actor,
            as_of=as_of,
            source=source,
            case=fall.case,
            note=note,
            recovery=recovery,
        )
        fall.reversal, fall.posted = reversal, posted
        if loan.outstanding_principal + loan.interest_on_balance + loan.interest_off_balance == 0:
            # Nothing owed any more: the case ends recovered (money came in) or refinanced, by the
            # same rule as for any other entry.
            settle_case = True
    old = {"status": fall.status}
    fall.status = ReportedFall.Status.CLASSIFIED
    fall.outcome = outcome
    fall.value_date = value_date if outcome == Outcome.CASH_REPAYMENT else None
    fall.note = note
    fall.classified_by = actor
    fall.classified_at = timezone.now()
    fall.full_clean()
    fall.save()
    audit_record(
        actor=actor,
        event_type="reconciliation.fall_classified",
        subject=fall,
        branch_id=fall.branch_id,
        old=old,
        new={
            "status": fall.status,
            "outcome": outcome,
            "value_date": fall.value_date,
            "entry": entry.pk,
            "posted": fall.posted_id,
            "amount": fall.amount,
        },
        reason=note,
    )
    if settle_case:
        case_settle(case=fall.case, actor=actor, on=as_of)
    return fall


def _recovery_row(fall: ReportedFall, received_on: date, actor: User, note: str) -> Recovery:
    """The case's timeline row of a fall classified a cash repayment (the ledger entry links it)."""
    entry = fall.entry
    parts = [-entry.principal, -entry.interest_on_balance, -entry.interest_off_balance]
    recovery = Recovery(
        case=fall.case,
        received_on=received_on,
        amount=sum(parts, Decimal("0.00")),
        form=Recovery.Form.CASH,
        paid_by=Recovery.PaidBy.BORROWER,
        principal=parts[0],
        interest_on_balance=parts[1],
        interest_off_balance=parts[2],
        note=(note or _("reported by the book, classified a cash repayment"))[:300],
        recorded_by=actor,
    )
    recovery.full_clean()
    recovery.save()
    return recovery


def may_acknowledge_rise(user: Any, entry: LedgerEntry) -> bool:
    """The loan's officer (responsible for it, or the officer of the entry's case), or a manager (the
    caller has scoped `entry` already)."""
    if not role_allows(user, "reconciliation.acknowledge_rise"):
        return False
    if is_manager(user):
        return True
    return user.pk in (entry.loan.responsible_officer_id, entry.case.officer_id if entry.case_id else None)


@transaction.atomic
def rise_acknowledge(*, entry: LedgerEntry, actor: User, reason: str) -> RiseAcknowledgement:
    """Acknowledge a rise of a non-performing loan's balance reported by an import (one transaction,
    audited with the reason). The ledger entry stays as written."""
    from loans.classification import NON_PERFORMING_FIVE_CODES

    entry = LedgerEntry.objects.visible_to(actor).select_related("loan", "case").filter(pk=entry.pk).first()
    if entry is None:
        raise PermissionDenied(_("This balance change is outside your branches."))
    if not may_acknowledge_rise(actor, entry):
        raise PermissionDenied(_("The loan's officer or a manager acknowledges this balance change."))
    Loan.objects.select_for_update().filter(pk=entry.loan_id).first()  # one acknowledgement at a time
    if RiseAcknowledgement.objects.filter(entry=entry).exists():
        raise ValidationError(_("This rise is already acknowledged."))
    is_rise = entry.kind == LedgerEntry.Kind.BOOK_CORRECTION and entry.import_batch_id is not None
    if not is_rise or entry.loan.five_level_class not in NON_PERFORMING_FIVE_CODES:
        raise ValidationError(
            _("Only rises of a non-performing loan's balance reported by an import are acknowledged here.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the rise is right (or what was done about it).")})
    acknowledgement = RiseAcknowledgement(
        entry=entry, branch_id=entry.loan.branch_id, reason=reason, acknowledged_by=actor
    )
    acknowledgement.full_clean()
    acknowledgement.save()
    audit_record(
        actor=actor,
        event_type="reconciliation.rise_acknowledged",
        subject=entry.loan,
        branch_id=entry.loan.branch_id,
        new={
            "entry": entry.pk,
            "principal": entry.principal,
            "interest_on_balance": entry.interest_on_balance,
            "interest_off_balance": entry.interest_off_balance,
            "value_date": entry.value_date,
        },
        reason=reason,
    )
    return acknowledgement
