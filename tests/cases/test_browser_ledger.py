"""The case page's Ledger section in headless Chromium (issue 11): the entries newest first, a
backdated recovery awaiting approval, and a manager approving its value date."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from collections_app import services
from collections_app.models import CollectionCase
from ledger.models import LedgerEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_ledger_section_and_a_manager_approving_a_value_date(browser_session, make_npl, officer, manager, today):
    loan = make_npl(loan_no="RIV-3001")
    case = services.case_open(loan=loan, actor=officer, as_of=today, reason="Stopped paying")
    CollectionCase.objects.filter(pk=case.pk).update(opened_on=today - timedelta(days=40))
    services.recovery_record(
        case=case, actor=officer, received_on=today - timedelta(days=20), amount=Decimal("700.00"), as_of=today
    )
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("300.00"), as_of=today)
    s = browser_session.login("manager")
    s.go(f"/cases/{case.pk}/")
    page = s.page
    rows = page.locator("#ledger table.ledger tbody tr")
    assert rows.count() == 3  # opening balance, the backdated recovery, today's recovery
    assert "Opening balance" in rows.last.inner_text()
    awaiting = page.locator("#ledger tr.awaiting")
    assert awaiting.count() == 1 and "Awaiting approval" in awaiting.inner_text()
    s.shot("case-ledger")
    awaiting.locator("text=Approve the value date").click()
    page.wait_for_load_state()
    assert page.locator("#ledger tr.awaiting").count() == 0
    assert LedgerEntry.objects.get(case=case, value_date=today - timedelta(days=20)).approval == "approved"
