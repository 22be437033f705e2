"""The manager's approvals and a sanction decision, in headless Chromium, in Chinese and in English,
by the text a person sees. Screenshots go to var/screenshots/ (the CI artifact folder)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accountability.daily_checks import check_run
from accountability.models import AccountabilityRecord
from accountability.services import case_recovered_in_time
from collections_app.services import recovery_record
from tests.accountability.conftest import open_npl_case
from tests.conftest import SCREENSHOTS
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the manager reads and clicks, per language.
WORDS = {
    "zh-CN": {
        "board": "责任追究台账",
        "decide_first": "优先决定",
        "bonus": "奖金",
        "wage_stop": "停发工资",
        "grant_and_honour": "批准并兑现",
        "impose": "执行",
        "honoured": "已兑现",
        "imposed": "已执行",
        "reason_refused": "请说明执行处罚的理由。",
        "asks_impose": "确定对{name}执行停发工资吗？执行后不可撤销",
        "asks_honour": "确定兑现{name}的奖金吗？",
        "reason": "原因",
    },
    "en-GB": {
        "board": "Accountability board",
        "decide_first": "Decide first",
        "bonus": "Bonus",
        "wage_stop": "Wage stop",
        "grant_and_honour": "Grant and honour",
        "impose": "Impose",
        "honoured": "honoured",
        "imposed": "imposed",
        "reason_refused": "Say why the sanction is imposed.",
        "asks_impose": "Impose the wage stop on {name}? This cannot be undone",
        "asks_honour": "Honour the bonus of {name}?",
        "reason": "Reason",
    },
}


@pytest.fixture
def decisions_waiting(branch, officer, manager):
    """Riverside: a time limit missed (a wage stop proposed) and a loan recovered in time (a bonus)."""
    today = timezone.localdate()
    open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=181), loan_no="RIV-LATE")
    paid = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=30), loan_no="RIV-PAID")
    recovery_record(
        case=paid, actor=officer, received_on=today - timedelta(days=1), amount=Decimal("81500"), as_of=today
    )
    paid.refresh_from_db()
    case_recovered_in_time(case=paid, as_of=today)
    check_run(name="deadline_missed", as_of=today)
    return today


@pytest.fixture(params=["zh-CN", "en-GB"])
def manager_page(request, browser, live_server, decisions_waiting, manager):
    """The manager signed in through the login form, in a browser set to the language."""
    context = browser.new_context(locale=request.param, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login-card button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/accountability/board/")
    yield page, WORDS[request.param], request.param[:2]
    context.close()


def _answer_next_question(page, *, accept: bool) -> list[str]:
    """Answer the next confirmation the page asks; returns a list that will hold its text."""
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", answer)
    return asked


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_manager_honours_the_reward_and_imposes_the_sanction_only_with_a_reason(manager_page, officer):
    page, words, lang = manager_page
    name = officer.display_name
    assert words["board"] in page.locator("h1").inner_text()
    decide_first = page.locator("#decide-first")
    assert words["decide_first"] in decide_first.inner_text()
    _shot(page, f"acct-journey-board-{lang}")

    # The reward comes first; the button asks what will happen before anything does.
    bonus_row = decide_first.locator("tbody tr", has_text="RIV-PAID").first
    assert words["bonus"] in bonus_row.inner_text()
    asked = _answer_next_question(page, accept=False)
    bonus_row.get_by_role("button", name=words["grant_and_honour"]).click()
    assert asked and words["asks_honour"].format(name=name) in asked[0]
    bonus = AccountabilityRecord.objects.get(record_type="bonus", officer=officer)
    assert bonus.state == "proposed"  # declined the question: nothing happened

    asked = _answer_next_question(page, accept=True)
    with page.expect_navigation():
        bonus_row.get_by_role("button", name=words["grant_and_honour"]).click()
    assert asked
    bonus.refresh_from_db()
    assert bonus.state == "honoured"
    assert words["honoured"] in page.locator(".messages").inner_text()

    # The sanction: imposing it without a reason is refused, with the reason why.
    sanction_row = page.locator("#decide-first tbody tr", has_text="RIV-LATE").first
    assert words["wage_stop"] in sanction_row.inner_text()
    asked = _answer_next_question(page, accept=True)
    with page.expect_navigation():
        sanction_row.get_by_role("button", name=words["impose"], exact=True).click()
    assert words["asks_impose"].format(name=name) in asked[0]
    assert words["reason_refused"] in page.locator(".messages").inner_text()
    sanction = AccountabilityRecord.objects.get(record_type="wage_stop", officer=officer)
    assert sanction.state == "proposed"
    _shot(page, f"acct-journey-reason-refused-{lang}")

    # With a reason, after the question, it is imposed.
    sanction_row = page.locator("#decide-first tbody tr", has_text="RIV-LATE").first
    sanction_row.get_by_placeholder(words["reason"]).fill("No visit to the borrower in six months")
    asked = _answer_next_question(page, accept=True)
    with page.expect_navigation():
        sanction_row.get_by_role("button", name=words["impose"], exact=True).click()
    assert asked
    sanction.refresh_from_db()
    assert (sanction.state, sanction.decision_reason) == ("imposed", "No visit to the borrower in six months")
    assert words["imposed"] in page.locator(".messages").inner_text()
    _shot(page, f"acct-journey-imposed-{lang}")
