"""Issue 13, the month-end history: the snapshot per product and borrower kind, each loan's classes
at the close, the migration matrix with its roll and cure rates, the trend and the recoveries by
month and source, on a small book closed by hand over three month ends, per subtree and role.

The book (outstanding principal at each month end; classes five / four levels):

    loan  where, officer        product / kind     Dec 2025             Jan 2026             Feb 2026
    L1    Riverside, officer    Farm / individual  100,000 normal       100,000 SM / overdue 90,000 sub / overdue
    L2    Riverside, officer    WC / enterprise    50,000 sub / overdue 50,000 doubt / idle  40,000 normal
    L3    Riverside Market,     Farm / individual  30,000 doubt / idle  30,000 doubt / idle  gone (repaid in kind)
          outlet_officer
    L4    Hillside, outsider    Farm / individual  20,000 loss / bad    20,000 loss / bad    20,000 loss / bad
    L5    Riverside, officer    Farm / individual  (disbursed 15 Jan)   60,000 normal        60,000 normal
    L6    Hillside, outsider    WC / enterprise    (disbursed 10 Feb)                        10,000 SM / overdue

(SM: special mention; sub: substandard; doubt: doubtful; bad: bad debt; WC: working capital.)

Recoveries: Dec 200 cash (L1, interest); Jan 300 court deduction (L4, interest); Feb 10,000 cash (L1),
10,000 guarantor (L2), 31,500 in kind (L3: 30,000 principal and 1,500 interest).
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accountability.daily_checks import check_month_end_snapshot
from accountability.models import MonthEndClose, MonthEndSnapshot
from dashboards import kept
from dashboards.history import close_month
from dashboards.migration_rules import Move, direction, migration_rates
from dashboards.models import MigrationCell, MonthEndLoan
from dashboards.panels import migration, recoveries, trend
from dashboards.query import DashboardQuery
from ledger.services import ledger_post
from loans.models import Borrower, Branch, Loan
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = pytest.mark.django_db

DEC, JAN, FEB, MAR = date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
FARM, WC = "Farm loan", "Working capital"
D = Decimal


def _classes(loan: Loan, five: str, four: str) -> None:
    Loan.objects.filter(pk=loan.pk).update(five_level_class=five, four_level_class=four)


def _post(loan: Loan, kind: str, on: date, principal="0", interest_on="0", interest_off="0") -> None:
    ledger_post(
        loan=loan,
        kind=kind,
        principal=D(principal),
        interest_on=D(interest_on),
        interest_off=D(interest_off),
        value_date=on,
        actor=None,
        as_of=on,
        source="test",
    )


@pytest.fixture
def book(branch, outlet, other_branch, officer, outlet_officer, outsider):
    enterprise = Borrower.Kind.ENTERPRISE

    def loan(where, who, product, outstanding, disbursed=date(2022, 1, 10), kind=Borrower.Kind.INDIVIDUAL):
        return LoanFactory(
            branch=where,
            responsible_officer=who,
            product=product,
            borrower=BorrowerFactory(kind=kind),
            outstanding_principal=D(outstanding),
            disbursed_on=disbursed,
        )

    l1 = loan(branch, officer, FARM, "100000")
    l2 = loan(branch, officer, WC, "50000", kind=enterprise)
    l3 = loan(outlet, outlet_officer, FARM, "30000")
    l4 = loan(other_branch, outsider, FARM, "20000")
    l5 = loan(branch, officer, FARM, "60000", disbursed=date(2026, 1, 15))
    l6 = loan(other_branch, outsider, WC, "10000", disbursed=date(2026, 2, 10), kind=enterprise)
    # December.
    _post(l1, "cash_recovery", date(2025, 12, 10), interest_on="-200")
    _classes(l2, "substandard", "overdue")
    _classes(l3, "doubtful", "idle")
    _classes(l4, "loss", "bad_debt")
    assert check_month_end_snapshot(as_of=date(2025, 12, 31)) == {"rows": 4}
    # January.
    _post(l4, "court_deduction", date(2026, 1, 20), interest_on="-300")
    _classes(l1, "special_mention", "overdue")
    _classes(l2, "doubtful", "idle")
    assert check_month_end_snapshot(as_of=date(2026, 1, 31)) == {"rows": 4}
    # February.
    _post(l1, "cash_recovery", date(2026, 2, 5), principal="-10000")
    _post(l2, "guarantor_payment", date(2026, 2, 12), principal="-10000")
    _post(l3, "repayment_in_kind", date(2026, 2, 20), principal="-30000", interest_on="-1000", interest_off="-500")
    _classes(l1, "substandard", "overdue")
    _classes(l2, "normal", "normal")
    _classes(l6, "special_mention", "overdue")
    assert check_month_end_snapshot(as_of=date(2026, 2, 28)) == {"rows": 5}
    kept.rebuild()
    return {"L1": l1, "L2": l2, "L3": l3, "L4": l4, "L5": l5, "L6": l6}


def q(month: date = FEB, today: date = date(2026, 3, 15), **kw) -> DashboardQuery:
    return DashboardQuery(branch=kw.pop("branch", None), month=month, today=today, **kw)


def per_officer(user) -> dict:
    return {"officer_id": user.pk, "branch": user.branch}


# --- the snapshot's grain ---------------------------------------------------------------------------------


def test_the_snapshot_has_a_row_per_product_and_borrower_kind(book, officer, outlet_officer, outsider):
    rows = {(r.officer_id, r.product, r.borrower_kind): r for r in MonthEndSnapshot.objects.filter(month=FEB)}
    assert set(rows) == {
        (officer.pk, FARM, "individual"),
        (officer.pk, WC, "enterprise"),
        (outlet_officer.pk, FARM, "individual"),
        (outsider.pk, FARM, "individual"),
        (outsider.pk, WC, "enterprise"),
    }
    farm = rows[(officer.pk, FARM, "individual")]  # L1 and L5
    assert (farm.loans, farm.outstanding_principal, farm.npl_balance, farm.substandard_count) == (
        2,
        D("150000.00"),
        D("90000.00"),
        1,
    )
    assert (farm.overdue_balance, farm.normal_balance, farm.cash_recovered) == (
        D("90000.00"),
        D("60000.00"),
        D("10000.00"),
    )
    wc = rows[(officer.pk, WC, "enterprise")]  # L2, cured
    assert (wc.loans, wc.normal_balance, wc.npl_balance, wc.cash_recovered) == (1, D("40000.00"), 0, D("10000.00"))
    outlet = rows[(outlet_officer.pk, FARM, "individual")]  # L3, repaid in kind
    assert (outlet.outstanding_principal, outlet.in_kind_value, outlet.cash_recovered) == (0, D("31500.00"), 0)
    # A loan disbursed after a month's end is not in that month: L5 (15 Jan) is not in December.
    assert MonthEndSnapshot.objects.filter(month=DEC).count() == 4
    assert sum(r.loans for r in MonthEndSnapshot.objects.filter(month=DEC)) == 4


def test_the_close_keeps_each_loans_classes_and_leaves_out_loans_off_the_book(book):
    def at(month):
        return {
            r.loan_id: (r.five_level_class, r.four_level_class, r.outstanding_principal)
            for r in MonthEndLoan.objects.filter(month=month)
        }

    b = book
    assert at(DEC) == {
        b["L1"].pk: ("normal", "normal", D("100000.00")),
        b["L2"].pk: ("substandard", "overdue", D("50000.00")),
        b["L3"].pk: ("doubtful", "idle", D("30000.00")),
        b["L4"].pk: ("loss", "bad_debt", D("20000.00")),
    }
    feb = at(FEB)
    assert b["L3"].pk not in feb  # repaid: off the book
    assert feb[b["L6"].pk] == ("special_mention", "overdue", D("10000.00"))
    assert len(feb) == 5


def test_the_close_is_idempotent_and_purges_months_past_the_kept_window(book):
    counts = (MonthEndSnapshot.objects.count(), MonthEndLoan.objects.count(), MigrationCell.objects.count())
    assert check_month_end_snapshot(as_of=date(2026, 2, 28)) == {"skipped": "already taken"}
    # Run again by hand, the history of a month is rewritten, not doubled.
    close_month(month=FEB, as_of=date(2026, 2, 28))
    assert (MonthEndSnapshot.objects.count(), MonthEndLoan.objects.count(), MigrationCell.objects.count()) == counts
    # 25 months kept: a close in February 2028 keeps February 2026 onwards.
    close_month(month=date(2028, 2, 1), as_of=date(2028, 2, 29))
    months = set(MonthEndLoan.objects.values_list("month", flat=True))
    assert months == {FEB, date(2028, 2, 1)}
    assert not MigrationCell.objects.filter(to_month__lt=FEB).exists()


# --- the migration matrix --------------------------------------------------------------------------------


def _cells(matrix) -> dict:
    return {k: (n, b_from, b_to) for k, (n, b_from, b_to) in matrix.cells.items()}


def _rates(matrix) -> dict:
    return {
        r.from_class: (
            r.loans,
            r.balance,
            r.roll_rate_count,
            r.roll_rate_balance,
            r.cure_rate_count,
            r.cure_rate_balance,
        )
        for r in matrix.rates
    }


def test_the_matrix_since_the_previous_month_end(book, head_manager):
    m = migration.migration_matrix(q())
    assert (m.from_month, m.to_month) == (JAN, FEB)
    assert _cells(m) == {
        ("special_mention", "substandard"): (1, D("100000.00"), D("90000.00")),
        ("doubtful", "normal"): (1, D("50000.00"), D("40000.00")),
        ("doubtful", "gone"): (1, D("30000.00"), D("0.00")),
        ("loss", "loss"): (1, D("20000.00"), D("20000.00")),
        ("normal", "normal"): (1, D("60000.00"), D("60000.00")),
        ("new", "special_mention"): (1, D("0.00"), D("10000.00")),
    }
    rates = _rates(m)
    assert rates["special_mention"] == (1, D("100000.00"), D("100.00"), D("100.00"), D("0.00"), D("0.00"))
    # Doubtful: 2 loans, 80,000; L2 (50,000) cured to normal, L3 (30,000) gone: neither.
    assert rates["doubtful"] == (2, D("80000.00"), D("0.00"), D("0.00"), D("50.00"), D("62.50"))
    assert rates["substandard"] == (0, D(0), None, None, None, None)
    assert rates["loss"][2:] == (D("0.00"), D("0.00"), D("0.00"), D("0.00"))


def test_the_matrix_since_the_previous_year_end_and_under_four_levels(book):
    m = migration.migration_matrix(q(since="year"))
    assert (m.from_month, m.to_month) == (DEC, FEB)
    assert _cells(m) == {
        ("normal", "substandard"): (1, D("100000.00"), D("90000.00")),
        ("substandard", "normal"): (1, D("50000.00"), D("40000.00")),
        ("doubtful", "gone"): (1, D("30000.00"), D("0.00")),
        ("loss", "loss"): (1, D("20000.00"), D("20000.00")),
        ("new", "normal"): (1, D("0.00"), D("60000.00")),
        ("new", "special_mention"): (1, D("0.00"), D("10000.00")),
    }
    assert _rates(m)["normal"][2:4] == (D("100.00"), D("100.00"))
    assert _rates(m)["substandard"][4:] == (D("100.00"), D("100.00"))
    four = migration.migration_matrix(q(scheme="four"))
    assert _cells(four) == {
        ("overdue", "overdue"): (1, D("100000.00"), D("90000.00")),
        ("idle", "normal"): (1, D("50000.00"), D("40000.00")),
        ("idle", "gone"): (1, D("30000.00"), D("0.00")),
        ("bad_debt", "bad_debt"): (1, D("20000.00"), D("20000.00")),
        ("normal", "normal"): (1, D("60000.00"), D("60000.00")),
        ("new", "overdue"): (1, D("0.00"), D("10000.00")),
    }
    assert _rates(four)["idle"] == (2, D("80000.00"), D("0.00"), D("0.00"), D("50.00"), D("62.50"))


def test_the_matrix_per_subtree_officer_and_product(book, branch, officer, outlet_officer):
    riverside = migration.migration_matrix(q(branch=branch))  # Riverside and its outlet
    assert set(_cells(riverside)) == {
        ("special_mention", "substandard"),
        ("doubtful", "normal"),
        ("doubtful", "gone"),
        ("normal", "normal"),
    }
    mine = migration.migration_matrix(q(**per_officer(officer)))
    assert set(_cells(mine)) == {("special_mention", "substandard"), ("doubtful", "normal"), ("normal", "normal")}
    assert _rates(mine)["doubtful"][4:] == (D("100.00"), D("100.00"))
    outlet = migration.migration_matrix(q(**per_officer(outlet_officer)))
    assert _cells(outlet) == {("doubtful", "gone"): (1, D("30000.00"), D("0.00"))}
    farm = migration.migration_matrix(q(product=FARM))
    assert set(_cells(farm)) == {
        ("special_mention", "substandard"),
        ("doubtful", "gone"),
        ("loss", "loss"),
        ("normal", "normal"),
    }
    enterprises = migration.migration_matrix(q(borrower_kind="enterprise"))
    assert set(_cells(enterprises)) == {("doubtful", "normal"), ("new", "special_mention")}


def test_no_matrix_without_an_earlier_close(book):
    # December is the first close: nothing to compare it with.
    m = migration.migration_matrix(q(month=DEC, today=date(2026, 1, 10)))
    assert not m.available and m.cells == {}
    ctx = migration.context(q(month=DEC, today=date(2026, 1, 10)), None)
    assert ctx["table"].rows == [] and "needs two" in ctx["table"].empty
    # The current month is not closed yet: the matrix is the last closed month's.
    current = migration.migration_matrix(q(month=MAR, today=date(2026, 3, 15)))
    assert (current.from_month, current.to_month) == (JAN, FEB)


def test_roll_and_cure_rates_rules():
    assert direction("five", "normal", "loss") == 1
    assert direction("five", "doubtful", "special_mention") == -1
    assert direction("four", "idle", "idle") == 0
    assert direction("five", "loss", "gone") == 0 and direction("five", "new", "loss") == 0
    rates = {
        r.from_class: r
        for r in migration_rates(
            "four",
            [
                Move("overdue", "idle", 3, D("300")),
                Move("overdue", "idle", 1, D("100")),  # the same pair twice (several cells) adds up
                Move("overdue", "normal", 1, D("50")),
                Move("overdue", "overdue", 2, D("50")),
                Move("overdue", "gone", 1, D("0")),
                Move("new", "overdue", 9, D("0")),
            ],
        )
    }
    r = rates["overdue"]
    assert (r.loans, r.balance, r.rolled_loans, r.cured_loans) == (8, D("500"), 4, 1)
    assert (r.roll_rate_count, r.roll_rate_balance, r.cure_rate_count, r.cure_rate_balance) == (
        D("50.00"),
        D("80.00"),
        D("12.50"),
        D("10.00"),
    )
    assert rates["normal"].roll_rate_count is None and set(rates) == {"normal", "overdue", "idle", "bad_debt"}


# --- the trend ----------------------------------------------------------------------------------------------


def _series(points) -> list:
    return [(p.month, p.loans, p.outstanding, p.npl_five, p.npl_four, p.closed) for p in points]


def test_the_trend_from_the_snapshots_and_the_current_month_from_the_book(book, branch, officer):
    past = [
        (DEC, 4, D("200000.00"), D("100000.00"), D("100000.00"), True),
        (JAN, 5, D("260000.00"), D("100000.00"), D("200000.00"), True),
        (FEB, 6, D("220000.00"), D("110000.00"), D("120000.00"), True),
    ]
    assert _series(trend.trend_points(q())) == past
    # In March (not closed yet) the last point is the book now, from the kept cells.
    assert _series(trend.trend_points(q(month=MAR))) == [
        *past,
        (MAR, 6, D("220000.00"), D("110000.00"), D("120000.00"), False),
    ]
    # Riverside's subtree (L1, L2, L3, L5): December 180,000, NPL 80,000 under both schemes.
    assert _series(trend.trend_points(q(branch=branch)))[0] == (
        DEC,
        3,
        D("180000.00"),
        D("80000.00"),
        D("80000.00"),
        True,
    )
    # The officer: L1, L2, L5. February: 190,000; NPL L1 90,000 under both schemes.
    assert _series(trend.trend_points(q(**per_officer(officer))))[-1] == (
        FEB,
        3,
        D("190000.00"),
        D("90000.00"),
        D("90000.00"),
        True,
    )
    # Past months filter by product too (the snapshot's grain): working capital, L2 and L6.
    assert [(p.month, p.npl_five, p.npl_four) for p in trend.trend_points(q(product=WC))] == [
        (DEC, D("50000.00"), D("50000.00")),
        (JAN, D("50000.00"), D("50000.00")),
        (FEB, D("0.00"), D("10000.00")),
    ]
    table = trend.trend_table(q(), None)
    assert table.rows[0].values["month"] == "2026-02" and table.rows[0].values["ratio_five"] == D("50.00")


# --- recoveries ---------------------------------------------------------------------------------------------


def test_recoveries_by_month_and_source_money_and_in_kind_apart(book, branch, officer, outsider):
    months = {m["month"]: m for m in recoveries.recoveries_by_month(q())}
    assert len(months) == 12 and min(months) == date(2025, 3, 1) and max(months) == FEB
    assert (months[DEC]["sources"]["cash_recovery"], months[DEC]["cash"], months[DEC]["in_kind"]) == (
        D("200.00"),
        D("200.00"),
        0,
    )
    assert months[JAN]["sources"]["court_deduction"] == D("300.00")
    feb = months[FEB]
    assert (feb["sources"]["cash_recovery"], feb["sources"]["guarantor_payment"]) == (D("10000.00"), D("10000.00"))
    assert (feb["sources"]["repayment_in_kind"], feb["cash"], feb["in_kind"]) == (
        D("31500.00"),
        D("20000.00"),
        D("31500.00"),
    )
    # Riverside's subtree: no court deduction (Hillside's); the officer: no value in kind (the outlet's).
    assert {m["month"]: m["cash"] for m in recoveries.recoveries_by_month(q(branch=branch))}[JAN] == 0
    mine = {m["month"]: m for m in recoveries.recoveries_by_month(q(**per_officer(officer)))}
    assert (mine[FEB]["cash"], mine[FEB]["in_kind"], mine[DEC]["cash"]) == (D("20000.00"), 0, D("200.00"))
    theirs = {m["month"]: m for m in recoveries.recoveries_by_month(q(**per_officer(outsider)))}
    assert (theirs[JAN]["cash"], theirs[FEB]["cash"]) == (D("300.00"), 0)


# --- the panels: queries, page, roles, exports ------------------------------------------------------------


def test_each_panel_reads_its_figures_in_pinned_queries(book):
    # The trend: the closes' state (dashboards.closed), the snapshots, the book now; the migration:
    # the closes' state and the cells with the closes (one UNION).
    for module, query, most in (
        (trend, q(), 3),
        (trend, q(month=MAR), 3),
        (recoveries, q(), 1),
        (migration, q(), 2),
        (migration, q(month=MAR), 2),
    ):
        with CaptureQueriesContext(connection) as ctx:
            module.context(query, None)
        assert len(ctx.captured_queries) <= most, (module.__name__, [c["sql"] for c in ctx.captured_queries])


def test_what_the_closes_wrote_is_read_once_until_the_next_close(book):
    from dashboards import closed

    closed.forget()
    with closed.one_view():
        first = (trend.context(q(), None)["points"], migration.context(q(), None)["matrix"].cells)
    with closed.one_view(), CaptureQueriesContext(connection) as ctx:
        again = (trend.context(q(), None)["points"], migration.context(q(), None)["matrix"].cells)
    assert again == first
    read = [c["sql"] for c in ctx.captured_queries]
    assert len(read) <= 2, read  # the closes' state (once per view) and the book now
    # (the state's own query names the tables unquoted)
    assert not any('"accountability_monthendsnapshot"' in s or '"dashboards_migrationcell"' in s for s in read), read
    # A new snapshot row (a close being written) is a new state: the snapshots are read again.
    MonthEndSnapshot.objects.create(month=FEB, branch=Branch.objects.order_by("pk").first(), loans=5)
    with CaptureQueriesContext(connection) as ctx:
        points = trend.context(q(), None)["points"]
    assert any('"accountability_monthendsnapshot"' in c["sql"] for c in ctx.captured_queries)
    assert {p.month: p.loans for p in points}[FEB] == {p.month: p.loans for p in first[0]}[FEB] + 5


def test_only_what_the_closes_wrote_may_be_kept(book):
    from dashboards.closed import closed_rows
    from dashboards.models import BookCell

    with pytest.raises(ValueError, match="what a close wrote"):
        closed_rows(BookCell.objects.values("branch_id"))


def _page(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("dashboard"), {"month": "2026-02", **params})
    assert response.status_code == 200
    return response


def test_the_page_shows_each_role_its_own_history(client, book, head_manager, manager, officer, outsider):
    figures = _page(client, head_manager).context["panel_figures"]
    assert {"trend", "recoveries", "migration"} <= set(figures)
    assert figures["trend"]["points"][-1].npl_five == D("110000.00")
    assert figures["migration"]["matrix"].rates[3].cure_rate_balance == D("62.50")  # doubtful
    body = _page(client, head_manager).content.decode()
    assert 'id="chart-trend"' in body and 'id="chart-migration"' in body and 'id="chart-recoveries"' in body

    riverside = _page(client, manager).context["panel_figures"]  # Riverside's manager: the subtree
    assert riverside["trend"]["points"][-1].npl_five == D("90000.00")  # L1; L4 is Hillside's
    assert riverside["recoveries"]["totals"] == {"cash": D("20200.00"), "in_kind": D("31500.00")}

    mine = _page(client, officer).context["panel_figures"]
    assert mine["recoveries"]["totals"] == {"cash": D("20200.00"), "in_kind": D("0.00")}
    assert set(mine["migration"]["matrix"].cells) == {
        ("special_mention", "substandard"),
        ("doubtful", "normal"),
        ("normal", "normal"),
    }
    theirs = _page(client, outsider, since="year").context["panel_figures"]
    assert theirs["migration"]["matrix"].from_month == DEC
    assert set(theirs["migration"]["matrix"].cells) == {("loss", "loss"), ("new", "special_mention")}


def test_the_since_filter_is_in_the_url_only_when_not_the_default():
    assert "since" not in q().params()
    assert q(since="year").params()["since"] == "year"
    assert "since=year" in q().querystring(since="year")


@pytest.mark.parametrize("name", ["trend", "recoveries", "migration", "migration_rates"])
def test_the_history_tables_export_with_numbers_as_numbers(client, book, head_manager, name):
    client.force_login(head_manager)
    response = client.get(reverse("dashboards:export", args=[name]), {"month": "2026-02"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    numbers = [v for row in rows[1:] for v in row if isinstance(v, int | float | Decimal)]
    assert len(rows) > 1 and numbers
    assert not any(
        isinstance(v, str) and v.replace(".", "").replace(",", "").isdigit() for row in rows[1:] for v in row
    )
    if name == "migration":
        body = {(r[0], r[1]): r[2:] for r in rows[1:]}
        assert body[("Doubtful", "Normal")] == (1, 50000, 40000)
    if name == "trend":
        assert rows[1][0] == "2026-02" and rows[1][4] == 110000


def test_the_closes_leave_the_months_taken(book):
    assert list(MonthEndClose.objects.order_by("month").values_list("month", flat=True)) == [DEC, JAN, FEB]
