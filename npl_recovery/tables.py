"""Pagination of the django-tables2 lists, with the page size a query asks for kept in bounds, and
counts and deep pages that stay cheap at a million rows (EstimatedCountPaginator)."""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import EmptyPage, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django_tables2 import Table
from django_tables2.rows import BoundRows

DEFAULT_PER_PAGE = 25
# A larger page is a whole-book download by another door: exports are for that.
MAX_PER_PAGE = 100
MAX_PAGE = 10_000_000


def _page_size(raw: str | None, default: int) -> int:
    try:
        size = int(raw) if raw is not None else default
    except ValueError:
        return default
    return min(max(size, 1), MAX_PER_PAGE)


def _page_number(raw: str | None) -> int:
    try:
        number = int(raw) if raw is not None else 1
    except ValueError:
        return 1
    # Beyond this the database's OFFSET would overflow; no list is that long.
    return number if 1 <= number <= MAX_PAGE else 1


# Up to this many rows a list is counted exactly (a COUNT over at most this many + 1 rows); above
# it the count is the planner's estimate, shown as "about N".
EXACT_COUNT_UP_TO = 10_000


def _queryset(object_list: Any) -> QuerySet | None:
    """The queryset behind a list: itself, or the one under a django-tables2 table's rows."""
    if isinstance(object_list, QuerySet):
        return object_list
    if isinstance(object_list, BoundRows):
        data = getattr(object_list.data, "data", None)
        return data if isinstance(data, QuerySet) else None
    return None


# A page that starts this many rows or more into its list reads the page's primary keys first (the
# order's own index, an index-only scan where the visibility map allows), then those rows with their
# joins by primary key: the joins run for the page's 25 rows, not for the thousands an OFFSET skips
# (issue 13: page 200 of the head-office queue joined 5,000 cases to their loans and borrowers).
DEFERRED_JOIN_FROM = 500


def page_rows(queryset: QuerySet, start: int, stop: int) -> list:
    """`list(queryset[start:stop])`; far into the list, keys first, then the rows (same rows, same order)."""
    if start < DEFERRED_JOIN_FROM:
        return list(queryset[start:stop])
    ids = list(queryset.values_list("pk", flat=True)[start:stop])
    if not ids:
        return []
    by_pk = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
    return [by_pk[pk] for pk in ids if pk in by_pk]


def planner_estimate(queryset: QuerySet) -> int | None:
    """The rows PostgreSQL's planner expects `queryset` to return ("Plan Rows" of EXPLAIN), without
    running it; None on another database."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A paginator for lists that may hold a million rows.

    - The count is exact up to EXACT_COUNT_UP_TO rows (one COUNT over a LIMIT subquery, which stops
      there); above that it is the planner's estimate (`count_is_estimate`: the page says "about N").
      SQLite has no cheap estimate: it counts.
    - A page past the middle is read backwards: the reversed order (each offered order ends with
      the pk, so it is total), offset from the end, then flipped. The last page costs what the first
      does instead of an OFFSET over the whole list. With an estimated count, page numbers past the
      middle are counted from the end; the last page always holds the true last rows.
    """

    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = _queryset(self.object_list)
        if queryset is None:
            return super().count
        limit = EXACT_COUNT_UP_TO
        counted = queryset.order_by().values("pk")[: limit + 1].count()
        if counted <= limit:
            return counted
        estimate = planner_estimate(queryset)
        if estimate is None:
            return queryset.order_by().count()
        self.count_is_estimate = True
        return max(estimate, counted)

    def page(self, number: Any):
        number = self.validate_number(number)
        queryset = _queryset(self.object_list)
        if queryset is None or not queryset.ordered:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if number <= (self.num_pages + 1) // 2:
            if bottom < DEFERRED_JOIN_FROM:
                return super().page(number)
            rows = page_rows(queryset, bottom, top)
        else:
            rows = page_rows(queryset.reverse(), self.count - top, self.count - bottom)
            rows.reverse()
        if isinstance(self.object_list, BoundRows):
            rows = BoundRows(data=rows, table=self.object_list.table, pinned_data=self.object_list.pinned_data)
        return self._get_page(rows, number, self)


def paginate_table(
    request: HttpRequest,
    table: Table,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    paginator_class: type = EstimatedCountPaginator,
) -> Table:
    """django-tables2's RequestConfig: the sort order, page size and page from the query string.

    Sorting is by the table's sortable columns only; the page size is kept between 1 and
    MAX_PER_PAGE; a page that is not a number, or past the end, shows the first or the last page.
    """
    table.request = request
    # Only the table's own sortable columns: anything else is ignored, not handed to the ORM.
    orderable = {column.name for column in table.columns if column.orderable}
    order_by = [key for key in request.GET.getlist(table.prefixed_order_by_field) if key.lstrip("-") in orderable]
    if order_by:
        table.order_by = order_by
    # What Table.paginate does, without reading page 1 first.
    table.paginator = paginator_class(table.rows, _page_size(request.GET.get(table.prefixed_per_page_field), per_page))
    try:
        table.page = table.paginator.get_page(_page_number(request.GET.get(table.prefixed_page_field)))
    except EmptyPage:  # past the end of a paginator that does not count (LazyPaginator)
        table.page = table.paginator.page(1)
    return table
