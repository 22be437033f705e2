"""The month-end snapshot's full caliber: both schemes' classes, interest on and off the balance
sheet, collection costs and net recovery, on a small book computed by hand (issue 11, item 6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accountability.daily_checks import check_run
from accountability.models import MonthEndSnapshot
from collections_app.models import CaseCost
from collections_app.services import cost_record, recovery_record
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db
JUNE_END = date(2026, 6, 30)


def _book(branch, officer2) -> None:
    """Four loans of officer2, classified as written (nothing reclassifies them here)."""
    for five, four, principal, on, off in (
        ("doubtful", "idle", "100000", "2000", "3000"),
        ("loss", "bad_debt", "40000", "0", "6000"),
        ("normal", "normal", "50000", "100", "0"),
        ("special_mention", "overdue", "10000", "50", "0"),
    ):
        LoanFactory(
            branch=branch,
            responsible_officer=officer2,
            five_level_class=five,
            four_level_class=four,
            outstanding_principal=Decimal(principal),
            interest_on_balance=Decimal(on),
            interest_off_balance=Decimal(off),
        )


def test_the_snapshot_carries_both_schemes_and_interest_apart(branch, officer2):
    _book(branch, officer2)
    assert check_run(name="month_end_snapshot", as_of=JUNE_END).counts == {"rows": 1}
    row = MonthEndSnapshot.objects.get(officer=officer2)
    assert (row.loans, row.outstanding_principal) == (4, Decimal("200000.00"))
    # Five levels.
    assert (row.npl_count, row.npl_balance) == (2, Decimal("140000.00"))
    assert (row.doubtful_count, row.loss_count, row.normal_count, row.special_mention_count) == (1, 1, 1, 1)
    # Four levels, beside them.
    assert (row.overdue_count, row.overdue_balance) == (1, Decimal("10000.00"))
    assert (row.idle_count, row.idle_balance) == (1, Decimal("100000.00"))
    assert (row.bad_debt_count, row.bad_debt_balance) == (1, Decimal("40000.00"))
    # Interest on and off the balance sheet, apart.
    assert (row.interest_on_balance, row.interest_off_balance) == (Decimal("2150.00"), Decimal("9000.00"))


def test_the_snapshot_nets_the_months_costs_the_bank_bore_off_the_cash_recovered(npl_case, officer):
    def cost(kind: str, amount: str, on: date, borne_by: str = CaseCost.BorneBy.BANK) -> None:
        cost_record(case=npl_case, actor=officer, kind=kind, amount=Decimal(amount), incurred_on=on, borne_by=borne_by)

    cost("lawyer", "1200", date(2026, 6, 5))
    cost("appraisal", "800", date(2026, 6, 7), CaseCost.BorneBy.THIRD_PARTY)  # not the bank's cost
    cost("travel", "100", date(2026, 5, 20))  # May's
    recovery_record(
        case=npl_case, actor=officer, received_on=date(2026, 6, 10), amount=Decimal("1500"), as_of=date(2026, 6, 10)
    )
    check_run(name="month_end_snapshot", as_of=JUNE_END)
    row = MonthEndSnapshot.objects.get(officer=officer)
    assert (row.cash_recovered, row.costs_borne, row.costs_repaid) == (
        Decimal("1500.00"),
        Decimal("1200.00"),
        Decimal("0.00"),
    )
    assert row.net_recovery == Decimal("300.00")
    # Idempotent: the month is taken once.
    assert check_run(name="month_end_snapshot", as_of=JUNE_END).counts == {"skipped": "already taken"}
    assert MonthEndSnapshot.objects.count() == 1
