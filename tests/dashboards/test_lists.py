"""Issue 13 item 4: the dashboard's four lists (time limits due, legal deadlines running out, broken
promises, loans-by-loans flags): each per subtree and role, most urgent first, the first 10 rows on
the page and how many more in the export, the export itself, the product and borrower-kind
filters, the queries pinned, and every list read through an index (EXPLAIN, PostgreSQL)."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accountability.models import LoansByLoansFlag
from collections_app.models import CollectionCase, GuarantorDemand, LegalProceeding, PromiseToPay
from dashboards.panels import deadlines, flags, legal_deadlines, promises
from dashboards.query import DashboardQuery
from legal.models import GuaranteeTerm, Hearing, PreservationOrder
from loans.models import Borrower
from tests.factories import BorrowerFactory, GuaranteeFactory, LoanFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
AGRI = "Agriculture"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def make_case(
    loan_no: str,
    branch,
    officer,
    *,
    deadline: int = 200,
    limitation: int | None = None,
    measure: str = "responsibility",
    is_open: bool = True,
    product: str = "Working capital",
    kind: str = Borrower.Kind.INDIVIDUAL,
    outstanding: str = "80000.00",
) -> CollectionCase:
    loan = LoanFactory(
        loan_no=loan_no,
        branch=branch,
        responsible_officer=officer,
        issuing_officer=officer,
        product=product,
        borrower=BorrowerFactory(name=f"Borrower of {loan_no}", kind=kind),
        outstanding_principal=Decimal(outstanding),
        five_level_class="doubtful",
        overdue_since=day(-400),
        maturity_on=day(-400),
        ledger=False,
    )
    return CollectionCase.objects.create(
        loan=loan,
        branch=branch,
        measure=measure,
        is_open=is_open,
        officer=officer,
        recovery_deadline=day(deadline),
        opened_on=day(-500),
        measure_since=day(-500),
        urgency_on=day(deadline),
        limitation_expires_on=day(limitation) if limitation is not None else None,
        limitation_starts_on=day(-600) if limitation is not None else None,
    )


def query_for(user, **filters) -> DashboardQuery:
    """The dashboard's filters within the user's scope, as the page builds them."""
    from django.test import RequestFactory

    from dashboards.query import dashboard_query

    request = RequestFactory().get("/dashboard/", filters)
    request.user = user
    return dashboard_query(request, today=TODAY)[0]


def loan_nos(table) -> list[str]:
    return [r.values["loan_no"] for r in table.rows]


# --- the bank: one world for all four lists --------------------------------------------------------


@pytest.fixture
def world(branch, outlet, other_branch, officer, officer2, outlet_officer, outsider):
    # Time limits: due within 30 days (in), and out of the list for a reason each.
    make_case("DL-OFF-3", branch, officer, deadline=3, outstanding="12000.50")
    make_case("DL-OFF-30", branch, officer, deadline=30)  # the window's last day: in
    make_case("DL-OFF-31", branch, officer, deadline=31)  # out: beyond 30 days
    make_case("DL-OFF-MISSED", branch, officer, deadline=-1)  # out: already missed
    make_case("DL-OFF-WO", branch, officer, deadline=5, measure="written_off")  # out: no time limit runs
    make_case("DL-OFF-DONE", branch, officer, deadline=5, measure="recovered", is_open=False)  # out: closed
    make_case("DL-OFF2-10", branch, officer2, deadline=10)
    make_case("DL-OUT-7", outlet, outlet_officer, deadline=7, product=AGRI, kind=Borrower.Kind.ENTERPRISE)
    make_case("DL-OTHER-2", other_branch, outsider, deadline=2)

    # Limitation: within 90 days (in), time-barred (in), later (out), closed (out).
    make_case("LIM-60", branch, officer, limitation=60)
    make_case("LIM-BARRED", branch, officer, limitation=-5)
    make_case("LIM-100", branch, officer, limitation=100)
    make_case("LIM-CLOSED", branch, officer, limitation=10, measure="recovered", is_open=False)
    make_case("LIM-OTHER", other_branch, outsider, limitation=10)
    make_case("LIM-OUTLET", outlet, outlet_officer, limitation=40, product=AGRI, kind=Borrower.Kind.ENTERPRISE)

    court = make_case("COURT", branch, officer2)
    proceeding = LegalProceeding.objects.create(
        case=court, court="Riverside Court", case_number="(2026) 88", filed_on=day(-300), enforcement_deadline=day(50)
    )
    applied = make_case("COURT-APPLIED", branch, officer2)
    LegalProceeding.objects.create(
        case=applied,
        court="Riverside Court",
        case_number="(2026) 89",
        filed_on=day(-300),
        enforcement_deadline=day(50),
        enforcement_applied_on=day(-10),
    )
    Hearing.objects.create(proceeding=proceeding, held_on=day(3), place="Room 2")  # in (7 days)
    Hearing.objects.create(proceeding=proceeding, held_on=day(20), place="Room 3")  # out
    order = {"proceeding": proceeding, "kind": "freeze", "asset_kind": "bank_account", "ruling_on": day(-300)}
    PreservationOrder.objects.create(description="Account 1", expires_on=day(25), **order)  # in (30 days)
    PreservationOrder.objects.create(description="Account 2", expires_on=day(40), **order)  # out
    PreservationOrder.objects.create(description="Account 3", expires_on=day(-2), **order)  # lapsed: in
    PreservationOrder.objects.create(description="Account 4", expires_on=day(5), released_on=day(-1), **order)

    guaranteed = make_case("GUAR", branch, officer)
    running = GuaranteeFactory(loan=guaranteed.loan, guarantor__name="Li Bao", amount=Decimal("30000.00"))
    GuaranteeTerm.objects.create(guarantee=running, period_ends_on=day(20))  # in (60 days)
    kept = GuaranteeFactory(loan=guaranteed.loan, guarantor__name="Kept Co")
    GuaranteeTerm.objects.create(guarantee=kept, period_ends_on=day(20))
    GuarantorDemand.objects.create(case=guaranteed, guarantee=kept, demanded_on=day(-3), amount=Decimal("100"))

    # Promises: broken within 90 days (in), earlier (out), open (out), on a closed case (out).
    def promise(case, status, status_on, amount="5000.00", paid="1000.00"):
        return PromiseToPay.objects.create(
            case=case,
            promised_on=day(-200),
            amount=Decimal(amount),
            due_on=day(-150) if status_on is None else status_on - timedelta(days=1),
            amount_paid=Decimal(paid),
            status=status,
            status_on=status_on,
        )

    pr_off = make_case("PR-OFF", branch, officer)
    promise(pr_off, "broken", day(-5))
    promise(pr_off, "broken", day(-90))  # the 90th day back: in
    promise(pr_off, "broken", day(-91))  # out
    promise(pr_off, "open", None)  # out
    pr_done = make_case("PR-DONE", branch, officer, measure="recovered", is_open=False)
    promise(pr_done, "broken", day(-3))  # out: closed case
    promise(make_case("PR-OFF2", branch, officer2), "broken", day(-1), amount="800.00", paid="0")
    promise(make_case("PR-OTHER", other_branch, outsider), "broken", day(-2))
    promise(make_case("PR-OUT", outlet, outlet_officer, product=AGRI, kind=Borrower.Kind.ENTERPRISE), "broken", day(-4))

    # Flags: to review and confirmed (in), cleared (out).
    def flag(new_no, branch_, lender, status, found, product="Working capital", kind=Borrower.Kind.INDIVIDUAL):
        new = LoanFactory(
            loan_no=new_no,
            branch=branch_,
            responsible_officer=lender,
            issuing_officer=lender,
            product=product,
            borrower=BorrowerFactory(kind=kind),
            disbursed_on=day(found),
            ledger=False,
        )
        LoansByLoansFlag.objects.create(
            kind="loans_by_loans",
            new_loan=new,
            overdue_loan=pr_off.loan,
            relation="same_borrower",
            branch=branch_,
            lending_officer=lender,
            disbursed_on=day(found),
            new_loan_principal=new.principal,
            found_on=day(found),
            status=status,
        )

    flag("FL-CONFIRMED", branch, officer, "confirmed", -1)
    flag("FL-OPEN-OLD", branch, officer, "open", -10)
    flag("FL-OPEN-NEW", branch, officer2, "open", -2)
    flag("FL-CLEARED", branch, officer, "cleared", 0)
    flag("FL-OTHER", other_branch, outsider, "open", -3)
    flag("FL-OUTLET", outlet, outlet_officer, "open", -4, product=AGRI, kind=Borrower.Kind.ENTERPRISE)


# --- each list per subtree and role -------------------------------------------------------------

DEADLINES = {
    "head_manager": ["DL-OTHER-2", "DL-OFF-3", "DL-OUT-7", "DL-OFF2-10", "DL-OFF-30"],
    "manager": ["DL-OFF-3", "DL-OUT-7", "DL-OFF2-10", "DL-OFF-30"],
    "officer": ["DL-OFF-3", "DL-OFF-30"],
    "outsider": ["DL-OTHER-2"],
}


@pytest.mark.parametrize("who", DEADLINES)
def test_time_limits_due_in_30_days_per_role_soonest_first(request, world, who):
    user = request.getfixturevalue(who)
    table = deadlines.deadlines_table(query_for(user), user)
    assert loan_nos(table) == DEADLINES[who]
    assert table.more == 0


def test_a_time_limit_row_has_its_figures_and_links_to_its_case(world, manager):
    table = deadlines.deadlines_table(query_for(manager), manager)
    row = table.rows[0]
    case = CollectionCase.objects.get(loan__loan_no="DL-OFF-3")
    assert row.values == {
        "loan_no": "DL-OFF-3",
        "borrower": "Borrower of DL-OFF-3",
        "officer": case.officer.display_name,
        "measure": "1 Responsibility",
        "deadline": day(3),
        "days_left": 3,
        "outstanding": Decimal("12000.50"),
    }
    assert row.url == reverse("collections_app:case_detail", args=[case.pk])
    # A manager drills down to the officer's dashboard from the officer column.
    assert (
        row.links["officer"].startswith(reverse("dashboard") + "?")
        and f"officer={case.officer_id}" in row.links["officer"]
    )


def test_an_officer_gets_no_drill_down_link(world, officer):
    table = deadlines.deadlines_table(query_for(officer), officer)
    assert all("officer" not in r.links for r in table.rows)


LEGAL = {
    "head_manager": [
        ("Time-barred claim", "LIM-BARRED", -5),
        ("Preservation order", "COURT", -2),
        ("Hearing", "COURT", 3),
        ("Limitation period ends", "LIM-OTHER", 10),
        ("Guarantee period", "GUAR", 20),
        ("Preservation order", "COURT", 25),
        ("Limitation period ends", "LIM-OUTLET", 40),
        ("Enforcement application", "COURT", 50),
        ("Limitation period ends", "LIM-60", 60),
    ],
    "manager": [
        ("Time-barred claim", "LIM-BARRED", -5),
        ("Preservation order", "COURT", -2),
        ("Hearing", "COURT", 3),
        ("Guarantee period", "GUAR", 20),
        ("Preservation order", "COURT", 25),
        ("Limitation period ends", "LIM-OUTLET", 40),
        ("Enforcement application", "COURT", 50),
        ("Limitation period ends", "LIM-60", 60),
    ],
    # COURT is officer2's case; GUAR and the limitation cases are the officer's.
    "officer": [
        ("Time-barred claim", "LIM-BARRED", -5),
        ("Guarantee period", "GUAR", 20),
        ("Limitation period ends", "LIM-60", 60),
    ],
    "outsider": [("Limitation period ends", "LIM-OTHER", 10)],
}


@pytest.mark.parametrize("who", LEGAL)
def test_legal_deadlines_in_one_table_per_role_earliest_first(request, world, who):
    user = request.getfixturevalue(who)
    table = legal_deadlines.legal_deadlines_table(query_for(user), user)
    assert [(r.values["kind"], r.values["loan_no"], r.values["days_left"]) for r in table.rows] == LEGAL[who]
    assert [r.values["on"] for r in table.rows] == [day(d) for _k, _n, d in LEGAL[who]]
    assert table.more == 0


def test_legal_deadline_rows_say_what_and_link_to_the_case(world, manager):
    table = legal_deadlines.legal_deadlines_table(query_for(manager), manager)
    by_kind = {r.values["kind"]: r for r in table.rows}
    guarantee = by_kind["Guarantee period"]
    assert guarantee.values["detail"] == "Li Bao" and guarantee.values["amount"] == Decimal("30000.00")
    assert guarantee.url == reverse(
        "collections_app:case_detail", args=[CollectionCase.objects.get(loan__loan_no="GUAR").pk]
    )
    assert by_kind["Hearing"].values["detail"] == "Riverside Court (2026) 88, Room 2"
    court = CollectionCase.objects.get(loan__loan_no="COURT")
    assert by_kind["Enforcement application"].url == reverse("collections_app:case_detail", args=[court.pk])


PROMISES = {
    "head_manager": [("PR-OFF2", -1), ("PR-OTHER", -2), ("PR-OUT", -4), ("PR-OFF", -5), ("PR-OFF", -90)],
    "manager": [("PR-OFF2", -1), ("PR-OUT", -4), ("PR-OFF", -5), ("PR-OFF", -90)],
    "officer": [("PR-OFF", -5), ("PR-OFF", -90)],
    "outsider": [("PR-OTHER", -2)],
}


@pytest.mark.parametrize("who", PROMISES)
def test_broken_promises_of_the_last_90_days_per_role_recent_first(request, world, who):
    user = request.getfixturevalue(who)
    table = promises.promises_table(query_for(user), user)
    assert [(r.values["loan_no"], (r.values["broken_on"] - TODAY).days) for r in table.rows] == PROMISES[who]


def test_a_broken_promise_row_has_amounts_as_decimals(world, manager):
    row = promises.promises_table(query_for(manager), manager).rows[0]
    assert row.values["amount"] == Decimal("800.00") and row.values["paid"] == Decimal("0")
    assert row.values["unpaid"] == Decimal("800.00") and row.values["due_on"] == day(-2)
    case = CollectionCase.objects.get(loan__loan_no="PR-OFF2")
    assert row.url == reverse("collections_app:case_detail", args=[case.pk])


FLAGS = {
    "head_manager": ["FL-OPEN-NEW", "FL-OTHER", "FL-OUTLET", "FL-OPEN-OLD", "FL-CONFIRMED"],
    "manager": ["FL-OPEN-NEW", "FL-OUTLET", "FL-OPEN-OLD", "FL-CONFIRMED"],
    "officer": ["FL-OPEN-OLD", "FL-CONFIRMED"],  # the loans he lent
    "outsider": ["FL-OTHER"],
}


@pytest.mark.parametrize("who", FLAGS)
def test_flags_not_cleared_per_role_to_review_first(request, world, who):
    user = request.getfixturevalue(who)
    table = flags.flags_table(query_for(user), user)
    assert loan_nos(table) == FLAGS[who]
    assert {r.values["status"] for r in table.rows} <= {"To review", "Confirmed"}


def test_a_flag_row_links_to_the_new_loan_and_the_older_one(world, manager):
    from loans.models import Loan

    row = flags.flags_table(query_for(manager), manager).rows[0]
    new = Loan.objects.get(loan_no="FL-OPEN-NEW")
    assert row.url == reverse("loans:loan_detail", args=[new.pk])
    assert row.values["kind"] == "Loans by loans" and row.values["overdue_loan"] == "PR-OFF"
    assert row.links["overdue_loan"] == reverse("loans:loan_detail", args=[Loan.objects.get(loan_no="PR-OFF").pk])


# --- the dashboard's filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (deadlines.deadlines_table, ["DL-OUT-7"]),
        (legal_deadlines.legal_deadlines_table, ["LIM-OUTLET"]),
        (promises.promises_table, ["PR-OUT"]),
        (flags.flags_table, ["FL-OUTLET"]),
    ],
)
@pytest.mark.parametrize("filters", [{"product": AGRI}, {"borrower_kind": "enterprise"}])
def test_each_list_follows_the_product_and_borrower_kind_filters(world, head_manager, builder, expected, filters):
    assert loan_nos(builder(query_for(head_manager, **filters), head_manager)) == expected


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (deadlines.deadlines_table, ["DL-OUT-7"]),
        (legal_deadlines.legal_deadlines_table, ["LIM-OUTLET"]),
        (promises.promises_table, ["PR-OUT"]),
        (flags.flags_table, ["FL-OUTLET"]),
    ],
)
def test_each_list_follows_the_subtree_and_the_drill_down(
    world, head_manager, outlet, outlet_officer, builder, expected
):
    assert loan_nos(builder(query_for(head_manager, branch=outlet.pk), head_manager)) == expected
    assert loan_nos(builder(query_for(head_manager, officer=outlet_officer.pk), head_manager)) == expected


# --- the 10-row cut and the export -------------------------------------------------------------------


@pytest.fixture
def many(branch, officer):
    for i in range(13):
        make_case(f"MANY-{i:02d}", branch, officer, deadline=1 + i, limitation=1 + i)
        case = CollectionCase.objects.get(loan__loan_no=f"MANY-{i:02d}")
        PromiseToPay.objects.create(
            case=case,
            promised_on=day(-100),
            amount=Decimal("100.00"),
            due_on=day(-50),
            amount_paid=Decimal("0"),
            status="broken",
            status_on=day(-1 - i),
        )
        new = LoanFactory(loan_no=f"MANY-{i:02d}-NEW", branch=branch, issuing_officer=officer, ledger=False)
        LoansByLoansFlag.objects.create(
            kind="first_pay_off",
            new_loan=new,
            relation="same_borrower",
            branch=branch,
            lending_officer=officer,
            disbursed_on=day(-1 - i),
            new_loan_principal=new.principal,
            found_on=day(-1 - i),
        )


@pytest.mark.parametrize("name", ["deadlines", "legal_deadlines", "promises", "flags"])
def test_the_page_shows_10_rows_and_says_how_many_more_the_export_has(client, many, manager, name):
    client.force_login(manager)
    response = client.get(reverse("dashboard"))
    table = response.context["panel_figures"][name]["table"]
    assert len(table.rows) == 10 and table.more == 3
    first = table.rows[0].values["loan_no"]
    assert first == ("MANY-00-NEW" if name == "flags" else "MANY-00")
    html = response.content.decode()
    section = html[html.index(f'id="panel-{name}"') :]
    section = section[: section.index("</section>")]
    assert "3 more rows in the export." in section
    assert section.count("<tr>") == 11  # the header and 10 rows

    export = client.get(reverse("dashboards:export", args=[name]))
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 13
    assert [r[0] if name != "legal_deadlines" else r[3] for r in rows[1:]][:2] == (
        ["MANY-00-NEW", "MANY-01-NEW"] if name == "flags" else ["MANY-00", "MANY-01"]
    )


def test_the_export_writes_numbers_as_numbers_and_dates_as_dates(client, world, manager):
    client.force_login(manager)
    sheet = load_workbook(io.BytesIO(client.get(reverse("dashboards:export", args=["deadlines"])).content)).active
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    values = dict(zip(header, first, strict=True))
    assert values["Loan no."] == "DL-OFF-3"
    assert isinstance(values["Time limit"], datetime) and values["Time limit"].date() == day(3)
    assert values["Days left"] == 3 and isinstance(values["Days left"], int)
    assert values["Outstanding principal"] == pytest.approx(12000.50)
    assert isinstance(values["Outstanding principal"], (int, float))

    sheet = load_workbook(io.BytesIO(client.get(reverse("dashboards:export", args=["promises"])).content)).active
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    values = dict(zip(header, first, strict=True))
    assert values["Amount promised"] == 800 and isinstance(values["Found broken on"], datetime)


def test_an_export_is_scoped_like_the_page(client, world, outsider):
    client.force_login(outsider)
    for name, expected in [("deadlines", "DL-OTHER-2"), ("promises", "PR-OTHER"), ("flags", "FL-OTHER")]:
        sheet = load_workbook(io.BytesIO(client.get(reverse("dashboards:export", args=[name])).content)).active
        assert [r[0] for r in list(sheet.iter_rows(values_only=True))[1:]] == [expected]


# --- queries pinned ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("builder", "most"),
    [
        # One query for the page's rows, one count when there are more.
        (deadlines.deadlines_table, 2),
        (promises.promises_table, 2),
        (flags.flags_table, 2),
        # Four kinds read with their counts, and the guarantee periods in two halves.
        (legal_deadlines.legal_deadlines_table, 10),
    ],
)
@pytest.mark.parametrize("who", ["head_manager", "manager", "officer"])
def test_each_list_takes_a_fixed_number_of_queries(request, many, world, builder, most, who):
    user = request.getfixturevalue(who)
    query = query_for(user)
    with CaptureQueriesContext(connection) as captured:
        builder(query, user)
    assert len(captured) <= most, [q["sql"] for q in captured]


# --- read through indexes -----------------------------------------------------------------------------

BIG_TABLES = (
    "collections_app_collectioncase",
    "loans_loan",
    "loans_borrower",
    "loans_guarantee",
    "collections_app_promisetopay",
    "collections_app_legalproceeding",
    "legal_hearing",
    "legal_preservationorder",
    "accountability_loansbyloansflag",
)


def _plans(run) -> list[str]:
    """EXPLAIN of every query `run` makes, with sequential scans off: a Seq Scan left is a table
    no index can serve."""
    with CaptureQueriesContext(connection) as captured:
        run()
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for q in captured:
            if not q["sql"].lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {q['sql']}")
            plans.append(json.dumps(cursor.fetchone()[0]))
        cursor.execute("RESET enable_seqscan")
    return plans


def _seq_scanned(plan_json: str) -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("Node Type") == "Seq Scan":
                found.add(node.get("Relation Name"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(plan_json))
    return found


@pytest.mark.parametrize(
    "builder",
    [deadlines.deadlines_table, legal_deadlines.legal_deadlines_table, promises.promises_table, flags.flags_table],
)
@pytest.mark.parametrize(
    ("who", "filters"),
    [
        ("head_manager", {}),
        ("manager", {}),
        ("officer", {}),
        ("head_manager", {"product": AGRI, "borrower_kind": "enterprise"}),
    ],
)
def test_each_list_is_read_through_indexes(require_postgres, request, many, world, builder, who, filters):
    user = request.getfixturevalue(who)
    query = query_for(user, **filters)
    plans = _plans(lambda: builder(query, user, True))
    assert plans
    for plan in plans:
        assert not (_seq_scanned(plan) & set(BIG_TABLES)), plan


# --- where the time limit comes from, and the as-of date ------------------------------------------------


def test_a_new_division_of_responsibility_moves_the_time_limit_into_the_list(world, manager, officer2):
    from accountability.services import responsibility_assign

    case = CollectionCase.objects.get(loan__loan_no="DL-OFF-31")
    assert "DL-OFF-31" not in loan_nos(deadlines.deadlines_table(query_for(manager), manager))
    responsibility_assign(
        case=case,
        shares=[(officer2, Decimal("100"))],
        recovery_deadline=day(12),
        reason="A shorter time limit",
        actor=manager,
        as_of=TODAY,
    )
    rows = {r.values["loan_no"]: r for r in deadlines.deadlines_table(query_for(manager), manager).rows}
    assert rows["DL-OFF-31"].values["days_left"] == 12
    assert rows["DL-OFF-31"].values["officer"] == officer2.display_name
    # The officer now answering for it sees it.
    assert "DL-OFF-31" in loan_nos(deadlines.deadlines_table(query_for(officer2), officer2))


def test_a_past_month_counts_from_its_last_day(world, manager):
    last_month_end = TODAY.replace(day=1) - timedelta(days=1)
    query = query_for(manager, month=f"{last_month_end:%Y-%m}")
    assert query.as_of == last_month_end
    offsets = {"DL-OFF-3": 3, "DL-OFF-30": 30, "DL-OFF-31": 31, "DL-OFF2-10": 10, "DL-OUT-7": 7, "DL-OFF-MISSED": -1}
    expected = sorted(
        (n for n, d in offsets.items() if 0 <= (day(d) - last_month_end).days <= 30), key=lambda n: offsets[n]
    )
    table = deadlines.deadlines_table(query, manager)
    assert loan_nos(table) == expected
    assert all(r.values["days_left"] == (r.values["deadline"] - last_month_end).days for r in table.rows)


def test_the_page_links_each_row_to_its_case(client, world, manager):
    client.force_login(manager)
    html = client.get(reverse("dashboard")).content.decode()
    for name, loan_no in [("deadlines", "DL-OFF-3"), ("legal_deadlines", "LIM-BARRED"), ("promises", "PR-OFF2")]:
        case = CollectionCase.objects.get(loan__loan_no=loan_no)
        section = html[html.index(f'id="panel-{name}"') :]
        section = section[: section.index("</section>")]
        assert f'href="{reverse("collections_app:case_detail", args=[case.pk])}"' in section, name


def test_a_guarantee_period_without_a_contract_end_runs_from_the_maturity(branch, officer, manager):
    from loans.classification import add_months
    from loans.models import Loan

    first_of_next_month = add_months(TODAY.replace(day=1), 1)
    for loan_no, maturity in [("MAT-IN", add_months(TODAY.replace(day=1), -5)), ("MAT-OUT", day(-30))]:
        case = make_case(loan_no, branch, officer)
        Loan.objects.filter(pk=case.loan_id).update(maturity_on=maturity)
        GuaranteeFactory(loan=case.loan, guarantor__name=f"Guarantor of {loan_no}")
    table = legal_deadlines.legal_deadlines_table(query_for(manager), manager)
    assert [(r.values["kind"], r.values["loan_no"], r.values["on"]) for r in table.rows] == [
        ("Guarantee period", "MAT-IN", first_of_next_month)
    ]
    assert table.rows[0].values["detail"] == "Guarantor of MAT-IN"


def test_the_guarantee_periods_are_found_through_their_indexes(require_postgres, many, world, head_manager):
    query = query_for(head_manager)
    with CaptureQueriesContext(connection) as captured:
        legal_deadlines._guarantees(query, head_manager)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for q in captured:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {q['sql']}")
            plans.append(json.dumps(cursor.fetchone()[0]))
        cursor.execute("RESET enable_seqscan")
    assert len(plans) == 2
    assert "guarantee_term_ends" in plans[0], plans[0]
    assert "loan_maturity_on" in plans[1], plans[1]


def test_the_lists_and_their_exports_speak_chinese(client, world, manager):
    client.force_login(manager)
    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    for title in ["未来30天内到期的清收时限", "即将届满的诉讼时效及其他法律期限", "已违约的还款承诺（近90天）"]:
        assert title in html
    assert "已过诉讼时效的债权" in html and "诉讼时效届满" in html  # the kind column
    export = client.get(reverse("dashboards:export", args=["legal_deadlines"]), HTTP_ACCEPT_LANGUAGE="zh-CN")
    header = next(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert header[:3] == ("类型", "日期", "剩余天数")


@pytest.mark.parametrize(
    "rows",
    [
        deadlines.due_cases,
        promises.broken_promises,
        legal_deadlines._limitation,
        legal_deadlines._hearings,
        legal_deadlines._enforcement,
    ],
)
@pytest.mark.parametrize("who", ["officer", "manager"])
def test_an_officers_rows_are_his_loans_ids_not_a_join_to_every_loan(request, world, officer, rows, who):
    """An officer's rows (his own, or a manager's drill-down to him) are `loan IN (his loans)`: the
    list's window is not joined to the loans to compare officers (at a million loans: 200 ms)."""
    user = request.getfixturevalue(who)
    query = query_for(user) if who == "officer" else query_for(user, officer=officer.pk)
    sql = str(rows(query, user).query)
    assert '"loans_loan"."responsible_officer_id" =' not in sql, sql
    assert f'"responsible_officer_id" = {officer.pk}' in sql, sql


