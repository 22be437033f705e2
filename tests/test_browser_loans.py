"""The loan pages in headless Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loans.services import loans_reclassify
from tests.factories import LoanFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_logs_in_filters_loans_and_classifies_one_by_hand(browser_session, manager, branch, outlet):
    today = timezone.localdate()
    LoanFactory(branch=branch, loan_no="RIV-0001", overdue_since=today - timedelta(days=120))
    LoanFactory(branch=outlet, loan_no="RIV-0002", overdue_since=today - timedelta(days=20))
    LoanFactory(branch=branch, loan_no="RIV-0003")
    loans_reclassify(as_of=today)

    s = browser_session.login("manager")
    page = s.page
    assert page.locator(".kpi").first.is_visible()
    assert "Non-performing balance" in page.content()
    s.shot("dashboard")

    s.go("/loans/?five_level_class=substandard")
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 1 and "RIV-0001" in rows.first.inner_text()
    s.shot("loan-list")

    page.click("text=RIV-0001")
    page.wait_for_load_state()
    assert "120 days past due (more than 90)" in page.content()
    page.select_option("#id_five_level_class", "normal")
    page.fill("#id_reason", "Looks fine to me")
    page.click("text=Save classification")
    page.wait_for_load_state()
    assert "better than the floor" in page.content()
    page.select_option("#id_five_level_class", "doubtful")
    page.fill("#id_reason", "Borrower left the country")
    page.click("text=Save classification")
    page.wait_for_load_state()
    assert "is now Doubtful" in page.content()
    assert "Borrower left the country" in page.content()
    s.shot("loan-detail")
