"""Collection costs of a case: recorded here, corrected or reversed here (by correcting entries,
never an edit in place), repaid first by recoveries when the policy says so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from collections_app.models import CaseCost, CollectionCase, CostRepayment
from collections_app.services._common import (
    _audit,
    _lock,
    _money,
    _not_future,
    _require_reason,
    _require_work,
    _save,
)
from loans.models import User
from npl_recovery.i18n import format_amount, format_day


@transaction.atomic
def cost_record(
    *,
    case: CollectionCase,
    actor: User,
    kind: str,
    amount: Decimal,
    incurred_on: date,
    borne_by: str = CaseCost.BorneBy.BANK,
    recoverable: bool = True,
    note: str = "",
    source_document: str = "",
) -> CaseCost:
    """A cost of collecting the case: who bore it and whether the debtor owes it back.

    Refuses an amount of zero or less, a date in the future or before the case was opened.
    """
    case = _lock(case)
    _require_work(case, actor)
    amount = _money(amount)
    _check_cost(case, amount, incurred_on)
    cost = _save(
        CaseCost(
            case=case,
            kind=kind,
            amount=amount,
            incurred_on=incurred_on,
            borne_by=borne_by,
            recoverable=recoverable,
            note=(note or "").strip(),
            source_document=(source_document or "").strip(),
            recorded_by=actor,
        )
    )
    _audit(
        case,
        actor,
        "case.cost_recorded",
        new={
            "cost": cost.pk,
            "kind": kind,
            "amount": amount,
            "incurred_on": incurred_on,
            "borne_by": borne_by,
            "recoverable": recoverable,
            "source_document": cost.source_document,
        },
        reason=cost.note,
    )
    return cost


def _check_cost(case: CollectionCase, amount: Decimal, incurred_on: date) -> None:
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    _not_future(incurred_on, "incurred_on")
    if incurred_on < case.opened_on:
        raise ValidationError(
            {
                "incurred_on": _("Cannot be before the case was opened (%(opened)s).")
                % {"opened": format_day(case.opened_on)}
            }
        )


def _cost_values(cost: CaseCost) -> dict:
    return {
        "cost": cost.pk,
        "kind": cost.kind,
        "amount": cost.amount,
        "incurred_on": cost.incurred_on,
        "borne_by": cost.borne_by,
        "recoverable": cost.recoverable,
        "recovered_amount": cost.recovered_amount,
        "source_document": cost.source_document,
    }


def cost_correction_refusal(cost: CaseCost) -> str | None:
    """Why `cost` may not be corrected or reversed (None: it may): it is a correcting entry, or it was
    corrected or reversed already. The services and the case page (which offers the form) ask it;
    read with `select_related("reversal")`, it asks the database nothing."""
    if cost.reverses_id is not None:
        return _("This is a correcting entry: correct the cost it reverses, or record a new cost.")
    if hasattr(cost, "reversal"):
        return _("This cost has already been corrected or reversed.")
    return None


def _live_cost(case: CollectionCase, cost: CaseCost) -> CaseCost:
    """The cost, locked, if it may be corrected (cost_correction_refusal): a cost of this case."""
    cost = CaseCost.objects.select_for_update().get(pk=cost.pk, case=case)
    refusal = cost_correction_refusal(cost)
    if refusal:
        raise ValidationError(refusal)
    return cost


def _reverse(case: CollectionCase, cost: CaseCost, actor: User, reason: str) -> CaseCost:
    """The correcting entry that cancels `cost`: the same cost with its amount and what was paid back
    of it negated, dated as the cost (it leaves the month where the cost was counted)."""
    return _save(
        CaseCost(
            case=case,
            kind=cost.kind,
            amount=-cost.amount,
            incurred_on=cost.incurred_on,
            borne_by=cost.borne_by,
            recoverable=cost.recoverable,
            recovered_amount=-cost.recovered_amount,
            source_document=cost.source_document,
            note=reason[:300],
            reverses=cost,
            recorded_by=actor,
        )
    )


@transaction.atomic
def cost_reverse(*, case: CollectionCase, cost: CaseCost, actor: User, reason: str) -> CaseCost:
    """Reverse a cost recorded in error: a correcting entry cancels it (the cost stays, marked
    reversed). Who may record a cost may reverse one; a reason is required. A cost the debtor has
    already paid back some of is corrected instead (what came in must stay on a cost)."""
    case = _lock(case)
    _require_work(case, actor)
    reason = _require_reason(reason)
    cost = _live_cost(case, cost)
    if cost.recovered_amount > 0:
        raise ValidationError(
            _("The debtor has already paid back %(amount)s of this cost: correct it instead, to at least that amount.")
            % {"amount": format_amount(cost.recovered_amount)}
        )
    reversal = _reverse(case, cost, actor, reason)
    _audit(case, actor, "case.cost_reversed", old=_cost_values(cost), new={"reversal": reversal.pk}, reason=reason)
    return reversal


@transaction.atomic
def cost_correct(
    *,
    case: CollectionCase,
    cost: CaseCost,
    actor: User,
    reason: str,
    kind: str,
    amount: Decimal,
    incurred_on: date,
    borne_by: str = CaseCost.BorneBy.BANK,
    recoverable: bool = True,
    note: str = "",
    source_document: str = "",
) -> CaseCost:
    """Correct a cost: its reversal, and the cost as it should have been recorded (which takes over what
    the debtor paid back of the old one). Returns the corrected cost. The checks of `cost_record`
    apply to the corrected cost; what was paid back cannot be more than it, nor leave the bank's
    recoverable costs."""
    case = _lock(case)
    _require_work(case, actor)
    reason = _require_reason(reason)
    cost = _live_cost(case, cost)
    amount = _money(amount)
    _check_cost(case, amount, incurred_on)
    note = (note or "").strip()
    source_document = (source_document or "").strip()
    if (cost.kind, cost.amount, cost.incurred_on, cost.borne_by, cost.recoverable, cost.source_document) == (
        kind,
        amount,
        incurred_on,
        borne_by,
        recoverable,
        source_document,
    ):
        raise ValidationError(_("Nothing is changed: change what was wrong, or reverse the cost."))
    repaid = cost.recovered_amount
    if repaid > 0:
        if amount < repaid:
            raise ValidationError(
                {
                    "amount": _("The debtor has already paid back %(amount)s of this cost: it cannot be less.")
                    % {"amount": format_amount(repaid)}
                }
            )
        if borne_by != CaseCost.BorneBy.BANK or not recoverable:
            raise ValidationError(
                _(
                    "The debtor has already paid back %(amount)s of this cost: it stays a cost the bank bore "
                    "and the debtor owes back."
                )
                % {"amount": format_amount(repaid)}
            )
    reversal = _reverse(case, cost, actor, reason)
    corrected = _save(
        CaseCost(
            case=case,
            kind=kind,
            amount=amount,
            incurred_on=incurred_on,
            borne_by=borne_by,
            recoverable=recoverable,
            recovered_amount=repaid,
            note=note,
            source_document=source_document,
            replaces=cost,
            recorded_by=actor,
        )
    )
    _audit(
        case,
        actor,
        "case.cost_corrected",
        old=_cost_values(cost),
        new={**_cost_values(corrected), "reversal": reversal.pk},
        reason=reason,
    )
    return corrected


def recoverable_costs_outstanding(case: CollectionCase) -> list[CaseCost]:
    """The costs the bank bore that the debtor still owes back, oldest first, locked for this
    transaction (a cost a third party advanced is repaid to them, not to the bank)."""
    return [
        c
        for c in CaseCost.objects.select_for_update()
        .filter(case=case, recoverable=True, borne_by=CaseCost.BorneBy.BANK, reverses__isnull=True)
        .filter(~Exists(CaseCost.objects.filter(reverses=OuterRef("pk"))))  # not reversed
        .order_by("incurred_on", "id")
        if c.outstanding > 0
    ]


def costs_repay_first(*, case: CollectionCase, actor: User | None, amount: Decimal, received_on: date) -> Decimal:
    """Apply a recovery to the recoverable costs outstanding first (oldest first); returns what is
    left for the loan. Called by the recovery path only when `recover_costs_first` is on."""
    left = amount
    repaid: list[dict] = []
    for cost in recoverable_costs_outstanding(case):
        if left <= 0:
            break
        take = min(left, cost.outstanding)
        cost.recovered_amount += take
        left -= take
        cost.save(update_fields=["recovered_amount"])
        CostRepayment.objects.create(cost=cost, repaid_on=received_on, amount=take, recorded_by=actor)
        repaid.append({"cost": cost.pk, "amount": take})
    if repaid:
        _audit(
            case,
            actor,
            "case.costs_repaid",
            new={"received_on": received_on, "costs": repaid, "left_for_the_loan": left},
        )
    return left
