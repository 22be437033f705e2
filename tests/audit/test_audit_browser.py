"""The audit page in headless Chromium: an auditor follows the menu, searches, reads a case's history."""

from __future__ import annotations

import pytest
from django.utils import timezone

from collections_app import services as case_services
from tests.factories import GuaranteeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_auditor_searches_the_trail_and_reads_old_and_new_values_side_by_side(browser_session, bank, officer):
    GuaranteeFactory(loan=bank.loan)
    case_services.case_move(
        case=bank.case, target="pressure", actor=officer, as_of=timezone.localdate(), reason="Guarantor can pay"
    )
    s = browser_session.login("auditor")
    page = s.page
    page.click("nav.mainnav >> text=Audit trail")
    page.wait_for_load_state()
    page.fill("#id_case", str(bank.case.pk))
    page.select_option("#id_event", "case.moved")
    page.click("button:has-text('Search')")
    page.wait_for_load_state()
    row = page.locator(".audit-table > tbody > tr")
    assert row.count() == 1
    assert row.locator("table.changes td.old").inner_text() == "1 Responsibility"
    assert row.locator("table.changes td.new").inner_text() == "5 Pressure"
    s.shot("audit-trail")

    s.go(f"/cases/{bank.case.pk}/")
    page.click("text=History")
    page.wait_for_load_state()
    assert "History of case" in page.inner_text("h1")
    s.shot("audit-case-history")
