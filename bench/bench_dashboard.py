"""The manager dashboards at a million loans (issue 13): the page, each headline figure, every figure
checked against a direct recomputation, and the head-office work queue's deep pages.

The data (built once, kept for the next run while the book is unchanged):
- the 1,000,000-loan book of `bench/common.py` (`make_book`), classified as the queue benchmark
  does (one UPDATE by days past due) and a case opened for every non-performing loan by the
  set-based opener (the service, `cases_open_for_non_performing`: ~200,000 cases);
- 14 months of recoveries in the ledger (the 13 closed months and the current one; every kind of
  recovery, cash and in kind, some awaiting approval and some refused) and collection costs
  borne and repaid, written with SQL: the ledger and cost services record one entry at a time
  with its audit event, a quarter of a million of them would take an hour. The loans' balances
  fall with the recoveries (one UPDATE per month), so the month-end figures move;
- the 13 month-end closes, each taken by the service after its month's entries
  (`check_month_end_snapshot(as_of=...)`, the daily check's own code);
- the kept cells: `dashboards.kept.rebuild()` (with the triggers of the kept cells, if present,
  the cells are compared with the definitions *before* the rebuild as well).

The checks (the benchmark fails if any differs):
- every kept cell table summed per cell equals the same figures computed by plain SQL over the
  source tables (loans, ledger, cases, costs), written here apart from `dashboards.kept`;
- every figure of `dashboards.figures.FIGURES` (when that module exists) equals its full-scan
  version from `dashboards.recompute`, for the head office, a branch manager and an officer;
- the benchmark's own headline figures from kept cells equal the same figures by full scans.

The timed parts, each trial beside a reference measured in the same trial:
- the whole dashboard response (Django test client, DEBUG off: session, middleware, filters, every
  panel, the template) for a head-office manager and a branch manager, beside the notification bell
  (the floor: a logged-in request reading one count); its SQL statement count;
- each panel's `context(query, user)` (discovered at run time: panels added later are measured
  without edits), beside the bell;
- each headline figure (FIGURES, or this benchmark's own when FIGURES is missing) from kept cells,
  beside the same figure computed by a full scan of the source tables;
- the head-office manager's work queue, page 200 of every offered sort order (both directions),
  beside the bell.
"""

from __future__ import annotations

import importlib
import json
import statistics
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, Sum
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from bench.common import BENCH_AS_OF, BenchContext, make_book, sql, timed

PAGE_TARGET = 0.100
FIGURE_TARGET = 0.010
PAGE_TRIALS = 11
BELL = "the notification bell (floor)"
SCAN = "the same figure by a full scan (same trial)"
SOURCE = "bench-dashboard"
MONTHS = 14  # the 13 closed months and the current one


class CheckFailed(AssertionError):
    """A dashboard figure differs from its direct recomputation on the big book."""


# --- people ---------------------------------------------------------------------------------------


def _client(user) -> Client:
    # As behind the bank's proxy with DEBUG off: HTTPS (else SECURE_SSL_REDIRECT answers 301).
    client = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    return client


def _branch_manager():
    from loans.models import Branch, Role, User

    user, _ = User.objects.get_or_create(
        username="bench_branch_manager", defaults={"role": Role.MANAGER, "branch": Branch.objects.get(code="BN001")}
    )
    return user


def _busiest_officer():
    """An officer with many open cases (not the hot one: his loans sit in one branch)."""
    from loans.models import User

    row = sql(
        """SELECT l.responsible_officer_id FROM collections_app_collectioncase c
             JOIN loans_loan l ON l.id = c.loan_id
            WHERE c.is_open AND l.responsible_officer_id IS NOT NULL
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2"""
    )
    return User.objects.get(pk=row[-1][0])


# --- the data ----------------------------------------------------------------------------------------


def _months(today: date) -> list[date]:
    from dashboards.query import add_months

    current = today.replace(day=1)
    return [add_months(current, i - (MONTHS - 1)) for i in range(MONTHS)]


def _history_key(n_loans: int, today: date) -> str:
    book = sql("SELECT value FROM bench_meta WHERE key = 'book'")
    return json.dumps({"book": book[0][0] if book else None, "today": str(today), "months": MONTHS, "n": n_loans})


