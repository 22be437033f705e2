"""Collection costs of a case: recorded here, repaid first by recoveries when the policy says so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from collections_app.models import CaseCost, CollectionCase, CostRepayment
from collections_app.services._common import _audit, _lock, _money, _not_future, _require_work, _save
from loans.models import User
from npl_recovery.i18n import format_day


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


def recoverable_costs_outstanding(case: CollectionCase) -> list[CaseCost]:
    """The costs the bank bore that the debtor still owes back, oldest first, locked for this
    transaction (a cost a third party advanced is repaid to them, not to the bank)."""
    return [
        c
        for c in CaseCost.objects.select_for_update()
        .filter(case=case, recoverable=True, borne_by=CaseCost.BorneBy.BANK)
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
