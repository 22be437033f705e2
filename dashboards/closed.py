"""Sums of closed months, read once per process (issue 13: the head-office dashboard under 100 ms).

A month-end close is taken once: check_month_end_snapshot creates the MonthEndClose claim and
writes the month's MonthEndSnapshot rows in the same transaction, and nothing changes them
afterwards (the admin shows them read-only; no service updates or deletes them). What a dashboard
sums from the snapshots is therefore the same on every view until another month is closed: at a
million loans the trend's thirteen months are about 23,000 rows, 9 ms of the page. The same holds
for the migration cells (dashboards.history.close_month writes them in the close's transaction).

`closed_rows(queryset)` keeps such a result in this process, keyed by the query's SQL and
parameters and by the state of the closes: the number of closes, the latest close's id and the
latest snapshot row's and migration cell's ids (ids only grow, so a new close or a new row gives a
new key; one read of three primary-key indexes per view, `state()`, once per request inside
`one_view()`). The database's name is in the key too. Only querysets of snapshot rows or migration
cells (their filters may narrow by branch, officer, product, kind and month; a UNION with the
closes themselves) may be given; anything that reads live tables must not be.

A process keeps at most MAX_ENTRIES results (the oldest go first); the first view after a close,
or in a new worker, reads the snapshots as before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from threading import Lock
from types import MappingProxyType
from typing import Any

from django.db import connection
from django.db.models import QuerySet

MAX_ENTRIES = 512

_MEMO: OrderedDict[tuple, tuple[MappingProxyType, ...]] = OrderedDict()
_LOCK = Lock()


_VIEW: ContextVar[dict[str, Any] | None] = ContextVar("dashboards_closed_view", default=None)


@contextmanager
def one_view() -> Iterator[None]:
    """Read the closes' state once for the panels of one request (the dashboard view)."""
    token = _VIEW.set({})
    try:
        yield
    finally:
        _VIEW.reset(token)


def state() -> tuple[Any, ...]:
    """(database name, number of closes, latest close id, latest snapshot row id, latest migration
    cell id)."""
    from accountability.models import MonthEndClose, MonthEndSnapshot
    from dashboards.models import MigrationCell

    view = _VIEW.get()
    if view is not None and "state" in view:
        return view["state"]
    tables = [m._meta.db_table for m in (MonthEndClose, MonthEndClose, MonthEndSnapshot, MigrationCell)]
    sql = "SELECT (SELECT count(*) FROM {}), " + ", ".join(["(SELECT max(id) FROM {})"] * 3)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(*tables))  # table names from the models
        found = (connection.settings_dict["NAME"], *cursor.fetchone())
    if view is not None:
        view["state"] = found
    return found


def closed_rows(queryset: QuerySet) -> tuple[MappingProxyType, ...]:
    """The rows of `queryset` (a `.values()` queryset over MonthEndSnapshot) as read once in this
    process for the closes as they stand (read-only mappings: every view shares them)."""
    from accountability.models import MonthEndSnapshot
    from dashboards.models import MigrationCell

    if queryset.model not in (MonthEndSnapshot, MigrationCell):
        raise ValueError(f"closed_rows reads what a close wrote, not {queryset.model.__name__}.")
    current = state()
    if current[1] == 0:  # no close: rows written without one (a test, a fixture) are not kept
        return tuple(MappingProxyType(r) for r in queryset)
    sql, params = queryset.query.sql_with_params()
    key = (current, sql, tuple(map(repr, params)))
    with _LOCK:
        found = _MEMO.get(key)
        if found is not None:
            _MEMO.move_to_end(key)
            return found
    rows = tuple(MappingProxyType(r) for r in queryset)
    with _LOCK:
        _MEMO[key] = rows
        while len(_MEMO) > MAX_ENTRIES:
            _MEMO.popitem(last=False)
    return rows


def forget() -> None:
    """Drop every kept result (tests)."""
    with _LOCK:
        _MEMO.clear()