def _history_intact(key: str) -> bool:
    stored = sql("SELECT value FROM bench_meta WHERE key = 'dashboard_history'")
    if not stored:
        return False
    value = json.loads(stored[0][0])
    if value.get("key") != key:
        return False
    entries = sql("SELECT count(*) FROM ledger_ledgerentry WHERE source = %s", [SOURCE])[0][0]
    cases = sql("SELECT count(*) FROM collections_app_collectioncase")[0][0]
    closes = sql("SELECT count(*) FROM accountability_monthendclose")[0][0]
    return (entries, cases, closes) == (value["entries"], value["cases"], value["closes"])


RECOVERY_KINDS = [
    "cash_recovery",
    "guarantor_payment",
    "court_deduction",
    "fiscal_allocation",
    "government_property",
    "disposal_proceeds",
    "repayment_in_kind",
]


def _month_entries(month: date, index: int, today: date, approver_id: int) -> int:
    """One month of recoveries on the open cases (a tenth of them, a different tenth each month)."""
    from dashboards.query import month_end

    last = min(month_end(month), today)
    days = (last - month).days + 1
    kinds = "ARRAY[" + ",".join(f"'{k}'" for k in RECOVERY_KINDS) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH picked AS (
                SELECT c.id AS case_id, c.loan_id,
                       ({kinds})[1 + (c.id / 10 + %(i)s) %% 7] AS kind,
                       (100 + (c.id %% 50) * 20)::numeric(18,2) AS amount,
                       %(month)s::date + (c.id %% %(days)s)::int AS value_date,
                       c.id %% 97 AS r
                  FROM collections_app_collectioncase c
                 WHERE c.is_open AND c.id %% 10 = %(i)s %% 10
            )
            INSERT INTO ledger_ledgerentry (
                loan_id, case_id, kind, principal, interest_on_balance, interest_off_balance, amount, form,
                counts_as_recovery, value_date, recorded_on, recorded_at, recorded_by_id, source, note,
                approval, approved_by_id, approved_at, approval_reason)
            SELECT loan_id, case_id, kind,
                   CASE WHEN kind = 'disposal_proceeds' THEN 0 ELSE -amount END, 0, 0, amount,
                   CASE WHEN kind = 'repayment_in_kind' THEN 'in_kind'
                        WHEN kind = 'government_property' AND r %% 2 = 0 THEN 'in_kind' ELSE 'cash' END,
                   true, value_date,
                   CASE WHEN r = 1 AND value_date + 40 <= %(today)s THEN value_date + 40 ELSE value_date END,
                   now(), NULL, %(source)s, '',
                   CASE WHEN r = 0 THEN 'awaiting'
                        WHEN r = 1 AND value_date + 40 <= %(today)s THEN 'refused' ELSE 'not_needed' END,
                   CASE WHEN r = 1 AND value_date + 40 <= %(today)s THEN %(approver)s END,
                   CASE WHEN r = 1 AND value_date + 40 <= %(today)s THEN now() END,
                   CASE WHEN r = 1 AND value_date + 40 <= %(today)s THEN 'backdated' ELSE '' END
              FROM picked
            """,
            {"i": index, "month": month, "days": days, "today": today, "source": SOURCE, "approver": approver_id},
        )
        inserted = cursor.rowcount
        # The balances fall with the month's recoveries (every entry's signed changes, as the ledger's invariant).
        cursor.execute(
            """
            UPDATE loans_loan l SET outstanding_principal = l.outstanding_principal + d.p, updated_at = now()
              FROM (SELECT loan_id, sum(principal) AS p FROM ledger_ledgerentry
                     WHERE source = %s AND value_date BETWEEN %s AND %s AND principal <> 0 GROUP BY loan_id) d
             WHERE l.id = d.loan_id
            """,
            [SOURCE, month, last],
        )
        # Costs the bank bore (and some paid by third parties) on a twentieth of the open cases.
        cursor.execute(
            """
            INSERT INTO collections_app_casecost (
                case_id, kind, amount, incurred_on, borne_by, recoverable, recovered_amount,
                source_document, note, recorded_by_id, created_at)
            SELECT c.id,
                   (ARRAY['litigation','preservation','appraisal','auction','lawyer','travel','other'])[1 + c.id %% 7],
                   (50 + (c.id %% 40) * 25)::numeric(18,2), %(month)s::date + (c.id %% %(days)s)::int,
                   CASE WHEN c.id %% 5 = 0 THEN 'third_party' ELSE 'bank' END, true, 0, '', '', NULL, now()
              FROM collections_app_collectioncase c
             WHERE c.is_open AND c.id %% 20 = %(i)s %% 20
            """,
            {"i": index, "month": month, "days": days},
        )
        # Half of a third of last month's costs the bank bore came back this month.
        cursor.execute(
            """
            WITH repaid AS (
                INSERT INTO collections_app_costrepayment (cost_id, repaid_on, amount, recorded_by_id, created_at)
                SELECT k.id, %(month)s::date + (k.id %% %(days)s)::int, round(k.amount / 2, 2), NULL, now()
                  FROM collections_app_casecost k
                 WHERE k.borne_by = 'bank' AND k.id %% 3 = 0
                   AND k.incurred_on >= %(month)s::date - interval '1 month' AND k.incurred_on < %(month)s
                RETURNING cost_id, amount)
            UPDATE collections_app_casecost k SET recovered_amount = k.recovered_amount + r.amount
              FROM repaid r WHERE k.id = r.cost_id
            """,
            {"month": month, "days": days},
        )
    return inserted


def build_history(ctx: BenchContext, n_loans: int, today: date) -> bool:
    """Cases, 14 months of recoveries and costs, 13 month-end closes. True: built now (False: reused)."""
    from accountability.daily_checks.month_end_snapshot import check_month_end_snapshot
    from bench.bench_queue import _classify_if_needed
    from collections_app.services import cases_open_for_non_performing
    from dashboards.query import month_end

    key = _history_key(n_loans, today)
    if _history_intact(key):
        ctx.report("history ready (reused)", loans=n_loans)
        return False
    leftovers = sql("SELECT count(*) FROM ledger_ledgerentry WHERE source = %s", [SOURCE])[0][0]
    leftovers += sql("SELECT count(*) FROM accountability_monthendclose")[0][0]
    if leftovers:
        # A run that stopped half-way (or another benchmark's reset): start again from a fresh book.
        seconds, _ = timed(lambda: make_book(n_loans=n_loans, force=True))
        ctx.report("book rebuilt (the history was incomplete)", seconds=seconds)
        key = _history_key(n_loans, today)
    if _kept_triggers():
        # make_book empties the old book with TRUNCATE, which fires no row trigger: the kept cells
        # start from the new book, and the triggers keep them from here on.
        from dashboards.kept import rebuild

        seconds, _ = timed(rebuild)
        ctx.report("kept cells of the fresh book (before the history)", seconds=seconds)
    npl = _classify_if_needed()
    seconds, opened = timed(lambda: cases_open_for_non_performing(as_of=BENCH_AS_OF))
    sql("VACUUM ANALYZE collections_app_collectioncase")
    ctx.report("open a case for every non-performing loan (the set-based service)", seconds=seconds,
               non_performing=npl, opened=opened)  # fmt: skip
    approver = _branch_manager()
    entries, snapshot_s = 0, []
    history_s = 0.0
    for index, month in enumerate(_months(today)):
        seconds, n = timed(lambda month=month, index=index: _month_entries(month, index, today, approver.pk))
        history_s += seconds
        entries += n
        if month_end(month) < today:
            sql("ANALYZE loans_loan")
            sql("ANALYZE ledger_ledgerentry")
            seconds, _ = timed(lambda month=month: check_month_end_snapshot(as_of=month_end(month)))
            snapshot_s.append(seconds)
    sql("VACUUM ANALYZE")
    ctx.report(f"recoveries and costs over {MONTHS} months (SQL)", seconds=history_s, ledger_entries=entries)
    ctx.report("month-end closes (the service, each month)", seconds=sum(snapshot_s), closes=len(snapshot_s),
               median_close_s=round(statistics.median(snapshot_s), 2) if snapshot_s else None)  # fmt: skip
    value = {
        "key": key,
        "entries": sql("SELECT count(*) FROM ledger_ledgerentry WHERE source = %s", [SOURCE])[0][0],
        "cases": sql("SELECT count(*) FROM collections_app_collectioncase")[0][0],
        "closes": sql("SELECT count(*) FROM accountability_monthendclose")[0][0],
    }
    sql("DELETE FROM bench_meta WHERE key = 'dashboard_history'")
    sql("INSERT INTO bench_meta (key, value) VALUES ('dashboard_history', %s)", [json.dumps(value)])
    return True


# --- the kept cells against plain SQL over the source tables -------------------------------------------

# Each: the cell table, its key columns, its summed columns, and the same figures by plain SQL over the
# source tables (the definition of each kept figure, written apart from dashboards.kept).
_DIMS = "branch_id, officer_id, product, borrower_kind"
KEPT_DEFINITIONS: list[tuple[str, str, str, str]] = [
    (
        "dashboards_bookcell",
        _DIMS + ", five_level_class, four_level_class",
        "loans, outstanding_principal, interest_on_balance, interest_off_balance, specific_provision, "
        "written_off_loans",
        """SELECT l.branch_id, l.responsible_officer_id, l.product, b.kind, l.five_level_class, l.four_level_class,
                  count(*), sum(l.outstanding_principal), sum(l.interest_on_balance), sum(l.interest_off_balance),
                  sum(l.specific_provision), count(*) FILTER (WHERE l.written_off_on IS NOT NULL)
             FROM loans_loan l JOIN loans_borrower b ON b.id = l.borrower_id
            GROUP BY 1, 2, 3, 4, 5, 6""",
    ),
    (
        "dashboards_ledgercell",
        _DIMS + ", month, kind, form, counts_as_recovery, counting, after_write_off",
        "entries, amount, principal, interest_on_balance, interest_off_balance",
        """SELECT l.branch_id, l.responsible_officer_id, l.product, b.kind,
                  date_trunc('month', CASE WHEN e.approval = 'refused' THEN e.recorded_on ELSE e.value_date END)::date,
                  e.kind, e.form, e.counts_as_recovery, e.approval <> 'awaiting',
                  coalesce(l.written_off_on IS NOT NULL AND e.value_date >= l.written_off_on, false),
                  count(*), sum(e.amount), sum(e.principal), sum(e.interest_on_balance), sum(e.interest_off_balance)
             FROM ledger_ledgerentry e JOIN loans_loan l ON l.id = e.loan_id
             JOIN loans_borrower b ON b.id = l.borrower_id
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10""",
    ),
    (
        "dashboards_casecell",
        _DIMS + ", measure, is_open",
        "cases",
        """SELECT l.branch_id, l.responsible_officer_id, l.product, b.kind, c.measure, c.is_open, count(*)
             FROM collections_app_collectioncase c JOIN loans_loan l ON l.id = c.loan_id
             JOIN loans_borrower b ON b.id = l.borrower_id
            GROUP BY 1, 2, 3, 4, 5, 6""",
    ),
    (
        "dashboards_costcell",
        _DIMS + ", month, kind",
        "amount",
        """SELECT l.branch_id, l.responsible_officer_id, l.product, b.kind,
                  date_trunc('month', k.incurred_on)::date, 'borne', sum(k.amount)
             FROM collections_app_casecost k JOIN collections_app_collectioncase c ON c.id = k.case_id
             JOIN loans_loan l ON l.id = c.loan_id JOIN loans_borrower b ON b.id = l.borrower_id
            WHERE k.borne_by = 'bank'
            GROUP BY 1, 2, 3, 4, 5
           UNION ALL
           SELECT l.branch_id, l.responsible_officer_id, l.product, b.kind,
                  date_trunc('month', r.repaid_on)::date, 'repaid', sum(r.amount)
             FROM collections_app_costrepayment r JOIN collections_app_casecost k ON k.id = r.cost_id
             JOIN collections_app_collectioncase c ON c.id = k.case_id
             JOIN loans_loan l ON l.id = c.loan_id JOIN loans_borrower b ON b.id = l.borrower_id
            GROUP BY 1, 2, 3, 4, 5""",
    ),
    (
        "dashboards_limitationcell",
        _DIMS + ", grain, ends_on",
        "cases, principal",
        """SELECT l.branch_id, l.responsible_officer_id, l.product, b.kind, g.grain,
                  CASE g.grain WHEN 'month' THEN date_trunc('month', c.limitation_expires_on)::date
                               ELSE c.limitation_expires_on END,
                  count(*), sum(l.outstanding_principal)
             FROM collections_app_collectioncase c JOIN loans_loan l ON l.id = c.loan_id
             JOIN loans_borrower b ON b.id = l.borrower_id CROSS JOIN (VALUES ('month'), ('day')) AS g (grain)
            WHERE c.is_open AND c.limitation_expires_on IS NOT NULL
            GROUP BY 1, 2, 3, 4, 5, 6""",
    ),
]


def _rolled(
    table: str, keys: str, sums: str, definition: str, dims: tuple[str, ...] = ("branch_id",), name: str = "roll"
) -> tuple[str, str, str, str]:
    """A cell table's roll-up: the same definition summed per `dims` (the branch roll-up,
    dashboards.models._Roll; with ("branch_id", "officer_id") and "officerroll" the officer roll-up)."""
    own = keys.removeprefix(_DIMS + ", ")
    columns = ["branch_id", "officer_id", "product", "borrower_kind", *own.split(", "), *sums.split(", ")]
    n_keys = len(dims) + len(own.split(", "))
    group = ", ".join(str(i) for i in range(1, n_keys + 1))
    summed = ", ".join(f"sum({c})" for c in sums.split(", "))
    by = ", ".join(dims)
    return (
        table.replace("cell", name),
        f"{by}, " + own,
        sums,
        f"SELECT {by}, {own}, {summed} FROM ({definition}) AS d ({', '.join(columns)}) GROUP BY {group}",
    )


# Each cell table's branch roll-up, where the schema has them (migration 0004_dash_money_rollup), and
# the ledger's and the costs' officer roll-ups (migration 0006_officer_rollups).
_CELL_DEFINITIONS = list(KEPT_DEFINITIONS)
KEPT_DEFINITIONS += [_rolled(*d) for d in _CELL_DEFINITIONS]
KEPT_DEFINITIONS += [
    _rolled(*d, dims=("branch_id", "officer_id"), name="officerroll")
    for d in _CELL_DEFINITIONS
    if d[0] in ("dashboards_ledgercell", "dashboards_costcell")
]


def kept_differences() -> dict[str, dict[str, Any]]:
    """Per cell table: the cells whose summed figures differ from the plain SQL (both directions)."""
    out = {}
    tables = set(connection.introspection.table_names())
    for table, keys, sums, definition in KEPT_DEFINITIONS:
        if table not in tables:
            continue
        summed = ", ".join(f"sum({c})" for c in sums.split(", "))
        nonzero = " OR ".join(f"sum({c}) <> 0" for c in sums.split(", "))
        kept = f"SELECT {keys}, {summed} FROM {table} GROUP BY {keys} HAVING {nonzero}"
        rows = sql(
            f"""WITH kept AS ({kept}), defined AS ({definition}),
                     a AS (SELECT * FROM kept EXCEPT ALL SELECT * FROM defined),
                     b AS (SELECT * FROM defined EXCEPT ALL SELECT * FROM kept)
                SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), (SELECT count(*) FROM kept),
                       (SELECT json_agg(a) FROM (SELECT * FROM a LIMIT 3) a),
                       (SELECT json_agg(b) FROM (SELECT * FROM b LIMIT 3) b)"""
        )[0]
        out[table] = {"kept_only": rows[0], "source_only": rows[1], "cells": rows[2], "examples": [rows[3], rows[4]]}
    return out


def _kept_triggers() -> bool:
    """The kept cells are maintained by triggers (helper i13-kept) if a trigger function writes them."""
    return bool(sql("SELECT 1 FROM pg_proc WHERE prosrc ILIKE '%%dashboards_bookcell%%' LIMIT 1"))


# --- the headline figures: kept cells beside full scans ------------------------------------------------


def _npl_five() -> list[str]:
    from loans.classification import NON_PERFORMING_FIVE

    return [c.value for c in NON_PERFORMING_FIVE]


def _npl_four() -> list[str]:
    from loans.classification import FourLevel

    return [c.value for c in FourLevel if c != FourLevel.NORMAL]


def _loan_scope(query, prefix: str = "") -> Q:
    """The dashboard's filters on a source table reaching the loan through `prefix` (the scan's scope)."""
    q = Q()
    if query.branch is not None:
        q &= Q(**{f"{prefix}branch__path__startswith": query.branch.path})
    for officer in (query.officer_id, query.drill_officer_id):
        if officer is not None:
            q &= Q(**{f"{prefix}responsible_officer_id": officer})
    if query.product:
        q &= Q(**{f"{prefix}product": query.product})
    if query.borrower_kind:
        q &= Q(**{f"{prefix}borrower__kind": query.borrower_kind})
    return q


def _dec(value: Any) -> Decimal:
    return Decimal(value or 0)


def _kept(query, model, **where):
    """The kept cells (their branch roll-up where the dashboard reads it: DashboardQuery.kept)."""
    if hasattr(query, "kept"):
        return query.kept(model, **where)
    return query.cells(model.objects.filter(**where))


def own_figures() -> dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]]:
    """This benchmark's headline figures: name -> (from kept cells, by a full scan), each f(query)."""
    from collections_app.models import CaseCost, CollectionCase
    from dashboards.models import BookCell, CaseCell, CostCell, LedgerCell
    from ledger.models import LedgerEntry
    from loans.models import Loan

    def kept_book(**where):
        return lambda query: _dec(_kept(query, BookCell, **where).aggregate(s=Sum("outstanding_principal"))["s"])

    def scan_book(**where):
        return lambda query: _dec(
            Loan.objects.filter(_loan_scope(query), **where).aggregate(s=Sum("outstanding_principal"))["s"]
        )

    def recovered(since: Callable[[Any], date], form: str):
        def kept(query):
            cells = _kept(query, LedgerCell, counts_as_recovery=True, counting=True, form=form,
                          month__gte=since(query), month__lte=query.month)  # fmt: skip
            return _dec(cells.aggregate(s=Sum("amount"))["s"])

        def scan(query):
            from dashboards.query import month_end

            counted = Q(approval="refused", recorded_on__gte=since(query), recorded_on__lte=month_end(query.month))
            counted |= ~Q(approval="refused") & Q(value_date__gte=since(query), value_date__lte=month_end(query.month))
            entries = LedgerEntry.objects.filter(counted, _loan_scope(query, "loan__"), counts_as_recovery=True,
                                                 form=form).exclude(approval="awaiting")  # fmt: skip
            return _dec(entries.aggregate(s=Sum("amount"))["s"])

        return kept, scan

    def month(query):
        return query.month

    def year(query):
        return query.year_start

    def costs_kept(query):
        cells = _kept(query, CostCell, kind="borne", month__gte=query.year_start, month__lte=query.month)
        return _dec(cells.aggregate(s=Sum("amount"))["s"])

    def costs_scan(query):
        from dashboards.query import month_end

        costs = CaseCost.objects.filter(
            _loan_scope(query, "case__loan__"),
            borne_by="bank",
            incurred_on__gte=query.year_start,
            incurred_on__lte=month_end(query.month),
        )
        return _dec(costs.aggregate(s=Sum("amount"))["s"])

    def open_cases_kept(query):
        return _kept(query, CaseCell, is_open=True).aggregate(s=Sum("cases"))["s"] or 0

    def open_cases_scan(query):
        return CollectionCase.objects.filter(_loan_scope(query, "loan__"), is_open=True).aggregate(n=Count("id"))["n"]

    return {
        "outstanding principal": (kept_book(), scan_book()),
        "NPL balance, five-level": (kept_book(five_level_class__in=_npl_five()),
                                    scan_book(five_level_class__in=_npl_five())),
        "NPL balance, four-level": (kept_book(four_level_class__in=_npl_four()),
                                    scan_book(four_level_class__in=_npl_four())),
        "cash recovered this month": recovered(month, "cash"),
        "cash recovered this year": recovered(year, "cash"),
        "value taken in kind this year": recovered(year, "in_kind"),
        "costs borne this year": (costs_kept, costs_scan),
        "open cases": (open_cases_kept, open_cases_scan),
    }  # fmt: skip


