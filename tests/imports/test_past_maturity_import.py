"""Issue 11, item 5, the import's part: a matured loan with a balance and no overdue date is imported
as overdue from the day after maturity, with a warning naming the row and the column."""

from __future__ import annotations

from datetime import date

import pytest

from loans.models import Loan
from tests.imports.conftest import AS_OF, csv_bytes, loan_row, run_import


@pytest.mark.django_db
def test_the_import_classifies_a_matured_loan_as_overdue_and_says_so(bank, admin_user):
    matured = loan_row(
        loan_no="L-0009",
        principal="1,000,000.00",
        outstanding_principal="800000.00",
        disbursed_on="2023-01-15",
        maturity_on="2026-01-15",
        overdue_since="",
    )
    outcome = run_import(csv_bytes([loan_row(), matured]), actor=admin_user)
    assert outcome.ok and outcome.batch.error_count == 0
    assert outcome.batch.warnings == [
        "row 3, column overdue_since: is empty, but the loan matured on 2026-01-15 and “800000.00” is still "
        "outstanding: it is classified as overdue from 2026-01-16"
    ]
    loan = Loan.objects.get(loan_no="L-0009")
    dpd = (AS_OF - date(2026, 1, 15)).days  # 166 on 2026-06-30
    assert dpd == 166
    assert (loan.five_level_class, loan.four_level_class) == ("substandard", "overdue")
    assert Loan.objects.get(loan_no="L-0001").five_level_class == "normal"
