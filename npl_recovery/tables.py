"""Pagination of the django-tables2 lists, with the page size a query asks for kept in bounds."""

from __future__ import annotations

from django.core.paginator import EmptyPage, Paginator
from django.http import HttpRequest
from django_tables2 import Table

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


def paginate_table(
    request: HttpRequest, table: Table, *, per_page: int = DEFAULT_PER_PAGE, paginator_class: type = Paginator
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
