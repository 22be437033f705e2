"""What the dashboard's four lists share (deadlines, legal_deadlines, promises, flags).

A list reads the source rows through an index (no kept cells: each row links to its case or loan):
`narrowed` applies the user's scope (`visible_to`) and the dashboard's filters (`DashboardQuery.rows`,
the same narrowing as `DashboardQuery.cells` for kept cells): the branch subtree, the officer (an officer sees only
his own rows; a drill-down picks one officer), the loan's product and its borrower's kind.
The page shows the first `PAGE_ROWS` rows, most urgent first, and says how many more the export has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from dashboards.query import DashboardQuery
from dashboards.tables import Row
from loans.models import Loan
from loans.permissions import is_officer

PAGE_ROWS = 10


def narrowed(
    queryset: QuerySet, query: DashboardQuery, user: Any, *, branch: str, loan: str, officer: str | None = None
) -> QuerySet:
    """`queryset` (a scoped model's) within what `user` may see and the dashboard's filters.

    `branch` and `loan` are the lookups from the model to the row's branch and loan; `officer` the
    lookup to the officer the row belongs to (default: the loan's responsible officer, as the kept
    cells count it).

    An officer's rows by his loans are read as `loan IN (his loans)`: the loans index on the
    responsible officer gives his few thousand ids, instead of joining every row of the list's
    window to its loan to compare officers."""
    queryset = queryset.visible_to(user)
    officer_ids = {i for i in (query.officer_id, query.drill_officer_id) if i is not None}
    if officer is None and officer_ids:
        for officer_id in officer_ids:
            his_loans = Loan._base_manager.filter(responsible_officer_id=officer_id).values("id")
            queryset = queryset.filter(**{f"{loan}__in": his_loans})
        query = query.with_(officer_id=None, drill_officer_id=None)
    return query.rows(queryset, branch=branch, loan=loan, officer=officer)


def page_of(queryset: QuerySet, for_export: bool) -> tuple[list, int]:
    """The rows to show and how many more the export has: every row for the export; else the
    first PAGE_ROWS (one query; a count only when there are more)."""
    if for_export:
        return list(queryset), 0
    rows = list(queryset[: PAGE_ROWS + 1])
    if len(rows) <= PAGE_ROWS:
        return rows, 0
    return rows[:PAGE_ROWS], queryset.count() - PAGE_ROWS


def case_url(case_id: int) -> str:
    return reverse("collections_app:case_detail", args=[case_id])


def officer_links(query: DashboardQuery, user: Any) -> Callable[[int | None], dict[str, str]]:
    """The officer column's link to that officer's dashboard (a drill-down), for those who may
    drill down (not officers: they see only their own)."""
    if is_officer(user):
        return lambda officer_id: {}
    base = reverse("dashboard")
    return lambda officer_id: {"officer": base + query.querystring(officer=officer_id)} if officer_id else {}


def name_of(user: Any) -> str:
    return user.display_name if user is not None else ""


def rows_of(items: Iterable[tuple[dict, str, dict[str, str]]]) -> list[Row]:
    return [Row(values=values, url=url, links=links) for values, url, links in items]
