"""A cost's correction form in headless Chromium: drawn when its section is opened (issue 15), it
reverses the cost through the page, and the reversed cost offers no second correction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from collections_app import services
from collections_app.models import CaseCost
from collections_app.selectors import case_money

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_correction_form_is_drawn_when_opened_and_reverses_the_cost(browser_session, case, officer, today):
    cost = services.cost_record(
        case=case, actor=officer, kind=CaseCost.Kind.LITIGATION, amount=Decimal("1000.00"), incurred_on=today,
        source_document="Fee notice 17",
    )  # fmt: skip
    s = browser_session.login("officer")
    page = s.page
    s.go(f"/cases/{case.pk}/")
    prefix = f"id_fix-{cost.pk}"
    assert page.locator(f"#{prefix}-reason").count() == 0  # not drawn with the page
    page.click(f"#cost-fix-{cost.pk} details.cost-fix summary")
    page.wait_for_selector(f"#{prefix}-reason")  # htmx drew it on opening
    s.shot("case-cost-correction-open")
    page.check(f"#{prefix}-action_1")  # reverse it (recorded in error)
    page.fill(f"#{prefix}-reason", "Entered twice")
    page.click(f"#form-cost-fix-{cost.pk} button[type=submit]")
    page.wait_for_selector("text=Collection cost reversed.")
    assert case_money(case=case).costs.borne_by_bank == Decimal("0.00")
    assert page.locator(f"#cost-fix-{cost.pk}").count() == 0
