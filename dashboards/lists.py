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

from django.db.models import BooleanField, F, Func, QuerySet, Subquery
from django.urls import reverse

from dashboards.query import DashboardQuery
from dashboards.tables import MORE_CAP, Row
from loans.access import sees_subtree
from loans.models import Loan
from loans.names import person_name
from loans.permissions import is_officer

PAGE_ROWS = 10


class InArrayOf(Func):
    """`column IN (subquery)`, written for PostgreSQL as `column = ANY(ARRAY(subquery))`: the
    subquery runs once (an InitPlan) and the column's index is probed with its ids, whereas a
    semi-join lets the planner scan the whole table when the filter's other conditions are not
    selective (an officer's 2,500 loans against a window holding all 208,000 open cases: 15 ms
    instead of 150 ms)."""

    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple]:
        column, subquery = (compiler.compile(e) for e in self.get_source_expressions())
        return f"{column[0]} IN {subquery[0]}", (*column[1], *subquery[1])

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple]:
        column, subquery = (compiler.compile(e) for e in self.get_source_expressions())
        return f"{column[0]} = ANY(ARRAY{subquery[0]})", (*column[1], *subquery[1])


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
    officer_ids = {i for i in (query.officer_id, query.drill_officer_id) if i is not None}
    # An officer's own rows by his loans need no other scope: he answers for every loan whose
    # responsible officer he is (loans.access.answered_loan_ids), so `visible_to` would only add an
    # OR of subplans that keeps PostgreSQL from starting at his loans.
    own_loans = officer is None and officer_ids == {getattr(user, "pk", None)} and user.is_active
    # A manager's view of a subtree within his scope (query.rows narrows to it) needs no other
    # scope either: every row of it is his to see, and the OR of subplans costs more to plan than to run.
    if not own_loans and not sees_subtree(user, query.branch):
        queryset = queryset.visible_to(user)
    if officer is None and officer_ids:
        for officer_id in officer_ids:
            his_loans = Loan._base_manager.filter(responsible_officer_id=officer_id).order_by().values("id")
            queryset = queryset.filter(InArrayOf(F(loan), Subquery(his_loans)))
        query = query.with_(officer_id=None, drill_officer_id=None)
    return query.rows(queryset, branch=branch, loan=loan, officer=officer)


def page_of(queryset: QuerySet, for_export: bool) -> tuple[list, int]:
    """The rows to show and how many more the export has: every row for the export; else the
    first PAGE_ROWS (one query; a count, capped, only when there are more)."""
    if for_export:
        return list(queryset), 0
    rows = list(queryset[: PAGE_ROWS + 1])
    if len(rows) <= PAGE_ROWS:
        return rows, 0
    return rows[:PAGE_ROWS], count_more(queryset)


def capped_count(queryset: QuerySet) -> int:
    """How many rows `queryset` has, counted up to PAGE_ROWS + MORE_CAP + 1 (a LIMIT in a subquery:
    the count stops there)."""
    return queryset.order_by()[: PAGE_ROWS + MORE_CAP + 1].count()


def count_more(queryset: QuerySet) -> int:
    """The rows past the first PAGE_ROWS, up to MORE_CAP + 1 ("more than MORE_CAP")."""
    return capped_count(queryset) - PAGE_ROWS


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


def user_display_name(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """User.display_name from the columns (rows read with .values()): 张伟, "Wei Zhang", else the username."""
    return person_name(first_name or "", last_name or "") or (username or "")


def rows_of(items: Iterable[tuple[dict, str, dict[str, str]]]) -> list[Row]:
    return [Row(values=values, url=url, links=links) for values, url, links in items]
