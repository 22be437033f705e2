"""Browser journeys of the loans area (issue 10), each in Chinese (zh-CN) and in English, by
visible text: the administrator's import with one bad row, fixed and imported; an officer of
another branch refused. Screenshots go to var/screenshots/ (the CI artifacts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from loans.models import ImportBatch, Loan
from tests.conftest import SCREENSHOTS, TEST_PASSWORD
from tests.factories import LoanFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCALES = {"zh": "zh-CN", "en": "en-GB"}
WORDS = {
    "zh": {
        "upload": "上传并校验",
        "rejected": "已拒绝：文件有错误",
        "imported": "已导入",
        "bad_cell": "第 3 行，“贷款本金”列：“12万”不是金额",
        "not_found": "未找到",
        "menu": "菜单",
        "loans": "贷款",
    },
    "en": {
        "upload": "Upload and check",
        "rejected": "Rejected: errors in the file",
        "imported": "Imported",
        "bad_cell": "row 3, column 贷款本金: “12万” is not an amount",
        "not_found": "Not found",
        "menu": "Menu",
        "loans": "Loans",
    },
}


@pytest.fixture
def eager_celery():
    from npl_recovery.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def _session(browser, live_server, *, lang: str, width: int, height: int = 900):
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": width, "height": height})
    page = context.new_page()

    def login(username: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click(".login-card button[type=submit]")
        page.wait_for_load_state()

    def shot(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return context, page, login, shot


def _book_csv(path: Path, principal: str) -> Path:
    """A loan book written with the Chinese column names only: the second loan's principal varies."""
    from loans.importing.columns import LOAN_COLUMNS

    header = [c.chinese for c in LOAN_COLUMNS]
    base = {
        "loan_no": "JR-0001",
        "borrower_name": "张伟",
        "borrower_id_no": "110101199001011234",
        "borrower_kind": "自然人",
        "branch_code": "B01",
        "officer_username": "officer",
        "product": "流动资金贷款",
        "principal": "100,000.00",
        "outstanding_principal": "80000",
        "interest_on_balance": "0",
        "interest_off_balance": "0",
        "disbursed_on": "2024-01-15",
        "maturity_on": "2027-01-15",
        "overdue_since": "",
        "business_ceased": "否",
        "government_directed": "否",
    }
    second = {**base, "loan_no": "JR-0002", "borrower_id_no": "220101198505052345", "principal": principal}
    lines = [",".join(header)]
    for row in (base, second):
        lines.append(",".join(f'"{row[c.field]}"' for c in LOAN_COLUMNS))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_admin_imports_a_book_with_one_bad_row_fixes_it_and_imports(
    lang, browser, live_server, branch, outlet, officer, admin_user, eager_celery, tmp_path
):
    words = WORDS[lang]
    context, page, login, shot = _session(browser, live_server, lang=lang, width=1366)
    try:
        login("admin")
        page.goto(f"{live_server.url}/loans/import/")
        page.set_input_files("#id_loans_file", str(_book_csv(tmp_path / "book.csv", "12万")))
        page.uncheck("#id_dry_run")
        page.click(f"text={words['upload']}")
        page.wait_for_url("**/loans/import/*/")
        page.wait_for_selector("#import-errors")
        assert words["rejected"] in page.inner_text("body")
        assert words["bad_cell"] in page.inner_text("#import-errors")
        assert page.locator("#import-progress.import-bad").count() == 1  # red, not a full blue bar
        shot(f"journey-import-rejected-{lang}")
        assert Loan.objects.count() == 0

        page.goto(f"{live_server.url}/loans/import/")
        page.set_input_files("#id_loans_file", str(_book_csv(tmp_path / "book-fixed.csv", "120,000.00")))
        page.uncheck("#id_dry_run")
        page.click(f"text={words['upload']}")
        page.wait_for_url("**/loans/import/*/")
        page.wait_for_selector("#count-created")
        assert page.inner_text("#count-created") == "2"
        assert words["imported"] in page.inner_text("body")
        shot(f"journey-import-fixed-{lang}")
    finally:
        context.close()
    assert set(Loan.objects.values_list("loan_no", flat=True)) == {"JR-0001", "JR-0002"}
    assert list(ImportBatch.objects.order_by("pk").values_list("status", flat=True)) == ["rejected", "imported"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_officer_of_another_branch_is_refused_on_a_phone(lang, browser, live_server, branch, other_branch, outsider):
    words = WORDS[lang]
    loan = LoanFactory(branch=branch, loan_no="RIV-0001", overdue_since=timezone.localdate())
    context, page, login, shot = _session(browser, live_server, lang=lang, width=390, height=844)
    try:
        login("outsider")
        # The phone's menu: hidden behind its button until asked for.
        page.goto(f"{live_server.url}/loans/")
        assert not page.locator("#mainnav").is_visible()
        page.click(f"text={words['menu']}")
        assert page.locator("#mainnav").is_visible()
        assert page.locator("#mainnav").get_by_text(words["loans"], exact=True).is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
        shot(f"journey-phone-menu-{lang}")
        response = page.goto(f"{live_server.url}/loans/{loan.pk}/")
        assert response.status == 404
        assert words["not_found"] in page.inner_text("h1")
        assert "RIV-0001" not in page.content()
        shot(f"journey-refused-{lang}")
    finally:
        context.close()
