"""Issue 15, item 3: the board and the watch list sort only by what an index serves, page stably, and
the large writes that fill the tables they read (the watch list check, the import) leave the planner
with statistics."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.db import connection

from accountability.daily_checks import check_run
from accountability.models import AccountabilityRecord, WatchListEntry
from accountability.tables import RecordTable, WatchListTable
from npl_recovery import db
from tests.factories import LoanFactory
from tests.imports.conftest import bank  # noqa: F401 - the import's branches and staff

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL statistics and plans")

DAY = date(2026, 6, 30)


def test_the_board_offers_only_index_served_sorts():
    table = RecordTable(AccountabilityRecord.objects.none())
    assert {c.name: tuple(o.lstrip("-") for o in c.order_by) for c in table.columns if c.orderable} == {
        "id": ("id",),
        "proposed_on": ("proposed_on", "id"),
    }


def test_the_watch_list_offers_only_index_served_sorts():
    table = WatchListTable(WatchListEntry.objects.none())
    assert {c.name: tuple(o.lstrip("-") for o in c.order_by) for c in table.columns if c.orderable} == {
        "days_past_due": ("days_past_due", "id"),
        "outstanding_principal": ("outstanding_principal", "id"),
        "first_seen_on": ("first_seen_on", "id"),
    }


@pytest.fixture
def watched(branch, officer):
    """Eleven loans past due by few days (watched as normal-but-overdue), with equal DPDs and balances."""
    for i in range(11):
        LoanFactory(
            branch=branch,
            responsible_officer=officer,
            overdue_since=date(2026, 6, 25 - (i % 3)),
            outstanding_principal=[10_000, 20_000][i % 2],
        )
    check_run(name="watch_list", as_of=DAY)
    entries = list(WatchListEntry.objects.filter(as_of=DAY))
    assert len(entries) == 11
    return entries


@pytest.mark.parametrize("field", ["days_past_due", "outstanding_principal", "first_seen_on"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_watch_list_sort_pages_through_every_entry_once_in_order(client, manager, watched, field, descending):
    client.force_login(manager)
    seen = []
    for page in (1, 2, 3):
        response = client.get(
            "/accountability/prevention/", {"sort": ("-" if descending else "") + field, "per_page": 4, "page": page}
        )
        seen += [row.record.pk for row in response.context["table"].page.object_list]
    expected = sorted(watched, key=lambda e: (getattr(e, field), e.pk), reverse=descending)
    assert seen == [e.pk for e in expected]


def _reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@postgres_only
def test_the_watch_list_check_leaves_the_planner_with_statistics(branch, officer, monkeypatch):
    monkeypatch.setattr(db, "BULK_ANALYZE_THRESHOLD", 5)
    for _ in range(7):
        LoanFactory(branch=branch, responsible_officer=officer, overdue_since=date(2026, 6, 20))
    assert _reltuples("accountability_watchlistentry") <= 0  # never analysed
    check_run(name="watch_list", as_of=DAY)
    assert _reltuples("accountability_watchlistentry") == 7


@postgres_only
def test_a_large_import_leaves_the_planner_with_statistics(bank, monkeypatch):  # noqa: F811
    from tests.imports.conftest import csv_bytes, run_import, three_loans

    monkeypatch.setattr(db, "BULK_ANALYZE_THRESHOLD", 3)
    before = _reltuples("loans_loan")
    outcome = run_import(csv_bytes(three_loans()))
    assert outcome.ok and outcome.created == 3, outcome.batch.errors
    assert _reltuples("loans_loan") == 3 != before


@postgres_only
@pytest.mark.parametrize("field", ["days_past_due", "outstanding_principal", "first_seen_on"])
def test_every_watch_list_sort_is_read_from_an_index(manager, watched, field):
    from accountability.selectors import watch_list_for_user

    queryset = watch_list_for_user(user=manager, as_of=DAY).order_by(f"-{field}", "-id")[:25]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
    text = json.dumps(plan)
    assert '"Seq Scan"' not in text and '"Node Type": "Sort"' not in text, text
