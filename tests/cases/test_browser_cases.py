"""The officer's workspace in headless Chromium: the queue, the case page, and one case walked
from responsibility to recovered through the UI (with a manager approving a move)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from collections_app import services
from collections_app.models import CollectionCase
from loans.models import Borrower
from tests.factories import BorrowerFactory, CollateralFactory, GuaranteeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def book(make_npl, officer, officer2, manager, today):
    """Three cases for the officer (one with a promise due soon) and one for a colleague."""
    walk = make_npl(
        loan_no="RIV-2001",
        borrower=BorrowerFactory(name="Huang Textiles Ltd", kind=Borrower.Kind.ENTERPRISE),
        outstanding_principal=Decimal("5000.00"),
        interest_on_balance=Decimal("300.00"),
        interest_off_balance=Decimal("200.00"),
    )
    GuaranteeFactory(loan=walk, amount=Decimal("5000.00"))
    CollateralFactory(loan=walk, description="Weaving machine")
    cases = {"walk": services.case_open(loan=walk, actor=officer, as_of=today, reason="Stopped paying")}
    cases["promised"] = services.case_open(loan=make_npl(loan_no="RIV-2002"), actor=officer, as_of=today, reason="x")
    services.promise_record(
        case=cases["promised"],
        actor=officer,
        promised_on=today,
        amount=Decimal("700.00"),
        due_on=today + timedelta(days=2),
    )
    cases["later"] = services.case_open(loan=make_npl(loan_no="RIV-2003"), actor=officer, as_of=today, reason="x")
    services.case_open(
        loan=make_npl(loan_no="RIV-2004", responsible_officer=officer2), actor=officer2, as_of=today, reason="x"
    )
    return cases


def test_the_queue_and_the_case_page_render(browser_session, book):
    s = browser_session.login("officer")
    s.go("/cases/")
    page = s.page
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 3  # the colleague's case is not in "my cases"
    assert "RIV-2002" in rows.first.inner_text()  # the promise due in 2 days comes first
    s.shot("cases-queue")
    page.select_option("#id_scope", "all")
    page.click("text=Filter")
    page.wait_for_load_state()
    assert page.locator("table.queue tbody tr").count() == 4
    page.click("text=RIV-2002")
    page.wait_for_load_state()
    assert page.locator("#case-measure").inner_text() == "1 Responsibility"
    assert page.locator("svg.state-machine .sm-current").get_attribute("data-state") == "responsibility"
    assert page.locator("li.move-disabled", has_text="Move to pressure").is_visible()
    assert "no guarantor, no collateral" in page.locator("#moves").inner_text()
    s.shot("case-page")


def switch_user(s, username: str) -> None:
    """Log out through the top bar, then log in as someone else."""
    s.page.click("header .userbox button[type=submit]")
    s.page.wait_for_load_state()
    s.login(username)


def test_one_case_walks_from_responsibility_to_recovered_through_the_ui(browser_session, book, today):
    case = book["walk"]
    s = browser_session.login("officer")
    page = s.page
    s.go(f"/cases/{case.pk}/")

    # Log a visit (the form posts with htmx and the page reloads).
    page.click("#record-contact summary")
    page.select_option("#id_contact-kind", "visit")
    page.fill("#id_contact-summary", "Met the owner at the factory; orders are down.")
    page.click("#form-contact button[type=submit]")
    page.wait_for_load_state()
    page.wait_for_selector("text=Contact logged.")
    assert "Met the owner at the factory" in page.locator("#timeline").inner_text()

    # Serve a signed notice: legal becomes possible (it needs a manager).
    page.click("#record-notice summary")
    page.fill("#id_notice-served_to", "Huang Textiles Ltd")
    page.check("#id_notice-signed_acknowledgement")
    page.click("#form-notice button[type=submit]")
    page.wait_for_selector("text=Notice recorded.")

    # Collaborative: an officer's move for an enterprise borrower, confirmed first.
    page.locator("li.move[data-target=collaborative] button").click()
    page.wait_for_selector("text=it can never go back")
    page.click("#confirm button[type=submit]")
    page.wait_for_selector("text=The case moved to 2 collaborative.")
    assert page.locator("#case-measure").inner_text() == "2 Collaborative"

    # Ask for legal; only a manager approves.
    page.click("li.move[data-target=legal] summary")
    page.fill("#reason-legal", "Orders are down but the owner bought a new car: can pay, refuses.")
    page.click("li.move[data-target=legal] button[type=submit]")
    page.click("#confirm button[type=submit]")
    page.wait_for_selector("text=requested: a manager will decide.")
    assert "Already requested" in page.locator("#moves").inner_text()
    s.shot("walk-requested")

    switch_user(s, "manager")
    s.go(f"/cases/{case.pk}/")
    page.fill("textarea[id^=decision-reason]", "Go ahead, file at the county court.")
    page.click("#moves button[value=approve]")
    page.click("#confirm button[type=submit]")
    page.wait_for_selector("text=Approved: the case moved to 3 legal.")
    assert page.locator("#case-measure").inner_text() == "3 Legal"

    switch_user(s, "officer")
    s.go(f"/cases/{case.pk}/")
    # Pressure on the guarantor (skipping the special team is allowed).
    page.locator("li.move[data-target=pressure] input[name=reason]").fill("Guarantor contacted")
    page.locator("li.move[data-target=pressure] button").click()
    page.click("#confirm button[type=submit]")
    page.wait_for_selector("text=The case moved to 5 pressure.")

    # Too much money is refused with a clear error, in the form.
    page.click("#record-recovery summary")
    page.fill("#id_recovery-amount", "9999.00")
    page.select_option("#id_recovery-paid_by", "guarantor")
    page.click("#form-recovery button[type=submit]")
    page.wait_for_selector("#form-recovery .errorlist")
    assert "more than the 5,500.00 owed" in page.locator("#form-recovery").inner_text()
    s.shot("walk-recovery-error")

    # Part, then the rest: the case is recovered by itself.
    page.fill("#id_recovery-amount", "2000.00")
    page.click("#form-recovery button[type=submit]")
    expect(page.locator("#kpi-owed")).to_have_text("¥3,500.00")
    page.click("#record-recovery summary")
    page.fill("#id_recovery-amount", "3500.00")
    page.select_option("#id_recovery-paid_by", "guarantor")
    page.click("#form-recovery button[type=submit]")
    expect(page.locator("#case-measure")).to_have_text("Recovered")
    assert page.locator("svg.state-machine .sm-current").get_attribute("data-state") == "recovered"
    assert "no move is left" in page.locator("#moves").inner_text()
    s.shot("walk-recovered")

    final = CollectionCase.objects.select_related("loan").get(pk=case.pk)
    assert final.measure == "recovered" and not final.is_open and final.loan.total_owed == 0
    path = list(final.measure_changes.order_by("id").values_list("to_measure", flat=True))
    assert path == ["collaborative", "legal", "pressure", "recovered"]


def test_the_queue_puts_insiders_first_and_the_case_page_shows_the_debtors_flags(
    browser_session, make_npl, officer, today
):
    """Issue 11: insiders first, then idle, doubtful and loss loans; the ability to pay and the
    dishonest-debtor list recorded on the case page."""
    services.case_open(loan=make_npl(loan_no="RIV-3001"), actor=officer, as_of=today, reason="x")
    services.case_open(
        loan=make_npl(loan_no="RIV-3002", five_level_class="doubtful"), actor=officer, as_of=today, reason="x"
    )
    insider = services.case_open(
        loan=make_npl(loan_no="RIV-3003", borrower=BorrowerFactory(name="Zhou Min", insider_kind="staff_relative")),
        actor=officer,
        as_of=today,
        reason="x",
    )
    s = browser_session.login("officer")
    s.go("/cases/")
    rows = s.page.locator("table.queue tbody tr")
    assert [rows.nth(i).locator("td.case-link").inner_text() for i in range(3)] == [
        "RIV-3003",
        "RIV-3002",
        "RIV-3001",
    ]
    s.shot("cases-queue-emphasis")
    s.go(f"/cases/{insider.pk}/")
    page = s.page
    page.click("text=Assess the ability to pay")
    page.check("input[name=ability-able_to_pay][value=yes]")
    page.check("#id_ability-refuses_to_pay")
    page.fill("#id_ability-evidence", "Runs two shops; said he will not pay")
    page.locator("#form-ability button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("able but unwilling")
    expect(page.locator("body")).to_contain_text("Relative of staff")
    s.shot("case-debtor-flags")
