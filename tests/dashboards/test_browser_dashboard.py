"""Issue 13, done-when: in headless Chromium a head-office manager opens the dashboard with its
charts drawn, in English and in zh-hans (no English left in the targets and league panels), drills
from head office to a branch, to an officer (the league's link), to a case, and exports the league to
XLSX (numbers are numbers). Screenshots go to var/screenshots/ (the CI artifacts)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accountability.models import MonthEndClose, MonthEndSnapshot
from collections_app.models import CollectionCase
from collections_app.services import case_open
from dashboards import kept
from dashboards.services import target_set
from ledger.services import ledger_post
from loans.models import Role
from tests.factories import LoanFactory, UserFactory
from tests.test_i18n_pages import english_runs, stored_data, visible_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS_DRAWN = (
    "() => { const c = [...document.querySelectorAll('[data-chart]')]; "
    "return c.length > 0 && c.every(el => el.querySelector('canvas')); }"
)


@pytest.fixture
def bank(head_office, branch, other_branch, head_manager):
    today = timezone.localdate()
    zhang = UserFactory(username="zhang", first_name="伟", last_name="张", role=Role.OFFICER, branch=branch)
    li = UserFactory(username="li", first_name="娜", last_name="李", role=Role.OFFICER, branch=other_branch)
    loans = []
    for no, b, who, outstanding in [("JD-1", branch, zhang, "86000"), ("JD-2", other_branch, li, "70000")]:
        loans.append(
            LoanFactory(
                loan_no=no,
                branch=b,
                responsible_officer=who,
                issuing_officer=who,
                overdue_since=date(2024, 1, 1),
                five_level_class="doubtful",
                four_level_class="overdue",
                outstanding_principal=Decimal(outstanding),
                interest_on_balance=Decimal(0),
                interest_off_balance=Decimal(0),
            )
        )
    case = case_open(loan=loans[0], actor=zhang, as_of=today - timedelta(days=300), reason="Stopped paying")
    case_open(loan=loans[1], actor=li, as_of=today, reason="Stopped paying")
    ledger_post(
        loan=loans[0],
        kind="cash_recovery",
        principal=Decimal("-6000"),
        interest_on=Decimal(0),
        interest_off=Decimal(0),
        value_date=today,
        actor=zhang,
        as_of=today,
    )
    year_end = date(today.year - 1, 12, 1)
    MonthEndClose.objects.create(month=year_end, as_of=date(today.year - 1, 12, 31))
    MonthEndSnapshot.objects.create(month=year_end, branch=branch, officer=zhang, npl_balance=Decimal("100000"))
    target_set(
        actor=head_manager,
        year=today.year,
        branch=branch,
        officer=zhang,
        npl_reduction=Decimal("40000"),
        cash_recovered=Decimal("12000"),
        reason="年度计划",
    )
    target_set(
        actor=head_manager,
        year=today.year,
        branch=head_office,
        officer=None,
        npl_reduction=Decimal("50000"),
        cash_recovered=Decimal("30000"),
        reason="年度计划",
    )
    kept.rebuild()
    return {"zhang": zhang, "li": li, "case": case}


def test_head_office_drills_to_a_case_and_exports_the_league(browser_session, bank, branch, tmp_path):
    s = browser_session.login("head_manager")
    page = s.page
    s.go("/dashboard/")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.locator("#panel-officers").is_visible() and page.locator("#panel-targets").is_visible()
    assert "Officer league" in page.locator("#panel-officers").inner_text()
    # The whole bank: 6,000 of the head office's 30,000 cash target = 20%.
    assert "20.0%" in page.locator("#panel-targets").inner_text()
    s.shot("dashboard-head-office-en")

    # zh-hans: the language switch in the header; the charts are drawn again in Chinese.
    page.click("form.langswitch button[value='zh-hans']")
    page.wait_for_load_state()
    page.wait_for_function(CHARTS_DRAWN)
    assert page.evaluate("document.documentElement.lang").lower().startswith("zh")
    data = stored_data()
    for panel in ("#panel-targets", "#panel-officers"):
        html = page.locator(panel).inner_html()
        assert english_runs(visible_text(html), data) == [], panel
    assert "客户经理排名" in page.locator("#panel-officers").inner_text()
    s.shot("dashboard-head-office-zh")
    page.click("form.langswitch button[value='en']")
    page.wait_for_load_state()

    # Head office -> the branch (the branches table's link where that panel is, else the filter).
    link = page.locator(f"#panel-branches a[href*='branch={branch.pk}']")
    if link.count():
        link.first.click()
    else:
        s.go(f"/dashboard/?branch={branch.pk}")
    page.wait_for_load_state()
    page.wait_for_function(CHARTS_DRAWN)
    assert branch.name in page.locator("#dash-scope").inner_text()
    league = page.locator("#table-officers tbody tr")
    assert league.count() == 1 and "张伟" in league.first.inner_text()  # Hillside's officer is not here
    s.shot("dashboard-branch")

    # The league's XLSX: the same rows, figures as numbers.
    with page.expect_download() as download:
        page.click("#table-officers a[data-export='officers']")
    path = tmp_path / "league.xlsx"
    download.value.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[0] == "Officer" and first["Officer"] == "张伟"
    assert first["Open cases"] == 1 and first["Cash recovered this year"] == 6000
    assert first["NPL balance"] == 80000 and first["Cash vs target"] == 50

    # -> the officer (the league's link): his targets and a link to his cases.
    league.first.locator("a").first.click()
    page.wait_for_load_state()
    assert f"officer={bank['zhang'].pk}" in page.url
    targets = page.locator("#panel-targets").inner_text()
    assert "张伟" in targets and "50.0%" in targets  # 20,000 of 40,000 NPL reduction; 6,000 of 12,000 cash
    s.shot("dashboard-officer")

    # -> his cases -> the case.
    page.click("#panel-targets a[data-officer-cases]")
    page.wait_for_load_state()
    assert "/cases/" in page.url and f"officer={bank['zhang'].pk}" in page.url
    page.click("text=JD-1")
    page.wait_for_load_state()
    case: CollectionCase = bank["case"]
    assert page.url.endswith(f"/cases/{case.pk}/")
    s.shot("dashboard-case")


def test_an_officer_sees_his_own_targets_but_no_league(browser_session, bank):
    s = browser_session.login("zhang")
    page = s.page
    s.go("/dashboard/")
    page.wait_for_load_state()
    assert page.locator("#panel-officers").count() == 0
    targets = page.locator("#panel-targets").inner_text()
    assert "张伟" in targets and "50.0%" in targets
    s.shot("dashboard-officer-own")


def test_a_manager_sets_a_target_on_the_targets_page(browser_session, bank, branch):
    s = browser_session.login("head_manager")
    page = s.page
    s.go("/dashboard/")
    page.click("#panel-targets a:has-text('Set targets')")
    page.wait_for_load_state()
    assert "/dashboard/targets/" in page.url
    page.select_option("#id_branch", str(branch.pk))
    page.select_option("#id_officer", str(bank["li"].pk))  # works in another branch: refused, field named
    page.fill("#id_npl_reduction", "5000")
    page.fill("#id_cash_recovered", "8000")
    page.fill("#id_reason", "Agreed at the review")
    page.click("#target-form button[type=submit]")
    page.wait_for_load_state()
    assert "not an officer of the branch" in page.locator("#target-form").inner_text()
    s.shot("targets-refused")
    page.select_option("#id_officer", "")
    page.click("#target-form button[type=submit]")
    page.wait_for_load_state()
    row = page.locator("#targets-table tr", has_text="Agreed at the review")
    assert row.count() == 1 and "¥8,000.00" in row.inner_text()
    s.shot("targets-set")


TILES_OVERFLOWING = (
    "() => [...document.querySelectorAll('#headline-tiles .kpi .value')]"
    ".filter(v => v.scrollWidth > v.clientWidth + 1 || v.getBoundingClientRect().right"
    " > v.closest('.kpi').getBoundingClientRect().right).map(v => v.textContent.trim())"
)


@pytest.mark.parametrize("width", [1400, 1024])
def test_headline_tiles_hold_a_banks_amounts(browser_session, head_office, branch, head_manager, width):
    """At a bank's scale the tiles' figures run to eighteen characters (¥90,973,814,720.00 at the
    million-loan book): every figure stays inside its tile, whole."""
    officer = UserFactory(username="wang", role=Role.OFFICER, branch=branch)
    for no, amount in [("BIG-1", "90973814720.00"), ("BIG-2", "407457014720.00")]:
        LoanFactory(
            loan_no=no,
            branch=branch,
            responsible_officer=officer,
            overdue_since=date(2024, 1, 1),
            five_level_class="loss",
            four_level_class="overdue",
            principal=Decimal(amount),
            outstanding_principal=Decimal(amount),
            interest_on_balance=Decimal("335448000.00"),
            interest_off_balance=Decimal("223632000.00"),
        )
    kept.rebuild()
    s = browser_session.login("head_manager")
    s.page.set_viewport_size({"width": width, "height": 900})
    s.go("/dashboard/")
    values = s.page.locator("#headline-tiles .kpi .value").all_inner_texts()
    assert "¥498,430,829,440.00" in values  # the NPL balance, whole
    assert s.page.evaluate(TILES_OVERFLOWING) == []
    s.shot(f"dashboard-headline-big-amounts-{width}")


def test_the_dashboard_fits_a_phone(browser_session, bank):
    """At 390 px the dashboard's chart-and-table pairs (each at least 420 px) made the page scroll
    sideways; they now stack within the screen, each table scrolling in its own frame."""
    s = browser_session.login("head_manager")
    s.page.set_viewport_size({"width": 390, "height": 900})
    s.go("/dashboard/")
    s.page.wait_for_function(CHARTS_DRAWN)
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 390
    s.shot("dashboard-phone")
