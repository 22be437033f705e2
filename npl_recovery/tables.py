"""Pagination of the django-tables2 lists, with the page size a query asks for kept in bounds."""

from __future__ import annotations

from django.http import HttpRequest
from django_tables2 import Table

DEFAULT_PER_PAGE = 25
# A larger page is a whole-book download by another door: exports are for that.
MAX_PER_PAGE = 100


def _page_size(raw: str | None, default: int) -> int:
    try:
        size = int(raw) if raw is not None else default
    except ValueError:
        return default
    return min(max(size, 1), MAX_PER_PAGE)


def paginate_table(request: HttpRequest, table: Table, *, per_page: int = DEFAULT_PER_PAGE) -> Table:
    """django-tables2's RequestConfig: the sort order, page size and page from the query string.

    The page size is kept between 1 and MAX_PER_PAGE; a page that is not a number or out of range
    shows the first or the last page.
    """
    table.request = request
    order_by = request.GET.getlist(table.prefixed_order_by_field)
    if order_by:
        table.order_by = order_by
    table.paginate(per_page=_page_size(request.GET.get(table.prefixed_per_page_field), per_page))
    table.page = table.paginator.get_page(request.GET.get(table.prefixed_page_field))
    return table
