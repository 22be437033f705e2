"""The accountability pages in headless Chromium, with screenshots under $NPL_VAR_DIR/../screenshots."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accountability.daily_checks import check_run
from accountability.models import AccountabilityRecord, ResponsibilityAssignment
from accountability.services import case_recovered_in_time
from collections_app.services import recovery_record
from tests.accountability.conftest import divide, open_npl_case
from tests.factories import LoanFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def story(branch, officer, officer2, manager):
    """Riverside: one time limit missed yesterday, one in 5 days shared 60/40, one recovered in time."""
    today = timezone.localdate()
    late = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=181), loan_no="RIV-LATE")
    soon = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=20), loan_no="RIV-SOON")
    divide(
        soon,
        manager,
        [(officer, Decimal("60")), (officer2, Decimal("40"))],
        today + timedelta(days=5),
        as_of=today - timedelta(days=1),
        reason="Joint responsibility",
    )
    paid = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=30), loan_no="RIV-PAID")
    recovery_record(
        case=paid, actor=officer, received_on=today - timedelta(days=1), amount=Decimal("81500"), as_of=today
    )
    paid.refresh_from_db()
    case_recovered_in_time(case=paid, as_of=today)
    LoanFactory(
        branch=branch, responsible_officer=officer, loan_no="RIV-WATCH", overdue_since=today - timedelta(days=4)
    )
    for name in ("deadline_reminders", "deadline_missed", "watch_list"):
        check_run(name=name, as_of=today)
    return {"late": late, "soon": soon, "paid": paid}


def test_officer_follows_the_bell_to_a_reminder_and_sees_their_responsibilities(browser_session, story):
    s = browser_session.login("officer")
    page = s.page
    page.wait_for_selector(".bell-count")
    assert int(page.inner_text(".bell-count")) >= 3
    page.click(".bell")
    page.wait_for_load_state()
    assert "RIV-SOON: the recovery time limit is in 5 days" in page.content()
    s.shot("acct-notifications")

    s.go("/accountability/mine/")
    rows = page.locator("#my-responsibilities tbody tr")
    assert rows.count() == 2  # the late one and the shared one (the paid case is finished)
    assert "missed 1 day ago" in rows.first.inner_text()
    assert "60%" in page.inner_text("#my-responsibilities")
    page.wait_for_selector(".bell-count")
    s.shot("acct-mine")


def test_manager_decides_from_the_board_reward_first(browser_session, story, manager):
    s = browser_session.login("manager")
    page = s.page
    s.go("/accountability/board/")
    first = page.locator("#decide-first tbody tr").first
    assert "Bonus" in first.inner_text() and "RIV-PAID" in first.inner_text()
    s.shot("acct-board")
    page.on("dialog", lambda dialog: dialog.accept())  # every decision asks first: yes
    with page.expect_navigation():
        first.locator("button[value=honour]").click()
    assert "bonus for" in page.content().lower() and "honoured" in page.content()
    reward = AccountabilityRecord.objects.get(record_type="bonus")
    assert (reward.state, reward.decided_by) == ("honoured", manager)

    sanction = AccountabilityRecord.objects.get(record_type="wage_stop")
    s.go(f"/accountability/records/{sanction.pk}/")
    page.fill("input[name=reason]", "")
    with page.expect_navigation():
        page.click("button[value=waive]")
    assert "Say why it is waived" in page.content()
    page.fill("input[name=reason]", "Borrower in hospital for three months")
    with page.expect_navigation():
        page.click("button[value=waive]")
    assert "wage stop for" in page.content().lower() and "Borrower in hospital" in page.content()
    s.shot("acct-record")


def test_manager_divides_responsibility_anew(browser_session, story, officer2):
    case = story["late"]
    s = browser_session.login("manager")
    page = s.page
    s.go(f"/accountability/cases/{case.pk}/responsibility/")
    page.select_option("#id_officer_1", str(officer2.pk))
    page.fill("#id_share_1", "100")
    deadline = (timezone.localdate() + timedelta(days=60)).isoformat()
    page.fill("#id_recovery_deadline", deadline)
    page.fill("#id_reason", "Officer 2 takes over: new division of responsibility")
    page.click("text=Record the new division")
    page.wait_for_load_state()
    assert "New division of responsibility recorded" in page.content()
    assert ResponsibilityAssignment.objects.filter(case=case).count() == 2
    assert page.locator(".divisions > li").count() == 2
    s.shot("acct-division")


def test_prevention_watch_list_and_loans_by_loans(browser_session, story, branch, officer2):
    today = timezone.localdate()
    late = story["late"]
    recovery_record(
        case=late, actor=late.officer, received_on=today - timedelta(days=3), amount=Decimal("2000"), as_of=today
    )
    LoanFactory(
        branch=branch,
        borrower=late.loan.borrower,
        issuing_officer=officer2,
        loan_no="RIV-NEW",
        disbursed_on=today - timedelta(days=1),
        maturity_on=today + timedelta(days=364),
    )
    assert check_run(name="loans_by_loans", as_of=today).counts["flags"] == 1

    s = browser_session.login("officer")
    s.go("/accountability/prevention/?mine=1")
    assert "RIV-WATCH" in s.page.content() and "Past due while still normal" in s.page.content()
    s.shot("acct-prevention")

    s.page.context.clear_cookies()  # log the officer out
    s = browser_session.login("manager")
    page = s.page
    s.go("/accountability/prevention/?tab=loans_by_loans")
    row = page.locator("table.table tbody tr").first
    assert "RIV-NEW" in row.inner_text() and "RIV-LATE" in row.inner_text() and "Same borrower" in row.inner_text()
    s.shot("acct-loans-by-loans")
    row.locator("input[name=note]").fill("Refinancing to repay the overdue loan")
    page.once("dialog", lambda dialog: dialog.accept())  # confirming a flag asks first
    with page.expect_navigation():
        row.locator("button[value=confirmed]").click()
    assert "Flag reviewed" in page.content() and "Confirmed" in page.content()