def _recompute_for(recompute: Any, name: str) -> Callable[[Any], Any] | None:
    """The full-scan version of FIGURES[name] in dashboards.recompute: a registry dict, or a function
    of the same name."""
    for registry in ("RECOMPUTE", "SCANS", "FIGURES"):
        table = getattr(recompute, registry, None)
        if isinstance(table, dict) and name in table:
            return table[name]
    func = getattr(recompute, name, None)
    if callable(func):
        return func
    generic = getattr(recompute, "recompute", None)
    if callable(generic):
        return lambda query: generic(name, query)
    return None


def registered_figures() -> tuple[dict[str, tuple[Callable, Callable | None]], str]:
    """dashboards.figures.FIGURES with their scans from dashboards.recompute, if those modules exist."""
    try:
        figures = importlib.import_module("dashboards.figures")
    except ModuleNotFoundError as exc:
        if exc.name != "dashboards.figures":
            raise
        return {}, "dashboards.figures is not there yet: the benchmark's own headline figures only"
    registry = getattr(figures, "FIGURES", {})
    try:
        recompute = importlib.import_module("dashboards.recompute")
    except ModuleNotFoundError as exc:
        if exc.name != "dashboards.recompute":
            raise
        recompute = None
    out = {name: (func, _recompute_for(recompute, name) if recompute else None) for name, func in registry.items()}
    return out, f"dashboards.figures.FIGURES: {len(out)} figures"


