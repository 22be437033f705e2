"""A hot query's SQL built once per process, run with new values (PostgreSQL).

Django builds and compiles a queryset on every call. For a query of a dozen subqueries that the
case page runs on every view (the entry conditions' facts, the timeline's union) building it costs
more than PostgreSQL takes to plan and run it: 6 ms of Python against 1.7 ms in the database at a
million loans. `CompiledQuery` builds the queryset once with sentinel values in place of the values
that change from call to call (a case's id), keeps its SQL and the positions of those values among
its parameters, and runs the same SQL with the real values.

The rows are what the queryset itself would return: on PostgreSQL Django converts none of these
columns (psycopg returns Decimal, bool and date as they are), which a test checks against the
queryset for every use. On SQLite (the demo), whose values Django does convert, the queryset runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# Values no real row has, one per name (ids are positive).
_SENTINEL_BASE = -7_349_218_400


class CompiledQuery:
    """`build(**values)` -> a values() or values_list() queryset; `names` the values that change."""

    def __init__(self, build: Callable[..., QuerySet], *names: str) -> None:
        self.build = build
        self.names = names
        self._compiled: dict[str, tuple[str, list[Any], list[tuple[int, str]], list[str]]] = {}

    def _compile(self, alias: str) -> tuple[str, list[Any], list[tuple[int, str]], list[str]]:
        sentinels = {name: _SENTINEL_BASE - i for i, name in enumerate(self.names)}
        qs = self.build(**sentinels).using(alias)
        sql, params = qs.query.sql_with_params()
        by_value = {v: k for k, v in sentinels.items()}
        slots = [(i, by_value[p]) for i, p in enumerate(params) if type(p) is int and p in by_value]
        missing = set(self.names) - {name for _, name in slots}
        if missing:
            raise ValueError(f"The query does not use {sorted(missing)} as a parameter.")
        query = qs.query
        # As django.db.models.query.ValuesIterable names the row's columns.
        if query.selected:
            columns = list(query.selected)
        else:
            columns = [*query.extra_select, *query.values_select, *query.annotation_select]
        return sql, list(params), slots, columns

    def sql(self, alias: str = "default", **values: Any) -> tuple[str, list[Any], list[str]]:
        """(the SQL, its parameters for `values`, the names of its columns)."""
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiled = self._compiled[alias] = self._compile(alias)
        sql, params, slots, columns = compiled
        params = list(params)
        for i, name in slots:
            params[i] = values[name]
        return sql, params, columns

    def dicts(self, alias: str = "default", **values: Any) -> list[dict[str, Any]]:
        """The rows as the values() queryset returns them."""
        if connections[alias].vendor != "postgresql":
            return list(self.build(**values).using(alias))
        sql, params, columns = self.sql(alias, **values)
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def tuples(self, alias: str = "default", *, suffix: str = "", extra: tuple = (), **values: Any) -> list[tuple]:
        """The rows as the values_list() queryset returns them; `suffix` (e.g. "LIMIT %s OFFSET %s")
        with `extra` parameters appended to the SQL (PostgreSQL only)."""
        sql, params, _columns = self.sql(alias, **values)
        with connections[alias].cursor() as cursor:
            cursor.execute(f"{sql} {suffix}" if suffix else sql, [*params, *extra])
            return [tuple(row) for row in cursor.fetchall()]

    def count(self, alias: str = "default", **values: Any) -> int:
        """How many rows the query returns (PostgreSQL only)."""
        sql, params, _columns = self.sql(alias, **values)
        with connections[alias].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS counted", params)
            return cursor.fetchone()[0]
