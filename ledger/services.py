"""The only code that changes a loan's outstanding principal, interest on and interest off the
balance sheet: every change is a `LedgerEntry`, written in the same transaction as the loan.

- `ledger_post`: one entry on one loan (recoveries, court deductions, disposal proceeds, write-offs,
  refinancings, corrections of the book by hand). Locks the loan, validates, writes, audits.
- `ledger_post_book_changes`: set-based, for the importer: the balances the book now reports for
  many loans; one entry per loan whose balance changed, written with one bulk INSERT and the loans
  with one UPDATE per batch, one audit event.
- `ledger_open_loan` / `ledger_open_loans`: the opening-balance entry of a loan just created with
  its balances (one loan, or set-based for many).
- `ledger_entry_decide`: a manager approves or refuses a backdated recovery entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from ledger import rules
from ledger.models import LedgerEntry
from ledger.policy import ledger_policy
from loans.models import ImportBatch, Loan, User
from loans.permissions import role_allows
from npl_recovery.i18n import format_amount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
LOAN_SUBJECT = Loan._meta.label_lower
BALANCE_FIELDS = ("outstanding_principal", "interest_on_balance", "interest_off_balance")
# The earliest value date accepted at all (a typing slip like 0001-01-01 is refused before the rest).
EARLIEST_VALUE_DATE = date(1950, 1, 1)


def _money(value: Any) -> Decimal:
    return Decimal(value if value is not None else 0).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BookChange:
    """The balances the book now reports for one loan (absolute figures, not changes)."""

    loan_id: int
    principal: Decimal
    interest_on: Decimal
    interest_off: Decimal
    # None: "reported by the book" for a fall, "correction from the book" for a rise.
    kind: str | None = None


def _check_value_date(loan: Loan, case: Any, value_date: date, as_of: date, field: str) -> None:
    if value_date is None:
        raise ValidationError({field: _("Give the value date.")})
    if value_date < EARLIEST_VALUE_DATE:
        raise ValidationError({field: _("%(date)s is not a real value date.") % {"date": value_date.isoformat()}})
    if value_date < loan.disbursed_on:
        raise ValidationError(
            {
                field: _("The value date cannot be before the loan was disbursed (%(date)s).")
                % {"date": loan.disbursed_on.isoformat()}
            }
        )
    if case is not None and value_date < case.opened_on:
        raise ValidationError(
            {
                field: _("The value date cannot be before the case was opened (%(date)s).")
                % {"date": case.opened_on.isoformat()}
            }
        )
    if value_date > as_of:
        raise ValidationError({field: _("This date is in the future.")})


def _new_balances(loan: Loan, principal: Decimal, interest_on: Decimal, interest_off: Decimal) -> dict[str, Decimal]:
    new = {
        "outstanding_principal": loan.outstanding_principal + principal,
        "interest_on_balance": loan.interest_on_balance + interest_on,
        "interest_off_balance": loan.interest_off_balance + interest_off,
    }
    if new["outstanding_principal"] < 0 or new["outstanding_principal"] > loan.principal:
        raise ValidationError(
            {
                "principal": _("The outstanding principal would be %(amount)s: it must be between 0 and %(limit)s.")
                % {"amount": format_amount(new["outstanding_principal"]), "limit": format_amount(loan.principal)}
            }
        )
    for name, field in (("interest_on_balance", "interest_on"), ("interest_off_balance", "interest_off")):
        if new[name] < 0:
            raise ValidationError(
                {
                    field: _("The interest would be %(amount)s: it cannot be negative.")
                    % {"amount": format_amount(new[name])}
                }
            )
    return new


@transaction.atomic
def ledger_post(
    *,
    loan: Loan,
    kind: str,
    principal: Decimal,
    interest_on: Decimal,
    interest_off: Decimal,
    value_date: date,
    actor: User | None,
    as_of: date,
    source: str = "",
    case: Any = None,
    form: str | None = None,
    amount: Decimal | None = None,
    note: str = "",
    recovery: Any = None,
    asset: Any = None,
    import_batch: ImportBatch | None = None,
    date_field: str = "value_date",
) -> LedgerEntry:
    """Post one entry: the signed changes (a fall is negative) of the loan's three balances.

    Locks the loan, refuses a value date before the loan's disbursal or the case's opening (the
    error names `date_field`), a balance that would leave its bounds (names principal / interest_on /
    interest_off), writes the entry and the loan, and records an audit event. `amount` is what came
    in (default: minus the sum of the changes, for recovery kinds; 0 otherwise). An entry of a
    recovery kind dated more than backdating_days before `as_of` (the day it is recorded) awaits a
    manager's approval: it changes the balance now, but counts for time limits only when approved.
    The caller's `loan` object gets the new balances too.
    """
    kind = rules.EntryKind(kind).value
    if kind == rules.EntryKind.OPENING_BALANCE:
        raise ValidationError("An opening balance is written by ledger_open_loan, not posted.")
    principal, interest_on, interest_off = _money(principal), _money(interest_on), _money(interest_off)
    locked = Loan.objects.select_for_update().get(pk=loan.pk)
    _check_value_date(locked, case, value_date, as_of, date_field)
    new = _new_balances(locked, principal, interest_on, interest_off)
    change = principal + interest_on + interest_off
    if rules.counts_as_recovery(kind):
        received = _money(amount) if amount is not None else -change
        if received <= 0:
            raise ValidationError({"amount": _("A recovery must be more than 0.")})
    else:
        received = _money(amount) if amount is not None else ZERO
    entry = LedgerEntry(
        loan=locked,
        case=case,
        kind=kind,
        principal=principal,
        interest_on_balance=interest_on,
        interest_off_balance=interest_off,
        amount=received,
        form=rules.form_of(kind, form),
        value_date=value_date,
        recorded_on=as_of,
        recorded_by=actor if getattr(actor, "pk", None) else None,
        source=source[:200],
        note=note[:300],
        approval=rules.approval_needed(kind, value_date, as_of, ledger_policy()),
        recovery=recovery,
        asset=asset,
        import_batch=import_batch,
    )
    entry.full_clean()
    entry.save()
    old = {name: getattr(locked, name) for name in BALANCE_FIELDS}
    if change or principal or interest_on or interest_off:
        for name, value in new.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*BALANCE_FIELDS, "updated_at"])
    for name in (*BALANCE_FIELDS, "updated_at"):
        setattr(loan, name, getattr(locked, name))
    audit_record(
        actor=actor,
        event_type="ledger.entry_posted",
        subject=locked,
        branch_id=locked.branch_id,
        old=old,
        new={
            "entry": entry.pk,
            "kind": kind,
            "value_date": value_date,
            "principal": principal,
            "interest_on_balance": interest_on,
            "interest_off_balance": interest_off,
            "amount": received,
            "approval": entry.approval,
            "source": entry.source,
            **new,
        },
        reason=note,
    )
    return entry


@transaction.atomic
def ledger_open_loan(
    *,
    loan: Loan,
    actor: User | None,
    as_of: date,
    source: str = "",
    value_date: date | None = None,
    import_batch: ImportBatch | None = None,
) -> LedgerEntry:
    """The opening-balance entry of a loan just created: its current balances as they stand.

    Refused when the loan already has entries (its balances are then explained by them)."""
    if LedgerEntry.objects.filter(loan_id=loan.pk).exists():
        raise ValidationError(_("This loan already has its opening balance."))
    entry = LedgerEntry(
        loan=loan,
        kind=rules.EntryKind.OPENING_BALANCE.value,
        principal=_money(loan.outstanding_principal),
        interest_on_balance=_money(loan.interest_on_balance),
        interest_off_balance=_money(loan.interest_off_balance),
        amount=ZERO,
        form=rules.EntryForm.NONE.value,
        value_date=value_date or loan.disbursed_on,
        recorded_on=as_of,
        recorded_by=actor if getattr(actor, "pk", None) else None,
        source=source[:200],
        import_batch=import_batch,
    )
    entry.save()
    return entry


def ledger_open_loans(
    *,
    loan_ids: Iterable[int] | None = None,
    actor: User | None,
    as_of: date,
    source: str = "",
    import_batch: ImportBatch | None = None,
) -> int:
    """Set-based: an opening-balance entry (value date: the disbursal) for every loan among
    `loan_ids` (None: every loan) that has no entry yet, with its balances as they stand. One
    INSERT ... SELECT; returns the number written. Call it in the transaction that created them."""
    loans = Loan.objects.filter(~Exists(LedgerEntry.objects.filter(loan_id=OuterRef("pk"))))
    if loan_ids is not None:
        loan_ids = list(loan_ids)
        if not loan_ids:
            return 0
        loans = loans.filter(pk__in=loan_ids)
    return _insert_select(
        loans,
        kind=rules.EntryKind.OPENING_BALANCE.value,
        actor=actor,
        as_of=as_of,
        source=source,
        import_batch=import_batch,
    )


def _insert_select(loans, *, kind: str, actor, as_of: date, source: str, import_batch) -> int:
    sql, params = loans.values("id").query.sql_with_params()
    table = LedgerEntry._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (loan_id, kind, principal, interest_on_balance, interest_off_balance,
                amount, form, counts_as_recovery, value_date, recorded_on, recorded_at, recorded_by_id,
                source, note, approval, approval_reason, import_batch_id)
            SELECT l.id, %s, l.outstanding_principal, l.interest_on_balance, l.interest_off_balance,
                0, %s, %s, l.disbursed_on, %s, %s, %s, %s, '', %s, '', %s
            FROM {Loan._meta.db_table} l WHERE l.id IN ({sql})
            """,
            [
                kind,
                rules.EntryForm.NONE.value,
                False,
                as_of,
                now,
                getattr(actor, "pk", None),
                source[:200],
                rules.Approval.NOT_NEEDED.value,
                getattr(import_batch, "pk", None),
                *params,
            ],
        )
        return cursor.rowcount


