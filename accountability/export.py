"""CSV export of the board's records.

A plain streaming CSV response (no generic exporter existed in loans/ when this was written):
rows are streamed from the database in chunks, and every text cell that a spreadsheet would run
as a formula (=, +, -, @, tab, carriage return) is prefixed with a quote.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(*, header: list[str], rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # so spreadsheet programs read UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_safe(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


RECORD_COLUMNS = [
    ("No.", "id"),
    ("Proposed on", "proposed_on"),
    ("Officer", "officer__username"),
    ("Officer name", None),
    ("Branch", "branch__name"),
    ("Kind", "kind"),
    ("Type", "record_type"),
    ("State", "state"),
    ("Why", "origin"),
    ("Loan", "loan__loan_no"),
    ("Case", "case_id"),
    ("Share %", "share"),
    ("Time limit", "deadline"),
    ("Amount", "amount"),
    ("Cash recovered", "cash_recovered"),
    ("Value taken in kind", "in_kind_value"),
    ("Reason", "reason"),
    ("Decided by", "decided_by__username"),
    ("Decided at", "decided_at"),
    ("Decision reason", "decision_reason"),
    ("Closed at", "closed_at"),
]


def records_csv(queryset) -> StreamingHttpResponse:
    fields = [f for _, f in RECORD_COLUMNS if f]
    names = ["officer__first_name", "officer__last_name"]

    def rows() -> Iterator[list[Any]]:
        for values in queryset.values_list(*fields, *names).iterator(chunk_size=2000):
            data = dict(zip([*fields, *names], values, strict=True))
            full = f"{data['officer__first_name']} {data['officer__last_name']}".strip()
            yield [full if f is None else data[f] for _, f in RECORD_COLUMNS]

    return csv_response(header=[h for h, _ in RECORD_COLUMNS], rows=rows(), filename="accountability-records.csv")
