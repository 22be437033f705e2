"""The officer's day in headless Chromium, by visible text, in Chinese and in English, on a 1366x768
laptop and on a 390x844 phone: open today's most urgent case from the queue, log a visit, record a
promise and a partial recovery, and request escalation through its confirmation.
Screenshots go to var/screenshots/journey-officer-<language>-<device>-<step>.png."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from collections_app import services
from collections_app.models import CaseRequest, CollectionCase
from loans.models import Borrower
from tests.conftest import SCREENSHOTS
from tests.factories import TEST_PASSWORD, BorrowerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEVICES = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
LOCALES = {"zh-hans": "zh-CN", "en": "en-GB"}

# What the officer reads and clicks, in each language.
TEXT = {
    "zh-hans": {
        "contact": "登记催收联系或上门",
        "visit": "上门",
        "summary": "联系情况",
        "save": "保存",
        "contact_done": "催收联系已登记。",
        "promise": "登记还款承诺",
        "amount": "金额",
        "due": "承诺还款日",
        "promise_done": "还款承诺已登记。",
        "recovery": "登记收回",
        "recovery_done": "收回已登记。",
        "legal": "申请依法清收",
        "why": "理由",
        "continue": "继续",
        "never_back": "不能再回退",
        "send": "确认提交申请",
        "requested": "已申请3 依法清收，等待管理人员审批。",
        "measure": "1 责任清收",
    },
    "en": {
        "contact": "Log a contact or visit",
        "visit": "Visit",
        "summary": "What was said or done",
        "save": "Save",
        "contact_done": "Contact logged.",
        "promise": "Record a promise to pay",
        "amount": "Amount",
        "due": "To be paid by",
        "promise_done": "Promise recorded.",
        "recovery": "Record a recovery",
        "recovery_done": "Recovery recorded.",
        "legal": "Request legal action",
        "why": "Why",
        "continue": "Continue",
        "never_back": "it can never go back",
        "send": "Yes, send the request",
        "requested": "3 Legal requested: a manager will decide.",
        "measure": "1 Responsibility",
    },
}


@pytest.fixture
def day(make_npl, officer, today):
    """The officer's book: the urgent case has a promise due tomorrow and a signed notice (legal is possible)."""
    officer.first_name, officer.last_name = "Wei", "Zhang"
    officer.save()
    urgent = services.case_open(
        loan=make_npl(
            loan_no="RIV-3001",
            borrower=BorrowerFactory(name="黄氏纺织有限公司", kind=Borrower.Kind.ENTERPRISE),
            outstanding_principal=Decimal("50000.00"),
            interest_on_balance=Decimal("3000.00"),
            interest_off_balance=Decimal("2000.00"),
        ),
        actor=officer,
        as_of=today,
        reason="Stopped paying",
    )
    services.notice_serve(case=urgent, actor=officer, served_on=today, served_to="黄伟", signed_acknowledgement=True)
    services.promise_record(
        case=urgent, actor=officer, promised_on=today, amount=Decimal("1000.00"), due_on=today + timedelta(days=1)
    )
    services.case_open(loan=make_npl(loan_no="RIV-3002"), actor=officer, as_of=today, reason="x")
    services.case_open(loan=make_npl(loan_no="RIV-3003"), actor=officer, as_of=today, reason="x")
    return urgent


