"""Issue 13, items 2 and 4: recovery targets (set by managers, audited) and the officer league,
checked against a small book whose figures are computed by hand below, per subtree and role."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from accountability.models import AccountabilityRecord, MonthEndClose, MonthEndSnapshot
from accountability.services import record_decide, record_propose
from audit.models import AuditEvent
from collections_app.models import CostRepayment
from collections_app.services import case_open
from collections_app.services.costs import cost_record
from dashboards import kept
from dashboards.league import compute
from dashboards.models import RecoveryTarget
from dashboards.panels import officers as officers_panel
from dashboards.panels import targets as targets_panel
from dashboards.query import dashboard_query
from dashboards.services import TARGET_SET_EVENT, target_set
from ledger.services import ledger_post
from loans.models import Role, User
from tests.factories import LoanFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)
D = Decimal


@pytest.fixture(autouse=True)
def _frozen(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with freeze_time("2026-06-15 09:00:00"):
        yield


def _loan(no, branch, officer, five, four, outstanding):
    return LoanFactory(
        loan_no=no,
        branch=branch,
        responsible_officer=officer,
        issuing_officer=officer,
        overdue_since=date(2024, 1, 1),
        five_level_class=five,
        four_level_class=four,
        outstanding_principal=D(outstanding),
        interest_on_balance=D("0"),
        interest_off_balance=D("0"),
    )


def _recover(loan, kind, amount, on):
    ledger_post(
        loan=loan,
        kind=kind,
        principal=-D(amount),
        interest_on=D(0),
        interest_off=D(0),
        value_date=on,
        actor=None,
        as_of=on,
    )


@pytest.fixture
def book(branch, outlet, other_branch, officer, officer2, outlet_officer, outsider, manager, manager2, head_manager):
    """The book (balances after the recoveries below):
    A1 Riverside, officer:        substandard / overdue   80,000  case opened 2025-06-01 (time limit 2025-11-28: missed)
    A2 Riverside, officer:        doubtful / idle         50,000  case opened 2026-05-01 (time limit 2026-10-28)
    B1 Riverside, officer2:       loss / bad debt         30,000  case opened 2025-01-10 (time limit 2025-07-09: missed)
    B2 Riverside, officer2:       special mention / overdue 100,000 (no case)
    C1 Riverside Market, outlet_officer: substandard / overdue 40,000 case opened 2026-06-01
    D1 Hillside, outsider:        doubtful / overdue      70,000  case opened 2025-03-01 (missed)
    Cash this year: A1 5,000 (Feb), B1 court deduction 3,000 (Apr), C1 guarantor 4,000 (May), D1 7,000 (Jan);
    not counted: A1 1,000 last November, A2 2,000 in kind (March).
    Costs: A1's case 600 borne (March), 100 of it repaid (April).
    Sanctions: officer's wage stop proposed (open); officer2's suspension waived (closed).
    Year-end 2025 snapshot NPL (five): officer 150,000, officer2 30,000, outlet 0, outsider 90,000;
    (four): officer 150,000, officer2 130,000, outlet 0, outsider 90,000."""
    a1 = _loan("A1", branch, officer, "substandard", "overdue", "86000.00")
    a2 = _loan("A2", branch, officer, "doubtful", "idle", "52000.00")
    b1 = _loan("B1", branch, officer2, "loss", "bad_debt", "33000.00")
    _loan("B2", branch, officer2, "special_mention", "overdue", "100000.00")
    c1 = _loan("C1", outlet, outlet_officer, "substandard", "overdue", "44000.00")
    d1 = _loan("D1", other_branch, outsider, "doubtful", "overdue", "77000.00")
    case_a1 = case_open(loan=a1, actor=officer, as_of=date(2025, 6, 1), reason="Stopped paying")
    case_open(loan=a2, actor=officer, as_of=date(2026, 5, 1), reason="Stopped paying")
    case_open(loan=b1, actor=officer2, as_of=date(2025, 1, 10), reason="Stopped paying")
    case_open(loan=c1, actor=outlet_officer, as_of=date(2026, 6, 1), reason="Stopped paying")
    case_open(loan=d1, actor=outsider, as_of=date(2025, 3, 1), reason="Stopped paying")
    _recover(a1, "cash_recovery", "5000", date(2026, 2, 10))
    _recover(a1, "cash_recovery", "1000", date(2025, 11, 5))
    _recover(a2, "repayment_in_kind", "2000", date(2026, 3, 1))
    _recover(b1, "court_deduction", "3000", date(2026, 4, 1))
    _recover(c1, "guarantor_payment", "4000", date(2026, 5, 20))
    _recover(d1, "cash_recovery", "7000", date(2026, 1, 15))
    cost = cost_record(case=case_a1, actor=officer, kind="litigation", amount=D("600"), incurred_on=date(2026, 3, 5))
    CostRepayment.objects.create(cost=cost, repaid_on=date(2026, 4, 10), amount=D("100"), recorded_by=officer)
    record_propose(officer=officer, record_type="wage_stop", reason="Time limit missed", actor=manager, as_of=TODAY)
    waived = record_propose(officer=officer2, record_type="suspension", reason="Late", actor=manager, as_of=TODAY)
    record_decide(record=waived, decision="waive", actor=manager2, reason="Recovered since")
    MonthEndClose.objects.create(month=date(2025, 12, 1), as_of=date(2025, 12, 31))
    for b, who, npl, overdue, idle, bad in [
        (branch, officer, "150000", "90000", "60000", "0"),
        (branch, officer2, "30000", "100000", "0", "30000"),
        (other_branch, outsider, "90000", "90000", "0", "0"),
    ]:
        MonthEndSnapshot.objects.create(
            month=date(2025, 12, 1),
            branch=b,
            officer=who,
            npl_balance=D(npl),
            overdue_balance=D(overdue),
            idle_balance=D(idle),
            bad_debt_balance=D(bad),
        )
    for who, year, b, off, npl, cash in [
        (manager, 2026, branch, None, "50000", "20000"),
        (manager, 2026, branch, officer, "40000", "10000"),
        (manager, 2026, branch, officer2, "10000", "6000"),
        (head_manager, 2026, branch.parent, None, "100000", "40000"),
        (head_manager, 2025, branch, officer, "99999", "99999"),  # another year: not this one's
    ]:
        target_set(
            actor=who, year=year, branch=b, officer=off, npl_reduction=D(npl), cash_recovered=D(cash), reason="Plan"
        )
    kept.rebuild()


def _query(user, **params):
    request = RequestFactory().get("/dashboard/", params)
    request.user = user
    return dashboard_query(request)[0]


def _by_username(table):
    names = {u.display_name: u.username for u in User.objects.all()}
    return {names[r.values["officer"]]: r.values for r in table.rows}


def _league(user, **params):
    return _by_username(officers_panel.officers_table(_query(user, **params), user, True))


def _row(open_cases, npl, cash, net, missed, sanctions, npl_progress, cash_progress):
    return {
        "open_cases": open_cases,
        "npl_balance": D(npl) if npl is not None else None,
        "cash_recovered": D(cash),
        "net_recovery": D(net),
        "time_limits_missed": missed,
        "sanctions_open": sanctions,
        "npl_progress": npl_progress,
        "cash_progress": cash_progress,
    }


def _strip(values):
    return {k: v for k, v in values.items() if k not in ("officer", "branch")}


# --- the league -------------------------------------------------------------------------------


def test_branch_manager_league_has_his_subtrees_officers_with_hand_computed_figures(book, manager):
    league = _league(manager)
    assert list(league) == ["officer", "outlet_officer", "officer2"]  # most net recovery first
    assert _strip(league["officer"]) == _row(2, "130000", "5000", "4500", 1, 1, 50.0, 50.0)
    assert _strip(league["officer2"]) == _row(1, "30000", "3000", "3000", 1, 0, 0.0, 50.0)
    assert _strip(league["outlet_officer"]) == _row(1, "40000", "4000", "4000", 0, 0, None, None)
    assert league["outlet_officer"]["branch"] == "Riverside Market"


@pytest.mark.parametrize("who", ["head_manager", "auditor", "admin_user"])
def test_head_office_sees_every_officer(request, book, who):
    league = _league(request.getfixturevalue(who))
    assert set(league) == {"officer", "officer2", "outlet_officer", "outsider"}
    assert _strip(league["outsider"]) == _row(1, "70000", "7000", "7000", 1, 0, None, None)


def test_head_office_drills_into_a_branch(book, head_manager, other_branch):
    league = _league(head_manager, branch=other_branch.pk)
    assert list(league) == ["outsider"]


def test_four_level_scheme(book, manager):
    league = _league(manager, scheme="four")
    assert league["officer2"]["npl_balance"] == D("130000")  # B1 bad debt + B2 overdue
    assert league["officer2"]["npl_progress"] == 0.0  # 130,000 at the year's start too
    assert league["officer"]["npl_progress"] == 50.0


def test_a_past_month_without_its_close_has_no_book_figures_but_counts_cash_to_that_month(book, manager):
    league = _league(manager, month="2026-03")
    assert league["officer"]["npl_balance"] is None and league["officer"]["open_cases"] is None
    assert league["officer"]["cash_recovered"] == D("5000")  # February's
    assert league["officer"]["net_recovery"] == D("4400")  # March's cost, April's repayment not yet
    # Its only cash came in April; it is in the league for its NPLs at the year's start.
    assert league["officer2"]["cash_recovered"] == D("0") and league["officer2"]["npl_progress"] is None


def test_a_past_month_with_its_close_reads_the_book_from_the_snapshot(book, manager, branch, officer, outlet):
    MonthEndClose.objects.create(month=date(2026, 5, 1), as_of=date(2026, 5, 31))
    MonthEndSnapshot.objects.create(
        month=date(2026, 5, 1),
        branch=branch,
        officer=officer,
        npl_balance=D("140000"),
        open_cases=3,
        cases_past_deadline=2,
    )
    league = _league(manager, month="2026-05")
    assert (league["officer"]["npl_balance"], league["officer"]["open_cases"]) == (D("140000"), 3)
    assert league["officer"]["time_limits_missed"] == 2
    assert league["officer"]["npl_progress"] == 25.0  # 150,000 - 140,000 of 40,000
    f = targets_panel.context(_query(manager, month="2026-05"), manager)["figures"]
    assert (f.npl_balance, f.npl_reduction) == (D("140000"), D("40000"))  # 180,000 at the year's start


def test_product_filter_narrows_the_league(book, manager):
    assert _league(manager, product="Mortgage") == {}
    assert set(_league(manager, product="Working capital")) == {"officer", "officer2", "outlet_officer"}


def test_officers_do_not_see_the_league(book, officer):
    assert officers_panel.context(_query(officer), officer) is None


def test_league_rows_link_to_the_officer_dashboard_and_his_late_cases(book, manager, officer):
    table = officers_panel.officers_table(_query(manager), manager, False)
    row = next(r for r in table.rows if r.values["officer"] == officer.display_name)
    assert row.url == f"?month=2026-06&branch={manager.branch_id}&scheme=five&officer={officer.pk}" or (
        f"officer={officer.pk}" in row.url and f"branch={manager.branch_id}" in row.url
    )
    assert row.links["time_limits_missed"].endswith(f"officer={officer.pk}&due=deadline_passed")


# --- targets and progress ---------------------------------------------------------------------


def test_branch_progress_against_its_own_target(book, manager):
    panel = targets_panel.context(_query(manager), manager)
    f = panel["figures"]
    # Riverside subtree: NPL 200,000 now, 180,000 at the year's start: it grew by 20,000.
    assert (f.npl_balance, f.npl_at_year_start, f.npl_reduction) == (D("200000"), D("180000"), D("-20000"))
    assert f.cash_recovered == D("12000")
    assert (f.npl_progress, f.cash_progress) == (-40.0, 60.0)
    assert [m["width"] for m in panel["measures"]] == ["0.0", "60.0"]
    assert panel["can_set"] is True and panel["officer"] is None


def test_whole_bank_progress_against_the_head_offices_target(book, head_manager):
    f = targets_panel.context(_query(head_manager), head_manager)["figures"]
    assert (f.npl_reduction, f.cash_recovered) == (D("0"), D("19000"))
    assert (f.npl_progress, f.cash_progress) == (0.0, 47.5)


def test_officer_sees_his_own_target_and_cases(book, officer):
    panel = targets_panel.context(_query(officer), officer)
    f = panel["figures"]
    assert (f.npl_reduction, f.target_npl_reduction, f.npl_progress) == (D("20000"), D("40000"), 50.0)
    assert (f.cash_recovered, f.target_cash_recovered, f.cash_progress) == (D("5000"), D("10000"), 50.0)
    assert panel["cases_url"].endswith("?scope=mine") and panel["can_set"] is False


def test_manager_drills_to_an_officer(book, client, manager, officer2):
    client.force_login(manager)
    response = client.get(reverse("dashboard"), {"officer": officer2.pk})
    assert response.status_code == 200
    panel = response.context["panel_figures"]["targets"]
    assert panel["officer"] == officer2 and panel["figures"].cash_progress == 50.0
    assert panel["cases_url"].endswith(f"scope=all&officer={officer2.pk}")
    league = response.context["panel_figures"]["officers"]["table"]
    assert list(_by_username(league)) == ["officer2"]
    html = response.content.decode()
    assert f"Targets 2026: {officer2.display_name}" in html and 'data-width="50.0"' in html


@pytest.mark.parametrize("params", [lambda b: {"officer": b["outsider"].pk}, lambda b: {"officer": 999999}])
def test_an_officer_outside_the_scope_is_a_404_never_a_name(book, client, manager, outsider, params):
    client.force_login(manager)
    response = client.get(reverse("dashboard"), params({"outsider": outsider}))
    assert response.status_code == 404
    assert outsider.display_name not in response.content.decode()


# --- target_set: the rules and the audit ----------------------------------------------------


def test_target_set_records_old_and_new_values(book, manager, officer, branch):
    before = AuditEvent.objects.filter(event_type=TARGET_SET_EVENT).count()
    target = target_set(
        actor=manager,
        year=2026,
        branch=branch,
        officer=officer,
        npl_reduction="45000.004",
        cash_recovered=D("12000"),
        reason="  Raised after the audit  ",
    )
    assert (target.npl_reduction, target.cash_recovered, target.reason) == (
        D("45000.00"),
        D("12000"),
        "Raised after the audit",
    )
    assert RecoveryTarget.objects.filter(year=2026, branch=branch, officer=officer).count() == 1
    event = AuditEvent.objects.filter(event_type=TARGET_SET_EVENT).latest("id")
    assert AuditEvent.objects.filter(event_type=TARGET_SET_EVENT).count() == before + 1
    assert event.actor == manager and event.subject_id == target.pk and event.reason == "Raised after the audit"
    assert event.old_values["npl_reduction"] == "40000.00" and event.new_values["npl_reduction"] == "45000.00"


def test_a_new_target_has_no_old_values(db, manager, branch, officer):
    target = target_set(
        actor=manager, year=2027, branch=branch, officer=None, npl_reduction=0, cash_recovered=0, reason="Start"
    )
    event = AuditEvent.objects.get(event_type=TARGET_SET_EVENT, subject_id=target.pk)
    assert event.old_values == {} and event.new_values["officer"] is None


@pytest.mark.parametrize("who", ["officer", "auditor", "admin_user", "outside_manager"])
def test_only_managers_of_the_branch_set_targets(request, db, branch, who):
    with pytest.raises(PermissionDenied):
        target_set(
            actor=request.getfixturevalue(who),
            year=2026,
            branch=branch,
            officer=None,
            npl_reduction=1,
            cash_recovered=1,
            reason="Try",
        )
    assert not RecoveryTarget.objects.exists()


def test_head_office_manager_sets_any_branch(db, head_manager, other_branch):
    target_set(
        actor=head_manager,
        year=2026,
        branch=other_branch,
        officer=None,
        npl_reduction=1,
        cash_recovered=1,
        reason="Plan",
    )
    assert RecoveryTarget.objects.filter(branch=other_branch).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"npl_reduction": "-1"}, "npl_reduction"),
        ({"cash_recovered": "lots"}, "cash_recovered"),
        ({"cash_recovered": None}, "cash_recovered"),
        ({"reason": "  "}, "reason"),
        ({"year": 1999}, "year"),
        ({"officer": "outsider"}, "officer"),
        ({"officer": "head_manager"}, "officer"),  # works above the branch
    ],
)
def test_target_set_names_the_wrong_field(
    request, db, manager, branch, officer, outsider, head_manager, changes, field
):
    kwargs = {
        "year": 2026,
        "branch": branch,
        "officer": officer,
        "npl_reduction": "1",
        "cash_recovered": "1",
        "reason": "Plan",
    }
    kwargs.update(changes)
    if isinstance(kwargs["officer"], str):
        kwargs["officer"] = request.getfixturevalue(kwargs["officer"])
    with pytest.raises(ValidationError) as error:
        target_set(actor=manager, **kwargs)
    assert field in error.value.message_dict
    assert not RecoveryTarget.objects.exists()


def test_a_manager_may_give_an_outlet_officer_a_target_of_the_branch(db, manager, branch, outlet_officer):
    target_set(
        actor=manager,
        year=2026,
        branch=branch,
        officer=outlet_officer,
        npl_reduction=1,
        cash_recovered=1,
        reason="Plan",
    )


# --- the targets page -----------------------------------------------------------------------


def test_manager_sets_a_target_on_the_page(db, client, manager, branch, officer2):
    client.force_login(manager)
    page = client.get(reverse("dashboards:targets"))
    assert page.status_code == 200 and 'id="target-form"' in page.content.decode()
    data = {
        "year": 2026,
        "branch": branch.pk,
        "officer": officer2.pk,
        "npl_reduction": "3000",
        "cash_recovered": "2500.50",
        "reason": "Agreed in June",
    }
    response = client.post(reverse("dashboards:targets"), data)
    assert response.status_code == 302
    target = RecoveryTarget.objects.get(officer=officer2)
    assert (target.cash_recovered, target.set_by) == (D("2500.50"), manager)
    assert "Agreed in June" in client.get(response.url).content.decode()


def test_the_page_shows_the_services_error_beside_its_field(db, client, manager, branch, outsider):
    client.force_login(manager)
    data = {
        "year": 2026,
        "branch": branch.pk,
        "officer": outsider.pk,
        "npl_reduction": "1",
        "cash_recovered": "1",
        "reason": "x",
    }
    response = client.post(reverse("dashboards:targets"), data)
    # The outsider is not offered (another branch): a form error, never stored.
    assert response.status_code == 200 and response.context["form"].errors.get("officer")
    assert not RecoveryTarget.objects.exists()


def test_officer_sees_only_his_own_targets_and_may_not_post(book, client, officer):
    client.force_login(officer)
    response = client.get(reverse("dashboards:targets"))
    assert response.status_code == 200 and response.context["form"] is None
    assert [(t.officer, t.npl_reduction) for t in response.context["rows"]] == [(officer, D("40000"))]
    data = {"year": 2026, "branch": officer.branch_id, "npl_reduction": "1", "cash_recovered": "1", "reason": "x"}
    assert client.post(reverse("dashboards:targets"), data).status_code == 403


def test_manager_sees_his_subtrees_targets_only(book, client, outside_manager, other_branch, head_manager):
    target_set(
        actor=head_manager,
        year=2026,
        branch=other_branch,
        officer=None,
        npl_reduction=1,
        cash_recovered=1,
        reason="Plan",
    )
    client.force_login(outside_manager)
    rows = client.get(reverse("dashboards:targets")).context["rows"]
    assert [t.branch for t in rows] == [other_branch]


def test_the_admin_is_read_only(book, client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/dashboards/recoverytarget/").status_code == 200
    assert client.get("/admin/dashboards/recoverytarget/add/").status_code == 403


# --- export and queries ----------------------------------------------------------------------


def test_league_exports_to_xlsx_with_numbers(book, client, manager):
    from openpyxl import load_workbook

    client.force_login(manager)
    response = client.get(reverse("dashboards:export", args=["officers"]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("Officer", "Branch", "Open cases")
    names = {u.display_name: u.username for u in User.objects.all()}
    data = {names[r[0]]: dict(zip(header, r, strict=True)) for r in rows[1:] if r[0]}
    assert data["officer"]["Open cases"] == 2
    assert data["officer"]["NPL balance"] == 130000
    assert data["officer"]["Net recovery this year"] == 4500
    assert data["officer"]["Cash vs target"] == 50
    assert isinstance(data["officer2"]["Cash recovered this year"], int | float)
    assert set(data) == {"officer", "officer2", "outlet_officer"}


def test_the_league_has_no_english_left_in_chinese(book, client, manager):
    client.force_login(manager)
    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for english in ("Officer league", "Time limits missed", "NPL balance reduction", "Cash recovered this year"):
        assert english not in html
    assert "清收时限" in html


@pytest.mark.parametrize("who", ["head_manager", "manager", "officer"])
def test_the_panels_queries_are_pinned(request, book, who):
    user = request.getfixturevalue(who)
    query = _query(user)
    with CaptureQueriesContext(connection) as targets_queries:
        targets_panel.context(query, user)
    with CaptureQueriesContext(connection) as league_queries:
        officers_panel.context(query, user)
    # Per panel: a handful of GROUP BYs over kept cells and snapshots, two index-served counts,
    # the year-end close (and the closes' state, dashboards.closed), the targets and the officers'
    # names; none grows with the book.
    assert len(targets_queries) <= 11, [q["sql"] for q in targets_queries.captured_queries]
    assert len(league_queries) <= 11, [q["sql"] for q in league_queries.captured_queries]


def test_compute_by_officer_sums_to_the_total(book, head_manager):
    query = _query(head_manager)
    per_officer = compute(query, "officer_id")
    total = compute(query, None)["all"]
    assert sum(f.cash_recovered for f in per_officer.values()) == total.cash_recovered == D("19000")
    assert sum(f.npl_balance for f in per_officer.values()) == total.npl_balance == D("270000")
    assert sum(f.time_limits_missed for f in per_officer.values()) == total.time_limits_missed == 3
    assert AccountabilityRecord.objects.count() == 2


def test_a_new_officer_without_figures_is_not_in_the_league(book, manager, branch):
    UserFactory(username="newcomer", role=Role.OFFICER, branch=branch)
    assert "newcomer" not in _league(manager)


@pytest.mark.django_db(transaction=True)
def test_two_managers_setting_the_same_target_at_once_lose_nothing(require_postgres, branch, manager, manager2):
    """The first manager's transaction is still open when the second sets the same target: the
    second waits on the unique index, then changes the first one's target (and the audit trail
    keeps both, the second with the first's values as old)."""
    import threading

    from django.db import connections, transaction

    first_set, second_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                target_set(
                    actor=manager,
                    year=2026,
                    branch=branch,
                    officer=None,
                    npl_reduction=1,
                    cash_recovered=1,
                    reason="First",
                )
                first_set.set()
                second_started.wait(10)
                # Give the second time to reach the unique index and wait on it.
                threading.Event().wait(0.5)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_set.wait(10)
            second_started.set()
            target_set(
                actor=manager2,
                year=2026,
                branch=branch,
                officer=None,
                npl_reduction=2,
                cash_recovered=2,
                reason="Second",
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    target = RecoveryTarget.objects.get()
    assert (target.npl_reduction, target.set_by, target.reason) == (D("2.00"), manager2, "Second")
    events = list(AuditEvent.objects.filter(event_type=TARGET_SET_EVENT).order_by("id"))
    assert [e.reason for e in events] == ["First", "Second"]
    assert events[1].old_values["npl_reduction"] == "1.00"


@pytest.mark.parametrize("who", ["head_manager", "manager", "officer"])
def test_the_page_computes_the_league_once(request, book, client, who):
    """The targets panel (the total) and the officer league (the rows) share one computation per
    request: each of the league's GROUP BYs runs once on the page."""
    user = request.getfixturevalue(who)
    client.force_login(user)
    client.get(reverse("dashboard"))  # warm (session, content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    sanctions = [q["sql"] for q in ctx.captured_queries if '"accountability_accountabilityrecord"' in q["sql"]]
    # The costs by officer: from the officer roll-up (nothing narrows this page by product or kind).
    costs = [q["sql"] for q in ctx.captured_queries if 'FILTER (WHERE "dashboards_costofficerroll"."kind"' in q["sql"]]
    assert len(sanctions) == 1, sanctions
    assert len(costs) == 1, costs
    figures = response.context["panel_figures"]
    total = figures["targets"]["figures"]
    if who != "officer":
        rows = figures["officers"]["table"].rows
        assert total.cash_recovered == sum(r.values["cash_recovered"] for r in rows)


def test_the_league_is_computed_afresh_outside_a_request(book, head_manager, officer):
    """Outside the dashboard view (exports, the benchmark's panels) nothing is remembered."""
    query = _query(head_manager)
    before = compute(query, None)["all"].cash_recovered
    loan = LoanFactory(branch=officer.branch, responsible_officer=officer, outstanding_principal=D("9000"))
    _recover(loan, "cash_recovery", "500", TODAY)
    assert compute(query, None)["all"].cash_recovered == before + D("500")


def test_the_league_reads_the_officer_roll_ups_which_are_the_cells_summed_per_officer(book, manager, head_manager):
    """The league's cash and costs by officer come from the officer roll-ups unless a product or a
    borrower kind narrows the view (the dimensions they sum away); those roll-ups are the ledger's
    and the costs' cells summed per branch and officer, through compaction and rebuild."""
    from dashboards.maintain import compact, differences
    from dashboards.models import CostCell, CostOfficerRoll, LedgerCell, LedgerOfficerRoll

    query = _query(head_manager)
    assert query.kept_by_officer(LedgerCell).model is LedgerOfficerRoll
    assert query.kept_by_officer(CostCell).model is CostOfficerRoll
    assert _query(manager, officer=manager.pk).kept_by_officer(LedgerCell).model is LedgerOfficerRoll
    for narrowed in (_query(head_manager, product="Farm"), _query(head_manager, borrower_kind="enterprise")):
        assert narrowed.kept_by_officer(LedgerCell).model is LedgerCell

    def sums(model, figure):
        return {
            (r["branch_id"], r["officer_id"]): r["n"]
            for r in kept.summed(model.objects.all(), "branch_id", "officer_id", n=figure)
            if r["n"]
        }

    for cell, roll, figure in ((LedgerCell, LedgerOfficerRoll, "amount"), (CostCell, CostOfficerRoll, "amount")):
        assert sums(roll, figure) == sums(cell, figure) and sums(roll, figure)
    compact()
    for cell, roll, figure in ((LedgerCell, LedgerOfficerRoll, "amount"), (CostCell, CostOfficerRoll, "amount")):
        assert sums(roll, figure) == sums(cell, figure)
    kept.rebuild()  # writes the roll-ups from its cells: the triggers add nothing meanwhile
    assert [d.as_json() for d in differences().differences] == []
    assert sums(LedgerOfficerRoll, "amount") == sums(LedgerCell, "amount")
