"""Money and value in kind: recoveries, assets taken in kind and their disposal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from collections_app.case_rules import Measure, Owed, RecoveryExceedsDebt, allocate_recovery, may_work
from collections_app.models import AssetInKind, CollectionCase, PromiseToPay, Recovery
from collections_app.policy import collection_policy
from collections_app.services._common import _audit, _lock, _money, _not_future, _require_work, _save
from collections_app.services.dates import _refresh_dates
from collections_app.services.moves import _perform_move
from loans.models import Loan, User
from loans.services import loan_classify
from npl_recovery.i18n import format_amount

# Stored with the move (data, one language); the page translates it (collections_app.texts).
RECOVERED_REASON = "Nothing outstanding after the recovery."


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
            "after_write_off": recovery.after_write_off,
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
            reason=RECOVERED_REASON,
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
    _audit(
        case,
        actor,
        "case.asset_disposed",
        new={"asset": asset.pk, "disposed_on": disposed_on, "disposal_proceeds": asset.disposal_proceeds},
    )
    return asset
