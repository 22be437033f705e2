"""Dashboard tables: one shape for the page and for its XLSX export.

A panel builds a `DashTable` (columns with their kind, rows of values, a link per row) and registers
its builder under a name; the page renders it, and `/dashboard/export/<name>/` writes the same rows
to XLSX with the figures as numbers (money and counts as numbers, dates as dates), with the
dashboard's filters from the URL and the user's scope. Every export is audited.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dashboards.query import DashboardQuery

MONEY, COUNT, PERCENT, TEXT, DATE = "money", "count", "percent", "text", "date"
# A page counts the rows it leaves out up to MORE_CAP; past it, it says "more than MORE_CAP" (a count
# of every open case of a million-loan book would cost more than the rest of the table).
MORE_CAP = 1000


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # translated when the table is built
    kind: str = TEXT
    # For the page: sortable by the reader in the browser (the rows are few: a page of a table).
    sortable: bool = True


@dataclass
class Row:
    values: dict[str, Any]
    url: str = ""  # where the row leads: its branch, officer or case
    # Optional per-column links (e.g. the officer column to the officer's dashboard).
    links: dict[str, str] = field(default_factory=dict)


@dataclass
class DashTable:
    name: str  # the registry key: /dashboard/export/<name>/
    title: str
    columns: list[Column]
    rows: list[Row]
    empty: str = ""
    # Rows left out of the page (a page shows the first N); the export has them all. MORE_CAP + 1:
    # more than MORE_CAP (not counted further).
    more: int = 0

    @property
    def more_capped(self) -> bool:
        return self.more > MORE_CAP

    @property
    def more_cap(self) -> int:
        return MORE_CAP


TableBuilder = Callable[[DashboardQuery, Any, bool], DashTable]
TABLES: dict[str, TableBuilder] = {}


def register_table(name: str) -> Callable[[TableBuilder], TableBuilder]:
    """Register a table builder: builder(query, user, for_export) -> DashTable. `for_export` True
    asks for every row (the page may show the first ones only)."""

    def wrap(builder: TableBuilder) -> TableBuilder:
        TABLES[name] = builder
        return builder

    return wrap


def xlsx_bytes(table: DashTable) -> bytes:
    from loans.exporting import write_xlsx

    out = io.BytesIO()
    headers = [str(c.label) for c in table.columns]

    def values():
        for row in table.rows:
            cells = []
            for c in table.columns:
                v = row.values.get(c.key)
                if c.kind == PERCENT and v is not None:
                    v = Decimal(str(v))
                cells.append(v)
            yield cells

    write_xlsx(out, headers, values(), title=str(table.title))
    return out.getvalue()