def _same(a: Any, b: Any) -> bool:
    """Figures compare exactly (Decimal money, counts); containers element by element."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


# --- timing ---------------------------------------------------------------------------------------------


def count_queries(func: Callable[[], Any]) -> int:
    from bench.bench_pages import count_queries as counter

    return counter(func)


def _query_for(user, params: dict[str, str] | None = None):
    from dashboards.query import dashboard_query

    request = RequestFactory().get("/dashboard/", params or {})
    request.user = user
    return dashboard_query(request)[0]


def time_pages(ctx: BenchContext, clients: dict[str, Client], pages: list[tuple[str, str, str, dict]]) -> None:
    bell = reverse("notifications:bell")
    trials = max(ctx.trials, PAGE_TRIALS)
    for label, persona, url, params in pages:
        client = clients[persona]
        first = client.get(url, params)
        assert first.status_code == 200, f"{label}: {first.status_code}"
        queries = count_queries(lambda client=client, url=url, params=params: client.get(url, params))
        page_s, bell_s = [], []
        for _ in range(trials):
            bell_s.append(timed(lambda client=client: client.get(bell))[0])
            page_s.append(timed(lambda client=client, url=url, params=params: client.get(url, params))[0])
        ctx.report(label, seconds=page_s, references={BELL: bell_s}, target=f"< {PAGE_TARGET:.3f} s median",
                   queries=queries, bytes=len(first.content), met=statistics.median(page_s) < PAGE_TARGET)  # fmt: skip


def time_panels(ctx: BenchContext, personas: dict[str, Any], bell_client: Client) -> None:
    from dashboards.panels import panel_modules

    bell = reverse("notifications:bell")
    trials = max(ctx.trials, PAGE_TRIALS)
    for persona, user in personas.items():
        query = _query_for(user)
        for name, module in panel_modules():

            def panel(module=module, query=query, user=user):
                return module.context(query, user)

            panel()  # warm
            queries = count_queries(panel)
            panel_s, bell_s = [], []
            for _ in range(trials):
                bell_s.append(timed(lambda: bell_client.get(bell))[0])
                panel_s.append(timed(panel)[0])
            ctx.report(f"panel {name}: context(query, user), {persona}", seconds=panel_s,
                       references={BELL: bell_s}, queries=queries)  # fmt: skip


def check_and_time_figures(ctx: BenchContext, personas: dict[str, Any]) -> list[str]:
    """Every figure beside its full scan: equal (else listed as a failure), and timed in pairs."""
    failures: list[str] = []
    trials = max(ctx.trials, 5)
    registered, note = registered_figures()
    sets = [("FIGURES", registered), ("bench", own_figures())]
    for origin, figures in sets:
        for name, (kept, scan) in figures.items():
            for persona, user in personas.items():
                query = _query_for(user)
                value = kept(query)
                label = f"{'figure' if origin == 'FIGURES' else 'headline (bench)'} {name}, {persona}"
                if scan is None:
                    failures.append(f"{label}: no full-scan version in dashboards.recompute")
                    ctx.report(label, note="no scan to compare with", value=str(value))
                    continue
                expected = scan(query)
                if not _same(value, expected):
                    failures.append(f"{label}: kept {value!r} != scan {expected!r}")
                kept_s, scan_s = [], []
                for _ in range(trials):
                    scan_s.append(timed(lambda scan=scan, query=query: scan(query))[0])
                    kept_s.append(timed(lambda kept=kept, query=query: kept(query))[0])
                queries = count_queries(lambda kept=kept, query=query: kept(query))
                ctx.report(label, seconds=kept_s, references={SCAN: scan_s}, target=f"< {FIGURE_TARGET:.3f} s",
                           value=str(value)[:80], equal=_same(value, expected), queries=queries,
                           met=statistics.median(kept_s) < FIGURE_TARGET)  # fmt: skip
    ctx.report("figures registry", note=note)
    return failures


def queue_pages() -> list[tuple[str, str, str, dict]]:
    """Page 200 of the head-office manager's queue in every offered order, both directions (the
    same pages as bench_pages)."""
    from bench.bench_pages import queue_page_200

    return [(label, persona, url, params) for label, persona, url, params, _ in
            queue_page_200(reverse("collections_app:case_list"))]  # fmt: skip


# --- the run ------------------------------------------------------------------------------------------------


def run(ctx: BenchContext) -> None:
    from dashboards import kept as kept_module

    n = 100_000 if ctx.quick else 1_000_000
    today = timezone.localdate()
    build, book = timed(lambda: make_book(n_loans=n))
    ctx.report("book ready (built or reused)", seconds=build, loans=book["loans"])
    built = build_history(ctx, n, today)

    failures: list[str] = []
    current = False
    if _kept_triggers() or not built:
        # With the triggers, the cells must already be right; on reused data a rebuild is redone
        # only if the cells do not match (a rebuild of a million loans' cells takes minutes).
        seconds, before = timed(kept_differences)
        bad = {t: d for t, d in before.items() if d["kept_only"] or d["source_only"]}
        differing = {t: d["kept_only"] + d["source_only"] for t, d in before.items()}
        ctx.report(
            "kept cells as found == plain SQL over the sources",
            seconds=seconds,
            triggers=_kept_triggers(),
            differing=differing,
        )
        if _kept_triggers():
            failures += [f"{t} before rebuild: {d}" for t, d in bad.items()]
        current = not bad
    if built or not current:
        seconds, cells = timed(kept_module.rebuild)
        ctx.report("dashboards.kept.rebuild()", seconds=seconds, cells=cells)
        for table, *_ in KEPT_DEFINITIONS:
            if table in connection.introspection.table_names():
                sql(f"VACUUM ANALYZE {table}")
        seconds, after = timed(kept_differences)
        summary = {t: f"{d['cells']} cells, {d['kept_only'] + d['source_only']} differ" for t, d in after.items()}
        ctx.report("kept cells summed == plain SQL over the sources (after rebuild)", seconds=seconds, **summary)
        failures += [f"{t}: {d}" for t, d in after.items() if d["kept_only"] or d["source_only"]]

    ho, bm = book["manager"], _branch_manager()
    officer = _busiest_officer()
    personas = {"head office": ho, "branch manager": bm, "officer": officer}
    clients = {"ho": _client(ho), "bm": _client(bm), "officer": _client(officer)}

    # The page for each persona.
    dashboard = reverse("dashboard")
    time_pages(ctx, clients, [
        ("dashboard, head-office manager", "ho", dashboard, {}),
        ("dashboard, branch manager", "bm", dashboard, {}),
        ("dashboard, officer", "officer", dashboard, {}),
    ])  # fmt: skip
    time_panels(ctx, personas, clients["ho"])
    failures += check_and_time_figures(ctx, personas)

    # The work queue's deep pages for the head-office manager (issue 13's second target).
    time_pages(ctx, clients, queue_pages())
    ctx.report("open cases in the book", open_cases=sql("SELECT count(*) FROM collections_app_collectioncase "
                                                        "WHERE is_open")[0][0])  # fmt: skip
    if failures:
        for failure in failures:
            print("CHECK FAILED: " + failure, flush=True)
        raise CheckFailed(f"{len(failures)} dashboard figure(s) differ from their recomputation: {failures[:3]}")