@transaction.atomic
def ledger_post_book_changes(
    *,
    changes: Sequence[BookChange],
    actor: User | None,
    as_of: date,
    value_date: date | None = None,
    import_batch: ImportBatch | None = None,
    source: str = "",
    batch_size: int = 2000,
) -> list[LedgerEntry]:
    """Set-based, for the importer: the balances the book now reports for many loans.

    Locks the loans, and for each one whose balances differ writes one entry with the differences
    (kind: the change's own, else "reported by the book" when the total fell, "correction from the
    book" when it rose), with one bulk INSERT, and sets the loans' balances with one UPDATE per
    batch. A figure out of bounds (negative, principal above the loan's principal) refuses the whole
    set, naming the loan. One audit event for the set (subject: the import batch, if any). Returns
    the entries written (with ids on PostgreSQL and SQLite)."""
    value_date = value_date or as_of
    by_id = {change.loan_id: change for change in changes}
    if not by_id:
        return []
    recorder = actor if getattr(actor, "pk", None) else None
    entries: list[LedgerEntry] = []
    changed: list[Loan] = []
    ids = sorted(by_id)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        for loan in (
            Loan.objects.select_for_update()
            .filter(pk__in=chunk)
            .only("id", "loan_no", "principal", *BALANCE_FIELDS)
            .order_by("id")
        ):
            change = by_id[loan.pk]
            new = (_money(change.principal), _money(change.interest_on), _money(change.interest_off))
            old = tuple(getattr(loan, name) for name in BALANCE_FIELDS)
            if new == old:
                continue
            if new[0] < 0 or new[0] > loan.principal or new[1] < 0 or new[2] < 0:
                raise ValidationError(
                    _("Loan %(loan)s: the book's balances are out of bounds.") % {"loan": loan.loan_no}
                )
            delta = [n - o for n, o in zip(new, old, strict=True)]
            kind = change.kind or (rules.EntryKind.BOOK_REPORTED if sum(delta) < 0 else rules.EntryKind.BOOK_CORRECTION)
            kind = rules.EntryKind(kind).value
            entries.append(
                LedgerEntry(
                    loan_id=loan.pk,
                    kind=kind,
                    principal=delta[0],
                    interest_on_balance=delta[1],
                    interest_off_balance=delta[2],
                    amount=ZERO,
                    form=rules.form_of(kind),
                    counts_as_recovery=rules.counts_as_recovery(kind),
                    value_date=value_date,
                    recorded_on=as_of,
                    recorded_by=recorder,
                    source=source[:200],
                    approval=rules.Approval.NOT_NEEDED.value,
                    import_batch=import_batch,
                )
            )
            loan.outstanding_principal, loan.interest_on_balance, loan.interest_off_balance = new
            changed.append(loan)
    if not entries:
        return []
    LedgerEntry.objects.bulk_create(entries, batch_size=batch_size)
    now = timezone.now()
    for loan in changed:
        loan.updated_at = now
    Loan.objects.bulk_update(changed, [*BALANCE_FIELDS, "updated_at"], batch_size=batch_size)
    audit_record(
        actor=actor,
        event_type="ledger.book_changes_posted",
        subject=import_batch,
        new={
            "entries": len(entries),
            "first_entry": entries[0].pk,
            "last_entry": entries[-1].pk,
            "value_date": value_date,
            "source": source,
        },
    )
    return entries


