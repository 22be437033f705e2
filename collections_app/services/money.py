"""Money and value in kind: recoveries, assets taken in kind and their disposal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from collections_app.case_rules import (
    Measure,
    Owed,
    RecoveryExceedsDebt,
    allocate_recovery,
    entry_refusal,
    may_work,
)
from collections_app.models import AssetInKind, CollectionCase, PromiseToPay, Recovery
from collections_app.policy import collection_policy
from collections_app.services._common import _audit, _lock, _money, _not_future, _require_work, _save
from collections_app.services.costs import costs_repay_first
from collections_app.services.dates import _refresh_dates
from collections_app.services.moves import _perform_move
from ledger.models import LedgerEntry
from ledger.rules import EntryKind
from ledger.services import ledger_post
from loans.models import Loan, User
from loans.services import loan_classify
from npl_recovery.i18n import format_amount, format_day

# Stored with the move (data, one language); the page translates it (collections_app.texts).
RECOVERED_REASON = "Nothing outstanding after the recovery."
REFINANCED_REASON = "Nothing outstanding: the debt was paid by refinancing."


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
    source: str = "",
    date_field: str = "received_on",
) -> Recovery | None:
    _not_future(received_on, date_field)
    loan = Loan.objects.select_for_update().get(pk=case.loan_id)
    amount = received = _money(amount)
    if form == Recovery.Form.CASH and collection_policy().recover_costs_first:
        # The policy's order: the costs the debtor owes back first, then the loan (services/costs.py).
        if received_on < case.opened_on:
            raise ValidationError(
                {
                    date_field: _("Cannot be before the case was opened (%(opened)s).")
                    % {"opened": format_day(case.opened_on)}
                }
            )
        amount = costs_repay_first(case=case, actor=actor, amount=amount, received_on=received_on)
        if amount == 0:
            _credit_promises(case, received, received_on, actor)
            return None
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
            # 账销案存: money from a written-off loan's kept claim is reported as such.
            after_write_off=loan.written_off_on is not None,
        )
    )
    old = {
        "outstanding_principal": loan.outstanding_principal,
        "interest_on_balance": loan.interest_on_balance,
        "interest_off_balance": loan.interest_off_balance,
        "overdue_since": loan.overdue_since,
    }
    # The balance changes through the ledger only (issue 11): one entry per recovery.
    entry = ledger_post(
        loan=loan,
        kind=entry_kind_of(form=form, paid_by=paid_by),
        principal=-allocation.principal,
        interest_on=-allocation.interest_on_balance,
        interest_off=-allocation.interest_off_balance,
        value_date=received_on,
        actor=actor,
        as_of=as_of,
        source=source or f"recovery {recovery.pk}",
        case=case,
        form=form,
        amount=amount,
        note=note,
        recovery=recovery,
        asset=asset,
        date_field=date_field,
    )
    remaining = owed.minus(allocation)
    # Nothing overdue any more: the upgrade rule counts the wait from arrears_cleared_on.
    if (remaining.total == 0 or arrears_cleared) and loan.overdue_since is not None:
        loan.overdue_since = None
        loan.arrears_cleared_on = received_on
        loan.save(update_fields=["overdue_since", "arrears_cleared_on", "updated_at"])
    _credit_promises(case, received, received_on, actor)
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
            "after_write_off": recovery.after_write_off,
            "principal": allocation.principal,
            "interest_on_balance": allocation.interest_on_balance,
            "interest_off_balance": allocation.interest_off_balance,
            "outstanding_principal": remaining.principal,
            "interest_on_balance_left": remaining.interest_on_balance,
            "interest_off_balance_left": remaining.interest_off_balance,
            "ledger_entry": entry.pk,
            "approval": entry.approval,
        },
        reason=note,
    )
    loan_classify(loan=loan, as_of=as_of, actor=actor)
    if remaining.total == 0:
        case_settle(case=case, actor=actor, on=received_on)
    return recovery


def entry_kind_of(*, form: str, paid_by: str) -> str:
    """The ledger kind of a recovery: in kind, else by who paid (a court deduction, a guarantor...)."""
    if paid_by == Recovery.PaidBy.GOVERNMENT_PROPERTY:
        return EntryKind.GOVERNMENT_PROPERTY.value
    if form == Recovery.Form.IN_KIND:
        return EntryKind.REPAYMENT_IN_KIND.value
    return {
        Recovery.PaidBy.GUARANTOR: EntryKind.GUARANTOR_PAYMENT,
        Recovery.PaidBy.COURT_ENFORCEMENT: EntryKind.COURT_DEDUCTION,
        Recovery.PaidBy.FISCAL_ALLOCATION: EntryKind.FISCAL_ALLOCATION,
    }.get(paid_by, EntryKind.CASH_RECOVERY).value


def case_settle(*, case: CollectionCase, actor: User | None, on: date) -> str | None:
    """Nothing outstanding: the case ends by itself, recovered when money paid it, refinanced when a
    new loan did (never recovered, no reward). Neither while a fall the book reported is unclassified.
    Returns the measure it moved to, or None. Call it after the ledger entry that emptied the balance."""
    case.refresh_from_db()
    if not case.is_open:
        return None
    facts = case.entry_facts()
    if facts.total_owed > 0:
        return None
    for target, reason in ((Measure.RECOVERED, RECOVERED_REASON), (Measure.REFINANCED, REFINANCED_REASON)):
        if entry_refusal(target, facts) is None:
            _perform_move(case=case, target=target, actor=actor, as_of=max(on, case.measure_since), reason=reason)
            return target.value
    return None


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
) -> Recovery | None:
    """Money received: split it (case_rules.allocate_recovery), reduce the loan, reclassify it.

    With the policy's `recover_costs_first` the money first repays the collection costs the debtor
    owes back; None when it all went to them (no Recovery of the loan). Refuses more than is owed.
    `arrears_cleared` says the borrower is current again (nothing past due) although something is
    still owed; when nothing is owed that is so anyway. A case with nothing outstanding moves to
    recovered.
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
def refinancing_record(
    *,
    case: CollectionCase,
    actor: User,
    value_date: date,
    as_of: date | None = None,
    amount: Decimal | None = None,
    source: str = "",
    note: str = "",
) -> LedgerEntry:
    """A new loan paid (part of) this one ("loans by loans"; "interest by loans" when only interest):
    a refinancing entry, never a recovery, split like a payment (interest first). `amount` None: all
    that is owed. With nothing left the case ends refinanced (no reward)."""
    case = _lock(case)
    _require_work(case, actor)
    as_of = as_of or timezone.localdate()
    loan = Loan.objects.select_for_update().get(pk=case.loan_id)
    owed = Owed(loan.outstanding_principal, loan.interest_on_balance, loan.interest_off_balance)
    amount = _money(amount if amount is not None else owed.total)
    if amount <= 0:
        raise ValidationError({"amount": _("Nothing is owed on this loan.")})
    try:
        allocation = allocate_recovery(amount, owed, collection_policy().recovery_allocation_order)
    except RecoveryExceedsDebt as exc:
        raise ValidationError({"amount": str(exc)}) from exc
    entry = ledger_post(
        loan=loan,
        kind=EntryKind.REFINANCING,
        principal=-allocation.principal,
        interest_on=-allocation.interest_on_balance,
        interest_off=-allocation.interest_off_balance,
        value_date=value_date,
        actor=actor,
        as_of=as_of,
        source=source,
        case=case,
        note=note,
    )
    _audit(case, actor, "case.refinancing_recorded", new={"entry": entry.pk, "amount": amount}, reason=note)
    loan_classify(loan=loan, as_of=as_of, actor=actor)
    if loan.total_owed == 0:
        case_settle(case=case, actor=actor, on=value_date)
    return entry


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
            {
                "credited_amount": _("%(amount)s is more than the %(owed)s owed: credit less.")
                % {"amount": format_amount(credited), "owed": format_amount(case.loan.total_owed)}
            }
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
        raise ValidationError(_("This asset is already disposed of."))
    _not_future(disposed_on, "disposed_on")
    if disposed_on < asset.taken_on:
        raise ValidationError({"disposed_on": _("Cannot be before the asset was taken.")})
    asset.disposed_on = disposed_on
    asset.disposal_proceeds = _money(disposal_proceeds)
    asset.full_clean()
    asset.save(update_fields=["disposed_on", "disposal_proceeds"])
    # The debt fell when the asset was taken (in kind); the sale brings the money in (issue 11): an
    # entry of disposal proceeds that moves no balance and counts as cash recovered.
    if asset.disposal_proceeds > 0:
        ledger_post(
            loan=case.loan,
            kind=EntryKind.DISPOSAL_PROCEEDS,
            principal=0,
            interest_on=0,
            interest_off=0,
            value_date=disposed_on,
            actor=actor,
            as_of=timezone.localdate(),
            source=f"asset {asset.pk}",
            case=case,
            amount=asset.disposal_proceeds,
            asset=asset,
            date_field="disposed_on",
        )
    _audit(
        case,
        actor,
        "case.asset_disposed",
        new={"asset": asset.pk, "disposed_on": disposed_on, "disposal_proceeds": asset.disposal_proceeds},
    )
    return asset