@pytest.mark.parametrize("device", list(DEVICES))
@pytest.mark.parametrize("language", list(LOCALES))
def test_the_officers_day(browser, live_server, day, officer, today, language, device):
    t = TEXT[language]
    context = browser.new_context(locale=LOCALES[language], viewport=DEVICES[device])
    page = context.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(step: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"journey-officer-{language}-{device}-{step}.png"), full_page=True)

    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", officer.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click(".login-card button[type=submit]")  # the login page is not this area's
        page.wait_for_load_state()

        # The queue: the most urgent case first, and nothing scrolls sideways.
        page.goto(f"{live_server.url}/cases/")
        first = page.locator("table.queue tbody tr").first
        expect(first).to_contain_text("RIV-3001")
        shot("1-queue")
        # The work area fits the screen (the top bar's phone menu is the base layout's).
        assert page.evaluate("document.querySelector('main').scrollWidth") <= DEVICES[device]["width"]
        first.get_by_role("link", name="RIV-3001").click()
        page.wait_for_load_state()
        expect(page.locator("#case-measure")).to_have_text(t["measure"])
        shot("2-case")

        # A visit.
        page.locator("summary", has_text=t["contact"]).click()
        form = page.locator("#form-contact")
        form.get_by_label(t["summary"]).fill("Met the owner at the factory; orders are down.")
        form.locator("select").first.select_option(label=t["visit"])
        form.get_by_role("button", name=t["save"]).click()
        expect(page.locator(".messages")).to_contain_text(t["contact_done"])
        expect(page.locator("#timeline")).to_contain_text("Met the owner at the factory")

        # A promise to pay.
        page.locator("summary", has_text=t["promise"]).click()
        form = page.locator("#form-promise")
        form.get_by_label(t["amount"]).fill("2000")
        form.get_by_label(t["due"]).fill((today + timedelta(days=7)).isoformat())
        form.get_by_role("button", name=t["save"]).click()
        expect(page.locator(".messages")).to_contain_text(t["promise_done"])

        # A partial recovery: the amount still owed goes down.
        page.locator("summary", has_text=t["recovery"]).click()
        form = page.locator("#form-recovery")
        form.get_by_label(t["amount"]).fill("5000")
        form.get_by_role("button", name=t["save"]).click()
        expect(page.locator(".messages")).to_contain_text(t["recovery_done"])
        expect(page.locator("#kpi-owed")).to_have_text("¥50,000.00")
        shot("3-recorded")

        # Escalation: the request, then its confirmation says it never goes back.
        move = page.locator("li.move[data-target=legal]")
        move.locator("summary", has_text=t["legal"]).click()
        move.get_by_label(t["why"]).fill("The owner can pay and refuses.")
        move.get_by_role("button", name=t["continue"]).click()
        page.wait_for_load_state()
        expect(page.locator("#confirm")).to_contain_text(t["never_back"])
        shot("4-confirm")
        assert not CaseRequest.objects.exists()
        page.get_by_role("button", name=t["send"]).click()
        page.wait_for_load_state()
        expect(page.locator(".messages")).to_contain_text(t["requested"])
        shot("5-requested")
    finally:
        context.close()

    case = CollectionCase.objects.select_related("loan").get(pk=day.pk)
    assert case.loan.total_owed == Decimal("50000.00")
    assert case.promises.count() == 2 and case.contacts.count() == 1
    assert CaseRequest.objects.get().target == "legal"


@pytest.mark.parametrize("device", list(DEVICES))
def test_the_manager_approves_from_the_inbox_and_gets_the_next_request(
    browser, live_server, make_npl, officer, manager, today, device
):
    """In Chinese: the badge counts two requests; approving the first asks first, then the next one is on top."""
    for no in ("RIV-4001", "RIV-4002"):
        case = services.case_open(loan=make_npl(loan_no=no), actor=officer, as_of=today, reason="x")
        services.notice_serve(case=case, actor=officer, served_on=today, served_to="借款人")
        services.case_request_create(
            case=case, target="legal", actor=officer, as_of=today, reason="有能力还款但拒不还款"
        )
    context = browser.new_context(locale="zh-CN", viewport=DEVICES[device])
    page = context.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", manager.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click(".login-card button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/cases/approvals/")
        expect(page.locator("header .nav-badge")).to_have_text("2")
        first = page.locator("li.inbox-row").first
        expect(first).to_contain_text("下一条申请")
        expect(first).to_contain_text("RIV-4001")
        expect(first).to_contain_text("3 依法清收")
        expect(first).to_contain_text("¥")
        page.screenshot(path=str(SCREENSHOTS / f"journey-manager-zh-hans-{device}-1-inbox.png"), full_page=True)
        first.get_by_role("button", name="批准").click()
        expect(page.locator("#confirm")).to_contain_text("不能再回退")
        page.get_by_role("button", name="确认批准").click()
        page.wait_for_load_state()
        expect(page.locator(".messages")).to_contain_text("已批准：案件已转入3 依法清收。")
        first = page.locator("li.inbox-row").first
        expect(first).to_contain_text("RIV-4002")
        expect(first).to_contain_text("下一条申请")
        expect(page.locator("header .nav-badge")).to_have_text("1")
        page.screenshot(path=str(SCREENSHOTS / f"journey-manager-zh-hans-{device}-2-next.png"), full_page=True)
    finally:
        context.close()
    assert list(CaseRequest.objects.order_by("id").values_list("status", flat=True)) == ["approved", "requested"]
