"""9. The month-end snapshot the dashboards trend from.

Per month, branch, responsible officer, product and borrower kind: both schemes' classes (counts
and balances), interest on and off the balance sheet, provisions, the month's cash recovered and
value taken in kind (apart), the collection costs the bank bore and net recovery, open and late
cases. A handful of GROUP BY queries; the MonthEndClose claim makes it idempotent. In the same
transaction the dashboards' history is written: each loan's classes at the month's end and the
migration cells (dashboards.history). The book at a month's end: the loans disbursed by its last day.
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
from collections_app.models import CaseCost, CollectionCase, CostRepayment
from dashboards.history import close_month
from ledger.models import LedgerEntry
from ledger.rules import EntryForm
from loans.classification import NON_PERFORMING_FIVE, FourLevel
from loans.models import Loan


def check_month_end_snapshot(*, as_of: date) -> Counts:
    """On a month's last day, record its closing figures per branch, responsible officer, product
    and borrower kind, and the dashboards' per-loan history (dashboards.history.close_month).

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
        close_month(month=month, as_of=as_of)
    return {"rows": len(rows)}


def _snapshot_rows(*, month: date, as_of: date) -> list[MonthEndSnapshot]:
    cells: dict[tuple[int, int | None, str, str], MonthEndSnapshot] = {}

    def cell(branch_id: int, officer_id: int | None, product: str, kind: str) -> MonthEndSnapshot:
        key = (branch_id, officer_id, product or "", kind or "")
        if key not in cells:
            cells[key] = MonthEndSnapshot(
                month=month, branch_id=branch_id, officer_id=officer_id, product=key[2], borrower_kind=key[3]
            )
        return cells[key]

    non_performing = {c.value for c in NON_PERFORMING_FIVE}
    four_level_classes = {c.value for c in FourLevel if c != FourLevel.NORMAL}
    # One GROUP BY over the loans: both schemes' classes, balances, interest and provisions.
    for branch_id, officer_id, product, kind, five, four, n, balance, provision, interest_on, interest_off in (
        Loan.objects.filter(disbursed_on__lte=as_of)
        .order_by()
        .values(
            "branch_id", "responsible_officer_id", "product", "borrower__kind", "five_level_class", "four_level_class"
        )
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
            "product",
            "borrower__kind",
            "five_level_class",
            "four_level_class",
            "n",
            "balance",
            "provision",
            "interest_on",
            "interest_off",
        )
    ):
        c = cell(branch_id, officer_id, product, kind)
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
    # Money recovered in the month and value taken in kind, apart: the ledger's entries that count as
    # recovery, by value date (a court deduction, a guarantor's payment, a sale's proceeds...).
    loan_dims = ("loan__branch_id", "loan__responsible_officer_id", "loan__product", "loan__borrower__kind")
    for branch_id, officer_id, product, kind, form, amount in (
        LedgerEntry.objects.filter(counts_as_recovery=True, value_date__range=(month, as_of))
        .order_by()
        .values(*loan_dims, "form")
        .annotate(amount=Sum("amount"))
        .values_list(*loan_dims, "form", "amount")
    ):
        c = cell(branch_id, officer_id, product, kind)
        if form == EntryForm.CASH:
            c.cash_recovered += amount
        elif form == EntryForm.IN_KIND:
            c.in_kind_value += amount
    case_dims = (
        "case__branch_id",
        "case__loan__responsible_officer_id",
        "case__loan__product",
        "case__loan__borrower__kind",
    )
    for branch_id, officer_id, product, kind, amount in (
        CaseCost.objects.filter(incurred_on__range=(month, as_of), borne_by=CaseCost.BorneBy.BANK)
        .order_by()
        .values(*case_dims)
        .annotate(amount=Sum("amount"))
        .values_list(*case_dims, "amount")
    ):
        cell(branch_id, officer_id, product, kind).costs_borne += amount
    cost_dims = tuple(f"cost__{d}" for d in case_dims)
    for branch_id, officer_id, product, kind, amount in (
        CostRepayment.objects.filter(repaid_on__range=(month, as_of))
        .order_by()
        .values(*cost_dims)
        .annotate(amount=Sum("amount"))
        .values_list(*cost_dims, "amount")
    ):
        cell(branch_id, officer_id, product, kind).costs_repaid += amount
    open_dims = ("branch_id", "loan__responsible_officer_id", "loan__product", "loan__borrower__kind")
    for branch_id, officer_id, product, kind, n, late in (
        CollectionCase.objects.filter(is_open=True)
        .order_by()
        .values(*open_dims)
        .annotate(
            n=Count("id"),
            late=Count("id", filter=Q(recovery_deadline__lt=as_of) & ~Q(measure=Measure.WRITTEN_OFF)),
        )
        .values_list(*open_dims, "n", "late")
    ):
        c = cell(branch_id, officer_id, product, kind)
        c.open_cases += n
        c.cases_past_deadline += late
    for c in cells.values():
        c.net_recovery = net_recovery(
            cash_recovered=c.cash_recovered, costs_borne=c.costs_borne, costs_repaid=c.costs_repaid
        )
    return list(cells.values())
