"""Issue 13 items 1 and 4: the headline figures and the branches table, on a small book whose figures
are computed by hand below (the expected numbers are literals), per subtree and role, in the current
month and in a past month from its close; figures == dashboards.recompute; query count pinned; the
branches table exports to XLSX with numbers as numbers.

The book (HO > B01 Riverside > O11 Riverside Market; HO > B02 Hillside), balances in thousands:

    loan  branch officer         product          kind        five / four           Dec-25  May-26  now
    L1    B01    officer         Working capital  individual  substandard/overdue   100     100     80
    L2    B01    officer         Working capital  individual  normal -> substandard 200     200     199
                                                              normal -> overdue
    L3    O11    outlet_officer  Farm             enterprise  doubtful/idle          50      45     45
    L4    B02    outsider        Working capital  individual  loss/bad debt          30      30     30 (w/o 10 Jun)
    L5    B02    outsider        Working capital  enterprise  special mention/overdue 80     80     70
    L6    B01    officer         Farm             individual  normal/normal           -      60     60

Money in 2026: L3 court deduction 5,000 (10 Mar); L1 cash 20,000 (5 Jun); L5 in kind 10,000 (8 Jun);
L4 written off 40,000 (10 Jun), then a guarantor paid 4,000 (12 Jun); L2 cash 1,000 dated 1 Jun
recorded 14 Jun (backdated: awaiting approval, counts nowhere). L1 cash 1,000 on 20 Dec 2025 (last
year). Costs: L1's case 1,500 (3 Jun, bank) and 300 (third party), 500 of it repaid 5 Jun; L3's case
800 (10 Feb). Cases: L1 time-barred on 1 Jun; L3's limitation ends 1 Aug (within 90 days); L2 none;
L4 written off (ends 2027). Today: 15 June 2026.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from accountability.daily_checks.month_end_snapshot import check_month_end_snapshot
from collections_app.models import CaseCost, CollectionCase, CostRepayment
from dashboards import figures, headline_rules, kept, recompute
from dashboards.models import BookCell, BookRoll
from dashboards.query import dashboard_query
from ledger.services import ledger_post
from loans.models import Borrower, Loan
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)
D = Decimal


def _loan(no, branch, officer, five, four, outstanding, *, i_on="0", i_off="0", provision="0",
          product="Working capital", kind=Borrower.Kind.INDIVIDUAL, disbursed=date(2022, 1, 10)):  # fmt: skip
    return LoanFactory(
        loan_no=no,
        branch=branch,
        responsible_officer=officer,
        issuing_officer=officer,
        borrower=BorrowerFactory(kind=kind),
        product=product,
        principal=D(outstanding),
        five_level_class=five,
        four_level_class=four,
        outstanding_principal=D(outstanding),
        interest_on_balance=D(i_on),
        interest_off_balance=D(i_off),
        specific_provision=D(provision),
        disbursed_on=disbursed,
    )


def _post(loan, kind, on, *, principal="0", interest_off="0", recorded=None, amount=None):
    return ledger_post(
        loan=loan,
        kind=kind,
        principal=D(principal),
        interest_on=D(0),
        interest_off=D(interest_off),
        value_date=on,
        actor=None,
        as_of=recorded or on,
        amount=None if amount is None else D(amount),
    )


def _case(loan, limitation, measure="responsibility"):
    opened = date(2026, 1, 5)
    return CollectionCase.objects.create(
        loan=loan,
        branch=loan.branch,
        officer=loan.responsible_officer,
        measure=measure,
        is_open=True,
        recovery_deadline=date(2026, 12, 31),
        opened_on=opened,
        measure_since=opened,
        urgency_on=limitation or date(2026, 12, 31),
        limitation_expires_on=limitation,
    )


@pytest.fixture
def book(head_office, branch, outlet, other_branch, officer, outlet_officer, outsider):
    # December 2025.
    l1 = _loan("L1", branch, officer, "substandard", "overdue", "100000", i_on="1000", i_off="5000", provision="25000")
    l2 = _loan("L2", branch, officer, "normal", "normal", "200000")
    l3 = _loan("L3", outlet, outlet_officer, "doubtful", "idle", "50000", i_on="2000", i_off="3000",
               provision="25000", product="Farm", kind=Borrower.Kind.ENTERPRISE)  # fmt: skip
    l4 = _loan("L4", other_branch, outsider, "loss", "bad_debt", "30000", i_off="10000", provision="30000")
    l5 = _loan("L5", other_branch, outsider, "special_mention", "overdue", "80000", provision="1400",
               kind=Borrower.Kind.ENTERPRISE)  # fmt: skip
    _post(l1, "cash_recovery", date(2025, 12, 20), interest_off="-1000")
    check_month_end_snapshot(as_of=date(2025, 12, 31))
    # To the end of May 2026.
    Loan.objects.filter(pk=l2.pk).update(five_level_class="substandard", four_level_class="overdue",
                                         specific_provision=D("50000"))  # fmt: skip
    _loan("L6", branch, officer, "normal", "normal", "60000", product="Farm", disbursed=date(2026, 3, 1))
    _post(l3, "court_deduction", date(2026, 3, 10), principal="-5000")
    c1, c3 = _case(l1, date(2026, 6, 1)), _case(l3, date(2026, 8, 1))
    _case(l2, None)
    CaseCost.objects.create(case=c3, kind="litigation", amount=D("800"), incurred_on=date(2026, 2, 10))
    check_month_end_snapshot(as_of=date(2026, 5, 31))
    # June 2026.
    _post(l1, "cash_recovery", date(2026, 6, 5), principal="-20000")
    _post(l5, "repayment_in_kind", date(2026, 6, 8), principal="-10000")
    Loan.objects.filter(pk=l4.pk).update(written_off_on=date(2026, 6, 10))
    l4.refresh_from_db()
    _post(l4, "write_off", date(2026, 6, 10), amount="40000")
    _post(l4, "guarantor_payment", date(2026, 6, 12), interest_off="-4000")
    awaiting = _post(l2, "cash_recovery", date(2026, 6, 1), principal="-1000", recorded=date(2026, 6, 14))
    assert awaiting.approval == "awaiting"
    _case(l4, date(2027, 1, 1), measure="written_off")
    cost = CaseCost.objects.create(case=c1, kind="lawyer", amount=D("1500"), incurred_on=date(2026, 6, 3))
    CaseCost.objects.create(case=c1, kind="travel", amount=D("300"), incurred_on=date(2026, 6, 3),
                            borne_by=CaseCost.BorneBy.THIRD_PARTY)  # fmt: skip
    CostRepayment.objects.create(cost=cost, repaid_on=date(2026, 6, 5), amount=D("500"))
    kept.rebuild()


def _query(user, **params):
    request = RequestFactory().get("/dashboard/", {k: str(v) for k, v in params.items()})
    request.user = user
    return dashboard_query(request, today=TODAY)[0]


def _npl(h, scheme):
    t = h.tiles[scheme]
    return (t.npl.loans, t.npl.balance, t.npl.ratio, t.month_change, t.year_change, t.recovery_rate)


# --- the current month, per role and subtree --------------------------------------------------------


def test_whole_bank_now_for_the_head_office_and_the_auditor(book, head_manager, auditor):
    for user in (head_manager, auditor):
        h = figures.headline(_query(user))
        b = h.book
        assert (b.loans, b.outstanding, b.interest_on, b.interest_off) == (6, D("484000"), D("3000"), D("13000"))
        assert (b.specific_provision, b.general_reserve, b.provisions) == (D("131400"), D("4840.00"), D("136240.00"))
        assert b.written_off_loans == 1 and not b.from_close
        # Five levels: L1 80 + L2 199 + L3 45 + L4 30; May close 375, December close 180.
        assert _npl(h, "five") == (4, D("354000"), D("73.14"), D("-21000"), D("174000"), D("16.11"))
        # Four levels: overdue L1 80 + L2 199 + L5 70, idle L3 45, bad debt L4 30; May 455, December 260.
        assert _npl(h, "four") == (5, D("424000"), D("87.60"), D("-31000"), D("164000"), D("11.15"))
        assert (h.tiles["five"].month_change_loans, h.tiles["five"].year_change_loans) == (0, 1)
        five = h.book.npl["five"]
        assert (five.interest_on, five.interest_off) == (D("3000"), D("13000"))
        assert [(c.code, c.loans, c.balance) for c in b.five] == [
            ("normal", 1, D("60000")),
            ("special_mention", 1, D("70000")),
            ("substandard", 2, D("279000")),
            ("doubtful", 1, D("45000")),
            ("loss", 1, D("30000")),
        ]
        r = h.recoveries
        assert (r.cash_month, r.cash_year, r.in_kind_month, r.in_kind_year) == (D(24000), D(29000), D(10000), D(10000))
        assert (r.costs_borne_month, r.costs_borne_year, r.costs_repaid_month, r.costs_repaid_year) == (
            D(1500), D(2300), D(500), D(500),
        )  # fmt: skip
        assert (r.net_month, r.net_year) == (D("23000"), D("27200"))
        assert {s.kind: (s.cash_month, s.cash_year, s.in_kind_month, s.in_kind_year) for s in r.by_source if any(
            (s.cash_year, s.in_kind_year))} == {
            "cash_recovery": (D(20000), D(20000), 0, 0),
            "guarantor_payment": (D(4000), D(4000), 0, 0),
            "court_deduction": (0, D(5000), 0, 0),
            "repayment_in_kind": (0, 0, D(10000), D(10000)),
        }  # fmt: skip
        w = h.write_offs
        assert (w.written_off, w.written_off_year, w.cash_after, w.cash_after_year, w.in_kind_after) == (
            D(40000), D(40000), D(4000), D(4000), 0,
        )  # fmt: skip
        lim = h.limitation
        assert (lim.barred_cases, lim.barred_principal, lim.warning_cases, lim.warning_principal) == (
            1, D(80000), 1, D(45000),
        )  # fmt: skip
        assert lim.window_ends == date(2026, 9, 13)


def test_a_branch_manager_sees_his_subtree(book, manager, branch):
    h = figures.headline(_query(manager))
    assert (h.book.loans, h.book.outstanding, h.book.provisions) == (4, D("384000"), D("103840.00"))
    assert _npl(h, "five") == (3, D("324000"), D("84.38"), D("-21000"), D("174000"), D("16.67"))
    assert _npl(h, "four") == (3, D("324000"), D("84.38"), D("-21000"), D("174000"), D("16.67"))
    r = h.recoveries
    assert (r.cash_month, r.cash_year, r.in_kind_year, r.net_month, r.net_year) == (
        D(20000), D(25000), 0, D(19000), D(23200),
    )  # fmt: skip
    assert h.write_offs.written_off == 0 and h.write_offs.cash_after == 0
    assert (h.limitation.barred_cases, h.limitation.warning_cases) == (1, 1)


def test_an_outlet(book, manager, outlet):
    h = figures.headline(_query(manager, branch=outlet.pk))
    assert (h.book.loans, h.book.outstanding) == (1, D("45000"))
    assert _npl(h, "five") == (1, D("45000"), D("100.00"), D("0"), D("-5000"), D("10.00"))
    r = h.recoveries
    assert (r.cash_month, r.cash_year, r.net_month, r.net_year) == (0, D(5000), 0, D(4200))
    lim = h.limitation
    assert (lim.barred_cases, lim.warning_cases, lim.warning_principal) == (0, 1, D(45000))


def test_an_officer_sees_only_his_own_figures(book, officer, branch, other_branch):
    # L1, L2 and L6 answer to him; asking for another branch is refused (the form drops it).
    for params in ({}, {"branch": other_branch.pk}):
        q = _query(officer, **params)
        assert q.officer_id == officer.pk
        h = figures.headline(q)
        assert (h.book.loans, h.book.outstanding) == (3, D("339000"))
        assert _npl(h, "five") == (2, D("279000"), D("82.30"), D("-21000"), D("179000"), D("20.00"))
        r = h.recoveries
        assert (r.cash_month, r.cash_year, r.net_month, r.net_year) == (D(20000), D(20000), D(19000), D(19000))
        assert (h.limitation.barred_cases, h.limitation.barred_principal, h.limitation.warning_cases) == (
            1, D(80000), 0,
        )  # fmt: skip


def test_product_and_borrower_kind_filters(book, head_manager):
    farm = _query(head_manager, product="Farm")
    h = figures.headline(farm)
    assert (h.book.loans, h.book.outstanding) == (2, D("105000"))
    assert h.book.npl["five"].balance == D("45000") and h.book.npl["five"].ratio == D("42.86")
    assert (h.recoveries.cash_year, h.recoveries.net_year) == (D(5000), D(4200))
    assert (h.limitation.barred_cases, h.limitation.warning_cases) == (0, 1)
    if figures.snapshot_serves(farm):  # the close has the product grain (helper i13-history)
        assert (h.tiles["five"].month_change, h.tiles["five"].year_change) == (D("0"), D("-5000"))
    else:  # it cannot be split by product: no change rather than a wrong one
        assert h.closes.since_month is None and h.tiles["five"].month_change is None
    enterprise = _query(head_manager, borrower_kind="enterprise")
    h = figures.headline(enterprise)
    assert (h.book.loans, h.book.outstanding) == (2, D("115000"))
    assert (h.book.npl["five"].balance, h.book.npl["five"].ratio) == (D("45000"), D("39.13"))
    assert (h.book.npl["four"].balance, h.book.npl["four"].ratio) == (D("115000"), D("100.00"))
    assert (h.recoveries.cash_year, h.recoveries.in_kind_year, h.recoveries.net_year) == (D(5000), D(10000), D(4200))


# --- a past month, from its close ----------------------------------------------------------------


def test_a_past_month_reads_its_close(book, head_manager):
    q = _query(head_manager, month="2026-05")
    assert not q.is_current_month and q.as_of == date(2026, 5, 31)
    h = figures.headline(q)
    b = h.book
    assert b.from_close and (b.loans, b.outstanding, b.interest_on, b.interest_off) == (
        6, D("515000"), D("3000"), D("17000"),
    )  # fmt: skip
    assert (b.specific_provision, b.general_reserve) == (D("131400"), D("5150.00"))
    assert b.npl["five"].interest_on is None  # the close keeps no interest per class
    # No April close: no change since the month's start; the December close for the year.
    assert h.closes.since_month is None
    assert _npl(h, "five") == (4, D("375000"), D("72.82"), None, D("195000"), D("2.78"))
    assert _npl(h, "four") == (5, D("455000"), D("88.35"), None, D("195000"), D("1.92"))
    r = h.recoveries
    assert (r.cash_month, r.cash_year, r.costs_borne_year, r.net_month, r.net_year) == (0, D(5000), D(800), 0, D(4200))
    assert h.write_offs.written_off == 0
    assert h.limitation is None


def test_a_past_month_without_a_close_shows_no_book(book, head_manager):
    h = figures.headline(_query(head_manager, month="2026-04"))
    assert h.book is None and h.tiles == {}
    assert h.recoveries.cash_year == D(5000)


def test_a_past_month_for_a_branch_manager(book, manager):
    h = figures.headline(_query(manager, month="2026-05"))
    assert (h.book.loans, h.book.outstanding) == (4, D("405000"))
    assert _npl(h, "five") == (3, D("345000"), D("85.19"), None, D("195000"), D("3.33"))


# --- the branches table --------------------------------------------------------------------------


def _rows(data):
    return [
        (f.name, f.subtree, f.loans, f.outstanding, f.npl_balance, f.npl_ratio, f.provisions, f.cash_year,
         f.net_year, f.open_cases)
        for f in (*data.rows, data.total)
    ]  # fmt: skip


def test_branches_side_by_side_for_the_head_office(book, head_manager):
    assert _rows(figures.branches(_query(head_manager))) == [
        ("Riverside", True, 4, D(384000), D(324000), D("84.38"), D("103840.00"), D(25000), D(23200), 3),
        ("Hillside", True, 2, D(100000), D(30000), D("30.00"), D("32400.00"), D(4000), D(4000), 1),
        ("Head Office", True, 6, D(484000), D(354000), D("73.14"), D("136240.00"), D(29000), D(27200), 4),
    ]
    four = figures.branches(_query(head_manager, scheme="four"))
    assert [f.npl_balance for f in (*four.rows, four.total)] == [D(324000), D(100000), D(424000)]


def test_branches_for_a_branch_manager_and_a_past_month(book, manager, head_manager):
    assert _rows(figures.branches(_query(manager))) == [
        ("Riverside Market", True, 1, D(45000), D(45000), D("100.00"), D("25450.00"), D(5000), D(4200), 1),
        ("Riverside", False, 3, D(339000), D(279000), D("82.30"), D("78390.00"), D(20000), D(19000), 2),
        ("Riverside", True, 4, D(384000), D(324000), D("84.38"), D("103840.00"), D(25000), D(23200), 3),
    ]
    assert _rows(figures.branches(_query(head_manager, month="2026-05"))) == [
        ("Riverside", True, 4, D(405000), D(345000), D("85.19"), D("104050.00"), D(5000), D(4200), 3),
        ("Hillside", True, 2, D(110000), D(30000), D("27.27"), D("32500.00"), 0, 0, 0),
        ("Head Office", True, 6, D(515000), D(375000), D("72.82"), D("136550.00"), D(5000), D(4200), 3),
    ]


# --- figures == the slow recomputation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "params"),
    [
        ("head_manager", {}),
        ("head_manager", {"scheme": "four"}),
        ("head_manager", {"month": "2026-05"}),
        ("head_manager", {"month": "2026-04"}),
        ("head_manager", {"month": "2026-01"}),
        ("head_manager", {"product": "Farm"}),
        ("head_manager", {"borrower_kind": "enterprise", "scheme": "four"}),
        ("auditor", {"month": "2026-05", "scheme": "four"}),
        ("manager", {}),
        ("manager", {"month": "2026-05"}),
        ("manager", {"branch": "outlet"}),
        ("officer", {}),
        ("officer", {"month": "2026-05"}),
        ("outsider", {}),
        ("head_manager", {"officer": "officer"}),
    ],
)
def test_figures_equal_the_recomputation(request, book, who, params):
    params = dict(params)
    if params.get("branch") == "outlet":
        params["branch"] = request.getfixturevalue("outlet").pk
    if params.get("officer") == "officer":
        params["officer"] = request.getfixturevalue("officer").pk
    q = _query(request.getfixturevalue(who), **params)
    for name, figure in figures.FIGURES.items():
        assert figure(q) == recompute.FIGURES[name](q), name
    assert figures.headline(q) == recompute.headline(q)


def test_the_recomputation_sees_a_change_the_cells_miss(book, head_manager):
    """The comparison can fail: a kept cell changed behind the loans' back differs until rebuilt (the
    triggers keep the cells current for every write to the loans themselves)."""
    q = _query(head_manager)
    officer_q = q.with_(drill_officer_id=BookCell.objects.filter(loans__gt=0).first().officer_id)
    assert q.rolls_up and not officer_q.rolls_up
    # A cell (what an officer's view reads) and a branch roll-up (the whole bank's) changed by hand.
    cell = BookCell.objects.filter(loans__gt=0, officer_id=officer_q.drill_officer_id).first()
    BookCell.objects.filter(pk=cell.pk).update(outstanding_principal=cell.outstanding_principal + D("1000"))
    roll = BookRoll.objects.filter(loans__gt=0).first()
    BookRoll.objects.filter(pk=roll.pk).update(outstanding_principal=roll.outstanding_principal + D("1000"))
    assert figures.book(q) != recompute.book(q)
    assert figures.book(officer_q) != recompute.book(officer_q)
    kept.rebuild()
    assert figures.book(q) == recompute.book(q)
    assert figures.book(officer_q) == recompute.book(officer_q)


def test_the_rules(book):
    assert headline_rules.percent(D(1), D(3)) == D("33.33") and headline_rules.percent(D(1), 0) is None
    assert headline_rules.recovery_rate(D(29000), None) is None
    assert headline_rules.previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert headline_rules.limitation_window(date(2026, 6, 15), (90, 30)) == (date(2026, 6, 15), date(2026, 9, 13))


# --- the page -------------------------------------------------------------------------------------


def test_the_page_for_the_head_office(book, client, head_manager, branch):
    client.force_login(head_manager)
    with freeze_time("2026-06-15 09:00:00"):
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    panel = response.context["panel_figures"]["headline"]
    assert panel["tile"]["npl"].balance == D("354000") and panel["other"]["scheme"] == "four"
    assert panel["guarantees_lost"] == {"released": 0, "amount_lost": D("0.00")}
    html = response.content.decode()
    tiles = html[html.index('id="headline-tiles"') :]
    assert "¥354,000.00" in tiles and "73.14%" in tiles and "¥424,000.00" in tiles
    assert (
        '<span class="delta-down">-¥21,000.00</span>' in tiles and '<span class="delta-up">+¥174,000.00</span>' in tiles
    )
    assert 'data-source="court_deduction"' in html and "From the month-end close" not in html
    table = response.context["panel_figures"]["branches"]["table"]
    assert [r.values["branch"] for r in table.rows] == ["Riverside", "Hillside"]
    assert table.rows[0].url == f"?branch={branch.pk}&month=2026-06&scheme=five"
    assert f'href="?branch={branch.pk}&amp;month=2026-06&amp;scheme=five"' in html


def test_the_page_for_a_past_month_says_so(book, client, manager):
    client.force_login(manager)
    with freeze_time("2026-06-15 09:00:00"):
        html = client.get(reverse("dashboard"), {"month": "2026-05"}).content.decode()
        assert "From the month-end close of 2026-05." in html and "no close yet" in html
        html = client.get(reverse("dashboard"), {"month": "2026-04"}).content.decode()
        assert 'id="headline-no-close"' in html and 'id="kpi-npl"' not in html
        assert 'id="guarantees-lost"' in html and 'id="recoveries-by-source"' in html


def test_a_branch_outside_the_scope_is_refused(book, client, manager, other_branch):
    client.force_login(manager)
    with freeze_time("2026-06-15 09:00:00"):
        response = client.get(reverse("dashboard"), {"branch": other_branch.pk})
    assert response.status_code == 200
    assert "branch" in response.context["form"].errors
    panel = response.context["panel_figures"]["headline"]
    assert panel["book"].loans == 4  # his own subtree, not Hillside's 2 loans
    assert "Hillside" not in [r.values["branch"] for r in response.context["panel_figures"]["branches"]["table"].rows]


def test_the_officer_has_no_branches_table(book, client, officer):
    client.force_login(officer)
    with freeze_time("2026-06-15 09:00:00"):
        response = client.get(reverse("dashboard"))
    assert "branches" not in response.context["panel_figures"]
    assert response.context["panel_figures"]["headline"]["book"].loans == 3


@pytest.mark.parametrize("who", ["head_manager", "manager"])
def test_the_page_query_count_is_pinned(request, book, client, who, django_assert_max_num_queries):
    client.force_login(request.getfixturevalue(who))
    with freeze_time("2026-06-15 09:00:00"):
        client.get(reverse("dashboard"))  # warm (session, content types)
        # Every panel of the page (headline 8, targets 10, league 10, branches 6, legal deadlines 6,
        # the others 1 each) plus the session, the user and the filter form: 52 at most.
        with django_assert_max_num_queries(52):
            assert client.get(reverse("dashboard")).status_code == 200
        with django_assert_max_num_queries(52):
            assert client.get(reverse("dashboard"), {"month": "2026-05"}).status_code == 200


def test_the_panels_own_queries_are_few(book, head_manager):
    q = _query(head_manager)
    with CaptureQueriesContext(connection) as ctx:
        figures.headline(q)
    assert len(ctx.captured_queries) <= 8  # 7, and the closes' state (dashboards.closed) once per request
    assert not any('"loans_loan"' in s["sql"].split("FROM", 1)[1][:40] for s in ctx.captured_queries)
    with CaptureQueriesContext(connection) as ctx:
        figures.branches(q)
    assert len(ctx.captured_queries) <= 6  # the head office, its subtree, book, cases, ledger, costs
    assert not any("loans_loan" in s["sql"] for s in ctx.captured_queries)


def test_the_branches_table_exports_with_numbers(book, client, head_manager):
    import openpyxl

    client.force_login(head_manager)
    with freeze_time("2026-06-15 09:00:00"):
        response = client.get(reverse("dashboards:export", args=["branches"]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["Branch", "Loans", "Outstanding principal"]
    assert rows[1] == ["Riverside", 4, 384000, 324000, 84.38, 103840, 25000, 23200, 3]
    assert rows[3] == ["Total", 6, 484000, 354000, 73.14, 136240, 29000, 27200, 4]
    assert all(isinstance(v, int | float) for v in rows[1][1:])
