"""9. The month-end snapshot the dashboards trend from.

Per month, branch and responsible officer: both schemes' classes (counts and balances), interest on
and off the balance sheet, provisions, the month's cash recovered and value taken in kind (apart),
the collection costs the bank bore and net recovery, open and late cases. A handful of GROUP BY
queries (the loans table is read once); the MonthEndClose claim makes it idempotent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum

from accountability.daily_checks.batching import Counts
from accountability.models import MonthEndClose, MonthEndSnapshot
from accountability.rules import is_month_end, month_start
from collections_app.case_rules import Measure, net_recovery
from collections_app.models import CaseCost, CollectionCase, CostRepayment, Recovery
from loans.classification import NON_PERFORMING_FIVE, FourLevel
from loans.models import Loan


def check_month_end_snapshot(*, as_of: date) -> Counts:
    """On a month's last day, record its closing figures per branch and responsible officer.

    Beat runs it just after midnight for the day before; the command runs it for `--as-of`. One
    snapshot per month: the MonthEndClose row is the claim (a second run, or a second worker, finds
    the month taken). The figures are read in one REPEATABLE READ transaction: one consistent view.
    """
    if not is_month_end(as_of):
        return {"skipped": "not a month end"}
    month = month_start(as_of)
    if MonthEndClose.objects.filter(month=month).exists():
        return {"skipped": "already taken"}
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try:
            with transaction.atomic():
                close = MonthEndClose.objects.create(month=month, as_of=as_of)
        except IntegrityError:
            return {"skipped": "already taken"}
        rows = _snapshot_rows(month=month, as_of=as_of)
        MonthEndSnapshot.objects.bulk_create(rows, batch_size=2000)
        MonthEndClose.objects.filter(pk=close.pk).update(rows=len(rows))
    return {"rows": len(rows)}


def _snapshot_rows(*, month: date, as_of: date) -> list[MonthEndSnapshot]:
    cells: dict[tuple[int, int | None], MonthEndSnapshot] = {}

    def cell(branch_id: int, officer_id: int | None) -> MonthEndSnapshot:
        key = (branch_id, officer_id)
        if key not in cells:
            cells[key] = MonthEndSnapshot(month=month, branch_id=branch_id, officer_id=officer_id)
        return cells[key]

    non_performing = {c.value for c in NON_PERFORMING_FIVE}
    four_level_classes = {c.value for c in FourLevel if c != FourLevel.NORMAL}
    # One GROUP BY over the loans: both schemes' classes, balances, interest and provisions.
    for branch_id, officer_id, five, four, n, balance, provision, interest_on, interest_off in (
        Loan.objects.order_by()
        .values("branch_id", "responsible_officer_id", "five_level_class", "four_level_class")
        .annotate(
            n=Count("id"),
            balance=Sum("outstanding_principal"),
            provision=Sum("specific_provision"),
            interest_on=Sum("interest_on_balance"),
            interest_off=Sum("interest_off_balance"),
        )
        .values_list(
            "branch_id",
            "responsible_officer_id",
            "five_level_class",
            "four_level_class",
            "n",
            "balance",
            "provision",
            "interest_on",
            "interest_off",
        )
    ):
        c = cell(branch_id, officer_id)
        balance = balance or Decimal(0)
        c.loans += n
        c.outstanding_principal += balance
        c.specific_provision += provision or Decimal(0)
        c.interest_on_balance += interest_on or Decimal(0)
        c.interest_off_balance += interest_off or Decimal(0)
        setattr(c, f"{five}_count", getattr(c, f"{five}_count") + n)
        setattr(c, f"{five}_balance", getattr(c, f"{five}_balance") + balance)
        if five in non_performing:
            c.npl_count += n
            c.npl_balance += balance
        if four in four_level_classes:
            setattr(c, f"{four}_count", getattr(c, f"{four}_count") + n)
            setattr(c, f"{four}_balance", getattr(c, f"{four}_balance") + balance)
    for branch_id, officer_id, form, amount in (
        Recovery.objects.filter(received_on__range=(month, as_of))
        .order_by()
        .values("case__branch_id", "case__loan__responsible_officer_id", "form")
        .annotate(amount=Sum("amount"))
        .values_list("case__branch_id", "case__loan__responsible_officer_id", "form", "amount")
    ):
        c = cell(branch_id, officer_id)
        if form == Recovery.Form.CASH:
            c.cash_recovered += amount
        else:
            c.in_kind_value += amount
    for branch_id, officer_id, amount in (
        CaseCost.objects.filter(incurred_on__range=(month, as_of), borne_by=CaseCost.BorneBy.BANK)
        .order_by()
        .values("case__branch_id", "case__loan__responsible_officer_id")
        .annotate(amount=Sum("amount"))
        .values_list("case__branch_id", "case__loan__responsible_officer_id", "amount")
    ):
        cell(branch_id, officer_id).costs_borne += amount
    for branch_id, officer_id, amount in (
        CostRepayment.objects.filter(repaid_on__range=(month, as_of))
        .order_by()
        .values("cost__case__branch_id", "cost__case__loan__responsible_officer_id")
        .annotate(amount=Sum("amount"))
        .values_list("cost__case__branch_id", "cost__case__loan__responsible_officer_id", "amount")
    ):
        cell(branch_id, officer_id).costs_repaid += amount
    for branch_id, officer_id, n, late in (
        CollectionCase.objects.filter(is_open=True)
        .order_by()
        .values("branch_id", "loan__responsible_officer_id")
        .annotate(
            n=Count("id"),
            late=Count("id", filter=Q(recovery_deadline__lt=as_of) & ~Q(measure=Measure.WRITTEN_OFF)),
        )
        .values_list("branch_id", "loan__responsible_officer_id", "n", "late")
    ):
        c = cell(branch_id, officer_id)
        c.open_cases += n
        c.cases_past_deadline += late
    for c in cells.values():
        c.net_recovery = net_recovery(
            cash_recovered=c.cash_recovered, costs_borne=c.costs_borne, costs_repaid=c.costs_repaid
        )
    return list(cells.values())