@pytest.mark.parametrize("name", ["deadlines", "legal_deadlines", "promises", "flags"])
def test_the_count_of_more_rows_stops_at_its_cap(client, many, manager, name, monkeypatch):
    """Past MORE_CAP rows left out the page says "more than MORE_CAP" and the count stops there (a
    LIMIT in the count's subquery); the export still has every row."""
    from dashboards import lists, tables
    from dashboards.panels import legal_deadlines as legal_module

    for module in (tables, lists, legal_module):
        monkeypatch.setattr(module, "MORE_CAP", 2)
    client.force_login(manager)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("dashboard"))
    table = response.context["panel_figures"][name]["table"]
    assert len(table.rows) == 10 and table.more == 3 and table.more_capped
    html = response.content.decode()
    section = html[html.index(f'id="panel-{name}"') :]
    section = section[: section.index("</section>")]
    assert "More than 2 rows in the export." in section
    assert "3 more rows" not in section
    # The count reads PAGE_ROWS + MORE_CAP + 1 rows at most.
    assert any(q["sql"].startswith("SELECT COUNT(*) FROM (") and "LIMIT 13)" in q["sql"] for q in ctx.captured_queries)
    export = client.get(reverse("dashboards:export", args=[name]))
    assert len(list(load_workbook(io.BytesIO(export.content)).active.iter_rows())) == 1 + 13


