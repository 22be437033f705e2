"""Costs and net recovery on the case page, and the cause page, in headless Chromium."""

from __future__ import annotations

from decimal import Decimal

import pytest

from collections_app import services
from collections_app.models import CaseCost
from tests.factories import BorrowerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def costly_case(make_npl, officer, officer2, today):
    loan = make_npl(
        loan_no="RIV-3001",
        borrower=BorrowerFactory(name="Zhao Trading Co"),
        outstanding_principal=Decimal("90000.00"),
        interest_on_balance=Decimal("1500.00"),
        interest_off_balance=Decimal("2500.00"),
    )
    case = services.case_open(loan=loan, actor=officer, as_of=today, reason="Stopped paying")
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("6000.00"), as_of=today)
    return case


def test_an_officer_records_a_cost_and_sees_net_recovery_and_a_manager_records_the_cause(
    browser_session, costly_case, today, officer2, manager
):
    s = browser_session.login("officer")
    page = s.page
    s.go(f"/cases/{costly_case.pk}/")
    page.click("#record-cost summary")
    page.select_option("#id_cost-kind", "litigation")
    page.fill("#id_cost-amount", "2500")
    page.fill("#id_cost-source_document", "Court fee notice 2026-118")
    page.click("#form-cost button[type=submit]")
    page.wait_for_selector("text=Collection cost recorded.")
    assert CaseCost.objects.get().amount == Decimal("2500.00")
    assert "3,500.00" in page.locator("#net-recovery").inner_text()  # 6,000.00 - 2,500.00
    assert "Litigation (court fees)" in page.locator("#timeline").inner_text()
    s.shot("case-costs")

    page.click("header .userbox button[type=submit]")
    page.wait_for_load_state()
    s.login("manager")
    s.go(f"/accountability/cases/{costly_case.pk}/cause/")
    page.select_option("#id_kind", "negligence")
    page.fill("#id_description", "Collateral never registered")
    page.select_option("#id_person_1", str(officer2.pk))
    page.fill("#id_share_1", "100")
    page.click("form.cause-form button[type=submit]")
    page.wait_for_load_state()
    text = page.locator("#cause").inner_text()
    assert "Negligence" in text and "Compensation" in text
    s.shot("case-cause")