@transaction.atomic
def ledger_entry_decide(
    *, entry: LedgerEntry, actor: User, approve: bool, as_of: date | None = None, reason: str = ""
) -> LedgerEntry:
    """A manager in scope, not the one who recorded it, approves or refuses a backdated entry.

    Approved: it counts for time limits, sanctions and rewards on its value date. Refused: the
    balance stays changed (the money came in), but it counts only from the day it was recorded."""
    if not role_allows(actor, "ledger.approve_entry"):
        raise PermissionDenied(_("Only a manager approves a backdated entry."))
    entry = LedgerEntry.objects.select_for_update().visible_to(actor).filter(pk=entry.pk).first()
    if entry is None:
        raise PermissionDenied(_("This entry is outside your branches."))
    if entry.approval != rules.Approval.AWAITING:
        raise ValidationError(_("This entry does not await approval."))
    if entry.recorded_by_id == actor.pk:
        raise PermissionDenied(_("Another manager approves the entries you recorded."))
    if not approve and not (reason or "").strip():
        raise ValidationError({"reason": _("Give a reason.")})
    entry.approval = (rules.Approval.APPROVED if approve else rules.Approval.REFUSED).value
    entry.approved_by = actor
    entry.approved_at = timezone.now()
    entry.approval_reason = (reason or "").strip()
    entry.save(update_fields=["approval", "approved_by", "approved_at", "approval_reason"])
    loan = Loan.objects.only("id", "branch_id").get(pk=entry.loan_id)
    audit_record(
        actor=actor,
        event_type="ledger.entry_approved" if approve else "ledger.entry_refused",
        subject=loan,
        branch_id=loan.branch_id,
        old={"entry": entry.pk, "approval": rules.Approval.AWAITING.value},
        new={"entry": entry.pk, "approval": entry.approval, "value_date": entry.value_date},
        reason=entry.approval_reason,
    )
    return entry
