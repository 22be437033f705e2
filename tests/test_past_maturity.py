"""Issue 11, item 5: past maturity is overdue.

A loan past maturity with 800,000.00 outstanding and no overdue date was classified normal. Now a
loan whose maturity has passed with a balance is overdue from the day after maturity (DPD 1 on
maturity + 1), unless the book gives an earlier overdue date; the import says so in a warning.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from loans.classification import (
    ClassificationPolicy,
    FiveLevel,
    FourLevel,
    LoanFacts,
    classify,
    effective_overdue_since,
)
from loans.models import Loan
from loans.services import loans_reclassify
from tests.factories import LoanFactory

POLICY = ClassificationPolicy()
AS_OF = date(2026, 12, 1)
BALANCE = Decimal("800000.00")


def test_the_issues_loan_past_maturity_with_no_overdue_date_is_no_longer_normal():
    matured = date(2025, 10, 1)
    result = classify(LoanFacts(overdue_since=None, maturity_on=matured, balance=BALANCE), AS_OF, POLICY)
    assert result.days_past_due == (AS_OF - matured).days == 426
    assert (result.five_level, result.four_level) == (FiveLevel.LOSS, FourLevel.OVERDUE)


@pytest.mark.parametrize(
    "days_after_maturity, five, four",
    [
        (0, FiveLevel.NORMAL, FourLevel.NORMAL),  # matures today: not yet overdue
        (1, FiveLevel.NORMAL, FourLevel.OVERDUE),  # the day after: DPD 1 (a technical delay under five levels)
        (8, FiveLevel.SPECIAL_MENTION, FourLevel.OVERDUE),
        (91, FiveLevel.SUBSTANDARD, FourLevel.OVERDUE),
        (271, FiveLevel.DOUBTFUL, FourLevel.OVERDUE),
    ],
)
def test_overdue_from_the_day_after_maturity(days_after_maturity, five, four):
    matured = AS_OF - timedelta(days=days_after_maturity)
    result = classify(LoanFacts(overdue_since=None, maturity_on=matured, balance=BALANCE), AS_OF, POLICY)
    assert result.days_past_due == days_after_maturity
    assert (result.five_level, result.four_level) == (five, four)


def test_nothing_owed_past_maturity_is_not_overdue():
    result = classify(LoanFacts(overdue_since=None, maturity_on=date(2025, 1, 1), balance=Decimal("0")), AS_OF, POLICY)
    assert result.five_level == FiveLevel.NORMAL and result.days_past_due == 0


def test_the_earlier_of_the_books_overdue_date_and_the_maturity_counts():
    matured = date(2026, 6, 1)
    assert effective_overdue_since(date(2026, 3, 1), matured, BALANCE, AS_OF) == date(2026, 3, 1)
    assert effective_overdue_since(date(2026, 11, 1), matured, BALANCE, AS_OF) == matured
    assert effective_overdue_since(None, date(2027, 1, 1), BALANCE, AS_OF) is None


def test_a_cleared_loan_past_maturity_with_a_balance_is_not_upgraded():
    facts = LoanFacts(
        overdue_since=None,
        current_five_level="substandard",
        arrears_cleared_on=date(2026, 1, 1),
        maturity_on=date(2026, 8, 1),
        balance=BALANCE,
    )
    assert classify(facts, AS_OF, POLICY).five_level == FiveLevel.SUBSTANDARD


@pytest.mark.django_db
def test_the_daily_reclassification_reads_the_maturity(branch):
    loan = LoanFactory(
        branch=branch,
        principal=Decimal("1000000.00"),
        outstanding_principal=BALANCE,
        interest_on_balance=Decimal("0"),
        interest_off_balance=Decimal("0"),
        disbursed_on=date(2023, 10, 1),
        maturity_on=date(2025, 10, 1),
        overdue_since=None,
    )
    loans_reclassify(as_of=AS_OF, loan_ids=[loan.pk])
    loan = Loan.objects.get(pk=loan.pk)
    assert (loan.five_level_class, loan.four_level_class, loan.five_level_rule) == ("loss", "overdue", "dpd_loss")
    assert loan.overdue_since is None  # the book's own date is kept as the book gave it