def test_a_guarantee_rows_officer_is_named_as_everywhere_else(branch, officer, manager):
    """The guarantee row's officer is User.display_name (张伟, family name first), like the other rows."""
    from loans.classification import add_months
    from loans.models import Loan, User

    User.objects.filter(pk=officer.pk).update(first_name="伟", last_name="张")
    case = make_case("MAT-ZH", branch, officer)
    Loan.objects.filter(pk=case.loan_id).update(maturity_on=add_months(TODAY.replace(day=1), -5))
    GuaranteeFactory(loan=case.loan, guarantor__name="Guarantor of MAT-ZH")
    table = legal_deadlines.legal_deadlines_table(query_for(manager), manager)
    assert [r.values["officer"] for r in table.rows] == ["张伟"]


# --- a manager's subtree needs no other scope ----------------------------------------------------------


def test_a_manager_sees_every_branch_of_his_subtree_and_no_other(
    head_manager, manager, officer, branch, outlet, other_branch
):
    from loans.access import sees_subtree

    assert sees_subtree(manager, branch) and sees_subtree(manager, outlet)
    assert not sees_subtree(manager, other_branch)
    assert not sees_subtree(manager, None)
    assert sees_subtree(head_manager, other_branch) and sees_subtree(head_manager, None)
    # An officer sees his own branch only, not the outlets below it: his rows keep their scope.
    assert not sees_subtree(officer, branch)
    manager.is_active = False
    assert not sees_subtree(manager, branch)


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (deadlines.deadlines_table, DEADLINES["manager"]),
        (legal_deadlines.legal_deadlines_table, [no for _k, no, _d in LEGAL["manager"]]),
        (flags.flags_table, FLAGS["manager"]),
    ],
)
def test_a_managers_lists_of_his_subtree_plan_no_answered_loans_subqueries(world, manager, builder, expected):
    """Every row of his subtree is his to see: the lists filter by the subtree alone, without the OR
    of the loans he answers for (four subplans PostgreSQL plans on every view); the same rows."""
    with CaptureQueriesContext(connection) as queries:
        table = builder(query_for(manager), manager)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "accountability_responsibilityshare" not in sql
    assert "collectioncase_team_members" not in sql
    assert loan_nos(table) == expected
