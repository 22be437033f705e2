"""The reconciliation pages in headless Chromium (screenshots under $NPL_VAR_DIR/../screenshots):
the officer finds the fall on the work queue, classifies it; the manager sees the flag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reconciliation.models import ReportedFall
from tests.imports.conftest import csv_bytes, loan_row, run_import, three_loans

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fallen(bank, admin_user, manager):
    """Li Na's NPL lowered by the next book, a new loan to her, and a fall on Zhang Wei's loss loan."""
    today = timezone.localdate()
    first = three_loans()
    first[0]["overdue_since"] = "2025-01-01"
    run_import(csv_bytes(first), actor=admin_user, as_of=today - timedelta(days=30))
    rows = three_loans()
    rows[0].update(overdue_since="2025-01-01", outstanding_principal="60000")
    rows[1].update(outstanding_principal="0", interest_on_balance="0", interest_off_balance="0")
    rows.append(
        loan_row(
            loan_no="L-0009", borrower_name="Li Na", borrower_id_no="220101198505052345", principal="1400000",
            outstanding_principal="1400000", disbursed_on=(today - timedelta(days=2)).isoformat(),
        )
    )  # fmt: skip
    run_import(csv_bytes(rows), actor=admin_user, as_of=today)
    return ReportedFall.objects.order_by("loan__loan_no")


def test_officer_classifies_a_fall_and_manager_sees_the_loans_by_loans_flag(browser_session, fallen):
    s = browser_session.login("officer")
    page = s.page
    s.go("/cases/")
    assert page.inner_text("#to-classify .badge") == "2"
    page.click("#to-classify")
    page.wait_for_load_state()
    assert "L-0001" in page.content() and "L-0002" in page.content()
    s.shot("reconcile-to-classify")
    page.locator("tr", has_text="L-0001").locator("a.btn-primary").click()
    page.wait_for_load_state()
    page.check("input[value=cash_repayment]")
    s.shot("reconcile-classify-form")
    page.click("button[type=submit].btn-primary")
    page.wait_for_load_state()
    assert "Balance change classified." in page.content()
    s.go("/reconciliation/?tab=classified")
    assert "Cash repayment" in page.content()

    s = browser_session.login("manager")
    s.go("/accountability/prevention/?tab=loans_by_loans")
    assert "Reported by the book" in page.content() and "L-0009" in page.content()
    s.shot("reconcile-prevention-flag")
