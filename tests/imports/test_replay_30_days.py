"""Issue 11, "Done when": a replay of 30 daily books with known repayments and refinancings.

A small book (30 performing loans, 10 non-performing ones with cases and time limits) is imported
through the real import service once a day for June 2026, and the daily checks run each day. The
days change balances as a bank's book would:
- cash recorded on the case (recovery_record) before the next day's book reflects it;
- a fall reported by the book that the officer classifies as a cash repayment;
- refinancings: an NPL falls while a new loan goes to the same borrower in the same file, or in the
  next day's file; one where only the interest fell (interest by loans);
- amortising performing loans, and rows that do not change.
At the month's end: the month's cash recovered (the month-end snapshot and the ledger's counting
entries) equals the money actually paid, every refinancing is flagged, no reward is proposed for a
refinanced case, and every loan's balance is explained by its ledger entries.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from accountability.daily_checks.registry import checks_run_all
from accountability.models import REWARD_TYPES, AccountabilityRecord, LoansByLoansFlag, MonthEndSnapshot
from accountability.services import loans_by_loans_review
from collections_app.models import CollectionCase
from collections_app.services import recovery_record
from ledger.models import LedgerEntry
from ledger.selectors import invariant_breaches
from loans.models import Loan
from reconciliation.models import ReportedFall
from reconciliation.services import reported_fall_classify
from tests.imports.conftest import csv_bytes, loan_row, run_import

pytestmark = pytest.mark.django_db(transaction=False)

MONTH = date(2026, 6, 1)
CENT = Decimal("0.01")


def day(n: int) -> date:
    return date(2026, 6, n)


def _book() -> dict[str, dict]:
    """Day 1's book: L-001..L-030 performing, L-031..L-040 non-performing (loss, overdue since 2025)."""
    rows: dict[str, dict] = {}
    for n in range(1, 41):
        npl = n > 30
        rows[f"L-{n:03d}"] = loan_row(
            loan_no=f"L-{n:03d}",
            borrower_name=f"Borrower {n:03d}",
            borrower_id_no=f"1101011990010{n:05d}",
            principal="200000",
            outstanding_principal=f"{100000 + n * 1000}.{n:02d}",
            interest_on_balance=f"{1000 + n}.50",
            interest_off_balance=f"{500 + n}.25" if npl else "0",
            disbursed_on="2023-03-01",
            maturity_on="2028-03-01",
            overdue_since="2025-01-20" if npl else "",
        )
    return rows


def _new_loan(loan_no: str, borrower_of: dict, on: date, amount: str) -> dict:
    return loan_row(
        loan_no=loan_no,
        borrower_name=borrower_of["borrower_name"],
        borrower_id_no=borrower_of["borrower_id_no"],
        principal=amount,
        outstanding_principal=amount,
        interest_on_balance="0",
        interest_off_balance="0",
        disbursed_on=on.isoformat(),
        maturity_on="2029-06-01",
    )


def _reflect(row: dict, loan_no: str) -> None:
    """The book of the next day shows what the bank's core system booked (the app's own balances)."""
    loan = Loan.objects.get(loan_no=loan_no)
    row.update(
        outstanding_principal=str(loan.outstanding_principal),
        interest_on_balance=str(loan.interest_on_balance),
        interest_off_balance=str(loan.interest_off_balance),
    )


def _owed(row: dict) -> Decimal:
    return sum(
        (Decimal(row[k]) for k in ("outstanding_principal", "interest_on_balance", "interest_off_balance")),
        Decimal("0.00"),
    )


def _zero(row: dict, *, interest_only: bool = False) -> None:
    if not interest_only:
        row["outstanding_principal"] = "0"
    row.update(interest_on_balance="0", interest_off_balance="0")


def _import(rows: dict, on: date, actor, capture) -> None:
    with capture(execute=True):  # the collection app opens cases on commit
        outcome = run_import(csv_bytes(list(rows.values())), actor=actor, as_of=on, name=f"book-{on}.csv")
    assert outcome.ok, (on, outcome.errors)


def _case(loan_no: str) -> CollectionCase:
    return CollectionCase.objects.get(loan__loan_no=loan_no)


def test_a_month_of_daily_books_recovers_exactly_the_money_paid(
    bank, admin_user, officer, manager, django_capture_on_commit_callbacks
):
    rows = _book()
    paid = Decimal("0.00")  # the money the borrowers actually paid in the month
    refinanced = {}  # overdue loan -> the new loan that refinanced it

    for n in range(1, 31):
        on = day(n)
        pending_cash_falls: list[tuple[str, Decimal]] = []
        # --- the day's book --------------------------------------------------------------------
        if n % 10 == 5:  # performing loans amortise (not a recovery: they are not non-performing)
            for k in range(1, 11):
                row = rows[f"L-{k:03d}"]
                row["outstanding_principal"] = str(Decimal(row["outstanding_principal"]) - 1000)
        if n == 6:  # the book shows a partial repayment on L-033 the officer classifies as cash
            row = rows["L-033"]
            row["outstanding_principal"] = str(Decimal(row["outstanding_principal"]) - Decimal("20000.00"))
            pending_cash_falls.append(("L-033", Decimal("20000.00")))
        if n == 8:  # refinancing in the same file: L-035 to zero, a new 1.4M loan to its borrower
            _zero(rows["L-035"])
            rows["L-041"] = _new_loan("L-041", rows["L-035"], on, "1400000")
            refinanced["L-035"] = "L-041"
        if n == 12:  # L-037 falls to zero today; the new loan comes in tomorrow's file
            _zero(rows["L-037"])
            refinanced["L-037"] = "L-043"
        if n == 13:
            rows["L-043"] = _new_loan("L-043", rows["L-037"], on, "260000")
        if n == 15:  # L-034 repaid in full, reported by the book, classified as cash
            owed = _owed(rows["L-034"])
            _zero(rows["L-034"])
            pending_cash_falls.append(("L-034", owed))
        if n == 20:  # only the interest of L-036 falls while a new loan goes to its borrower
            _zero(rows["L-036"], interest_only=True)
            rows["L-042"] = _new_loan("L-042", rows["L-036"], on, "30000")
            refinanced["L-036"] = "L-042"
        _import(rows, on, admin_user, django_capture_on_commit_callbacks)

        # --- the day's work on the cases -------------------------------------------------------
        for loan_no, amount in pending_cash_falls:
            fall = ReportedFall.objects.get(entry__loan__loan_no=loan_no, entry__value_date=on)
            assert fall.amount == amount
            reported_fall_classify(fall=fall, outcome="cash_repayment", value_date=on, actor=officer, as_of=on)
            paid += amount
        if n == 3:  # cash paid at the counter, recorded on the case; the book reflects it tomorrow
            recovery_record(case=_case("L-031"), actor=officer, received_on=on, amount=Decimal("10000.00"), as_of=on)
            paid += Decimal("10000.00")
            _reflect(rows["L-031"], "L-031")
        if n == 10:  # L-032 pays everything it owes, recorded on the case
            owed = _owed(rows["L-032"])
            recovery_record(case=_case("L-032"), actor=officer, received_on=on, amount=owed, as_of=on)
            paid += owed
            _reflect(rows["L-032"], "L-032")
        if n == 9:  # a manager confirms the same-file refinancing: the case ends refinanced
            flag = LoansByLoansFlag.objects.get(overdue_loan__loan_no="L-035")
            loans_by_loans_review(flag=flag, status="confirmed", note="A new loan repaid the old", actor=manager)
        if n == 25:  # a second payment on L-031, after an earlier one the book already shows
            recovery_record(case=_case("L-031"), actor=officer, received_on=on, amount=Decimal("1234.56"), as_of=on)
            paid += Decimal("1234.56")
            _reflect(rows["L-031"], "L-031")

        checks_run_all(as_of=on)

    # --- the month's recovery figure is the money that was actually paid -----------------------
    assert paid == Decimal("10000.00") + Decimal("20000.00") + Decimal("1234.56") + _paid_in_full("L-032", "L-034")
    snapshot = MonthEndSnapshot.objects.filter(month=MONTH).aggregate(
        cash=Sum("cash_recovered"), kind=Sum("in_kind_value")
    )
    assert snapshot["cash"] == paid
    assert snapshot["kind"] == Decimal("0.00")
    counted = LedgerEntry.objects.filter(
        counts_as_recovery=True, form="cash", value_date__range=(MONTH, day(30))
    ).aggregate(s=Sum("amount"))["s"]
    assert counted == paid
    # The book's falls that were refinancings (or not yet classified) count for nothing.
    for loan_no in refinanced:
        assert not LedgerEntry.objects.filter(loan__loan_no=loan_no, counts_as_recovery=True).exists(), loan_no

    # --- every refinancing is flagged ---------------------------------------------------------
    for loan_no, new_loan_no in refinanced.items():
        flags = LoansByLoansFlag.objects.filter(
            overdue_loan__loan_no=loan_no,
            new_loan__loan_no=new_loan_no,
            kind__in=["loans_by_loans", "interest_by_loans"],
        )
        assert flags.exists(), f"{loan_no} refinanced by {new_loan_no} was not flagged"
    assert LoansByLoansFlag.objects.get(overdue_loan__loan_no="L-036").kind == "interest_by_loans"
    assert LoansByLoansFlag.objects.get(overdue_loan__loan_no="L-035").kind == "loans_by_loans"
    # No cash repayment was flagged as a refinancing.
    assert not LoansByLoansFlag.objects.filter(
        overdue_loan__loan_no__in=["L-031", "L-032", "L-033", "L-034"], kind__in=["loans_by_loans", "interest_by_loans"]
    ).exists()

    # --- refinanced cases: never recovered, no reward ----------------------------------------
    assert _case("L-035").measure == "refinanced"
    for loan_no in refinanced:
        case = _case(loan_no)
        assert case.measure != "recovered", loan_no
        assert not AccountabilityRecord.objects.filter(case=case, record_type__in=REWARD_TYPES).exists(), loan_no
    # The cases repaid in money did end recovered.
    assert _case("L-032").measure == "recovered" and _case("L-034").measure == "recovered"
    # ...and the checks do propose rewards in this book: the "no reward" above is not vacuous.
    rewarded = set(
        AccountabilityRecord.objects.filter(record_type__in=REWARD_TYPES).values_list("case__loan__loan_no", flat=True)
    )
    assert rewarded == {"L-032", "L-034"}, rewarded

    # --- every balance is explained by its entries --------------------------------------------
    assert not invariant_breaches().exists()
    for loan_no, row in rows.items():
        loan = Loan.objects.get(loan_no=loan_no)
        assert (
            loan.outstanding_principal,
            loan.interest_on_balance,
            loan.interest_off_balance,
        ) == tuple(
            Decimal(row[k]).quantize(CENT)
            for k in ("outstanding_principal", "interest_on_balance", "interest_off_balance")
        ), loan_no


def _paid_in_full(*loan_nos: str) -> Decimal:
    """What day 1's book said the loans owed (nothing else changed them before they were repaid)."""
    book = _book()
    return sum((_owed(book[no]) for no in loan_nos), Decimal("0.00"))
