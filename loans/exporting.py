"""Exports of the book as CSV and XLSX, streamed.

An ExportSpec names its columns (header -> a value of the row) over a queryset that is always
scoped with `visible_to(user)`. Rows come from the database in chunks (`.iterator()`), and are
written one at a time: CSV straight into the HTTP response or a file, XLSX through openpyxl's
write-only mode (rows go to a temporary file; memory does not grow with the export).

Every text cell that a spreadsheet program would run as a formula (it starts with =, +, -, @,
or a tab or carriage return) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.apps import apps
from django.db.models import CharField, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from loans.classification import FIVE_LEVEL_LABELS, FOUR_LEVEL_LABELS, days_past_due
from loans.importing.columns import LOAN_COLUMNS
from loans.models import Loan
from loans.names import person_name
from loans.permissions import role_allows

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
CHUNK = 2000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate becomes plain text (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class ExportColumn:
    header: str
    # A key of the row dict (from .values()), or a function of the row and the as-of date.
    value: str | Callable[[dict[str, Any], date], Any]

    def cell(self, row: dict[str, Any], as_of: date) -> Any:
        return row[self.value] if isinstance(self.value, str) else self.value(row, as_of)

    @property
    def needs(self) -> tuple[str, ...]:
        """The row keys this column reads (a function declares them with `_reads`)."""
        return (self.value,) if isinstance(self.value, str) else self.value.reads


@dataclass(frozen=True)
class ExportSpec:
    name: str
    title: str
    columns: tuple[ExportColumn, ...]
    # The scoped queryset for a user, annotated and ordered; rows are read with .values(*fields).
    queryset: Callable[[Any], QuerySet]
    description: str = ""
    # The model's app must be installed (cases, recoveries and accountability live in other apps).
    model_label: str = "loans.Loan"

    @property
    def available(self) -> bool:
        return _model(self.model_label) is not None

    @property
    def fields(self) -> tuple[str, ...]:
        """What .values() reads: every key the columns need, once, in column order."""
        return tuple(dict.fromkeys(key for column in self.columns for key in column.needs))

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def rows(self, queryset: QuerySet, as_of: date) -> Iterator[list[Any]]:
        columns = self.columns
        for row in queryset.values(*self.fields).iterator(chunk_size=CHUNK):
            yield [c.cell(row, as_of) for c in columns]


# --- writers ------------------------------------------------------------------------------------


def csv_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


class _Line:
    """A file-like object for csv.writer that hands back each line it is given."""

    def write(self, value: str) -> str:
        return value


def csv_lines(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff"  # the BOM: spreadsheet programs then read the file as UTF-8
    yield writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        yield writer.writerow([csv_text(v) for v in row])


def write_csv(out: IO[str], headers: list[str], rows: Iterable[list[Any]]) -> int:
    count = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for line in csv_lines(headers, counted()):
        out.write(line)
    return count


def write_xlsx(out: IO[bytes], headers: list[str], rows: Iterable[list[Any]], *, title: str = "Export") -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    bold = Font(bold=True)
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(sheet, value=neutralise(h))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    date_cells: dict[int, WriteOnlyCell] = {}
    for row in rows:
        values = []
        for i, v in enumerate(row):
            if isinstance(v, date) and not isinstance(v, datetime):
                cell = date_cells.get(i)
                if cell is None:
                    cell = date_cells[i] = WriteOnlyCell(sheet)
                    cell.number_format = "yyyy-mm-dd"
                cell.value = v
                values.append(cell)
            elif isinstance(v, datetime):
                values.append(v.replace(tzinfo=None))
            else:
                values.append(neutralise(v))
        sheet.append(values)
        count += 1
    sheet.freeze_panes = "A2"
    workbook.save(out)
    return count


def export_response(spec: ExportSpec, queryset: QuerySet, *, fmt: str, as_of: date, filename: str) -> HttpResponse:
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_lines(spec.headers, spec.rows(queryset, as_of)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    # XLSX is a zip: it is built in a temporary file first, then streamed from there.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_xlsx(spool, spec.headers, spec.rows(queryset, as_of), title=spec.title)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)


def export_to_path(spec: ExportSpec, queryset: QuerySet, *, path: str, as_of: date) -> int:
    rows = spec.rows(queryset, as_of)
    if str(path).lower().endswith(".xlsx"):
        with open(path, "wb") as out:
            return write_xlsx(out, spec.headers, rows, title=spec.title)
    with open(path, "w", encoding="utf-8", newline="") as out:
        return write_csv(out, spec.headers, rows)


# --- the exports ----------------------------------------------------------------------------------


def _model(label: str) -> Any:
    try:
        return apps.get_model(label)
    except LookupError:
        return None


RowValue = Callable[[dict[str, Any], date], Any]


def _reads(*keys: str) -> Callable[[RowValue], RowValue]:
    """Declare the row keys a computed column reads, so the spec can select them."""

    def mark(func: RowValue) -> RowValue:
        func.reads = keys  # type: ignore[attr-defined]
        return func

    return mark


def _full_name(prefix: str) -> RowValue:
    first, last = f"{prefix}first_name", f"{prefix}last_name"

    @_reads(first, last)
    def value(row: dict[str, Any], as_of: date) -> str:
        return person_name(row[first] or "", row[last] or "")

    return value


def _label(key: str, labels: dict[str, str]) -> RowValue:
    @_reads(key)
    def value(row: dict[str, Any], as_of: date) -> str:
        return labels.get(row[key], row[key] or "")

    return value


def _choice_label(model_label: str, field: str, key: str) -> RowValue:
    labels: dict[str, str] = {}

    @_reads(key)
    def value(row: dict[str, Any], as_of: date) -> str:
        # The choices are read once per export, not once per cell.
        if not labels:
            model = _model(model_label)
            labels.update(dict(model._meta.get_field(field).flatchoices) if model else {})
        return str(labels.get(row[key], row[key] or ""))  # choice labels are lazy (translated)

    return value


@_reads("overdue_since")
def _days_past_due(row: dict[str, Any], as_of: date) -> int:
    return days_past_due(row["overdue_since"], as_of)


_FIVE = {k.value: v for k, v in FIVE_LEVEL_LABELS.items()}
_FOUR = {k.value: v for k, v in FOUR_LEVEL_LABELS.items()}

# Loans: the import columns first (an export can be imported again), then what the bank computes.
_LOAN_IMPORT_VALUES = {
    "loan_no": "loan_no",
    "borrower_name": "borrower__name",
    "borrower_id_no": "borrower__id_no",
    "borrower_kind": "borrower__kind",
    "branch_code": "branch__code",
    "officer_username": "responsible_officer__username",
    "product": "product",
    "principal": "principal",
    "outstanding_principal": "outstanding_principal",
    "interest_on_balance": "interest_on_balance",
    "interest_off_balance": "interest_off_balance",
    "disbursed_on": "disbursed_on",
    "maturity_on": "maturity_on",
    "overdue_since": "overdue_since",
    "business_ceased": "business_ceased",
    "government_directed": "government_directed",
}


def loans_queryset(user: Any) -> QuerySet:
    """Scoped loans with the measure of each loan's open collection case."""
    qs = Loan.objects.visible_to(user).order_by("loan_no")
    case_model = _model("collections_app.CollectionCase")
    if case_model is None:
        return qs.annotate(case_measure=Value("", output_field=CharField()))
    # One open case per loan (a partial unique index on loan_id serves this lookup).
    open_case = case_model.objects.filter(loan=OuterRef("pk"), is_open=True).values("measure")[:1]
    return qs.annotate(case_measure=Subquery(open_case))


LOANS_EXPORT = ExportSpec(
    name="loans",
    title="Loans",
    description="Every loan in your branches: the import columns, then days past due, both classes, "
    "the specific provision, the collection case's measure and the responsible officer's name.",
    columns=(
        *(ExportColumn(c.field, _LOAN_IMPORT_VALUES[c.field]) for c in LOAN_COLUMNS),
        ExportColumn("branch_name", "branch__name"),
        ExportColumn("responsible_officer", _full_name("responsible_officer__")),
        ExportColumn("days_past_due", _days_past_due),
        ExportColumn("five_level_class", _label("five_level_class", _FIVE)),
        ExportColumn("four_level_class", _label("four_level_class", _FOUR)),
        ExportColumn("specific_provision", "specific_provision"),
        ExportColumn("case_measure", _choice_label("collections_app.CollectionCase", "measure", "case_measure")),
    ),
    queryset=loans_queryset,
)


def cases_queryset(user: Any) -> QuerySet:
    case_model, recovery_model = _model("collections_app.CollectionCase"), _model("collections_app.Recovery")
    qs = case_model.objects.visible_to(user).order_by("id")
    if recovery_model is None:
        return qs.annotate(cash_recovered=Value(0), in_kind_recovered=Value(0))

    def total(form: str) -> Coalesce:
        sums = (
            recovery_model.objects.filter(case=OuterRef("pk"), form=form)
            .order_by()
            .values("case")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return Coalesce(Subquery(sums), Value(Decimal("0")), output_field=DecimalField(max_digits=18, decimal_places=2))

    # Money recovered and value taken in kind are kept apart in every figure.
    return qs.annotate(cash_recovered=total("cash"), in_kind_recovered=total("in_kind"))


CASES_EXPORT = ExportSpec(
    name="cases",
    title="Cases",
    description="Collection cases in your branches: measure, officer, time limit, and what was recovered "
    "in money and in kind.",
    model_label="collections_app.CollectionCase",
    columns=(
        ExportColumn("case_id", "id"),
        ExportColumn("loan_no", "loan__loan_no"),
        ExportColumn("borrower_name", "loan__borrower__name"),
        ExportColumn("branch_code", "branch__code"),
        ExportColumn("branch_name", "branch__name"),
        ExportColumn("measure", _choice_label("collections_app.CollectionCase", "measure", "measure")),
        ExportColumn("open", "is_open"),
        ExportColumn("officer_username", "officer__username"),
        ExportColumn("responsible_officer", _full_name("officer__")),
        ExportColumn("recovery_deadline", "recovery_deadline"),
        ExportColumn("opened_on", "opened_on"),
        ExportColumn("measure_since", "measure_since"),
        ExportColumn("ended_on", "ended_on"),
        ExportColumn("outstanding_principal", "loan__outstanding_principal"),
        ExportColumn("five_level_class", _label("loan__five_level_class", _FIVE)),
        ExportColumn("next_promise_due", "next_promise_due"),
        ExportColumn("limitation_expires_on", "limitation_expires_on"),
        ExportColumn("cash_recovered", "cash_recovered"),
        ExportColumn("value_recovered_in_kind", "in_kind_recovered"),
    ),
    queryset=cases_queryset,
)


def recoveries_queryset(user: Any) -> QuerySet:
    return _model("collections_app.Recovery").objects.visible_to(user).order_by("received_on", "id")


RECOVERIES_EXPORT = ExportSpec(
    name="recoveries",
    title="Recoveries",
    description="Every recovery in your branches, split into principal and interest; money and value in "
    "kind told apart by the form column.",
    model_label="collections_app.Recovery",
    columns=(
        ExportColumn("recovery_id", "id"),
        ExportColumn("case_id", "case_id"),
        ExportColumn("loan_no", "case__loan__loan_no"),
        ExportColumn("borrower_name", "case__loan__borrower__name"),
        ExportColumn("branch_code", "case__branch__code"),
        ExportColumn("received_on", "received_on"),
        ExportColumn("amount", "amount"),
        ExportColumn("form", _choice_label("collections_app.Recovery", "form", "form")),
        ExportColumn("paid_by", _choice_label("collections_app.Recovery", "paid_by", "paid_by")),
        ExportColumn("to_principal", "principal"),
        ExportColumn("to_interest_on_balance", "interest_on_balance"),
        ExportColumn("to_interest_off_balance", "interest_off_balance"),
        ExportColumn("note", "note"),
        ExportColumn("recorded_by", "recorded_by__username"),
    ),
    queryset=recoveries_queryset,
)


def accountability_queryset(user: Any) -> QuerySet:
    return _model("accountability.AccountabilityRecord").objects.visible_to(user).order_by("proposed_on", "id")


_RECORD = "accountability.AccountabilityRecord"
ACCOUNTABILITY_EXPORT = ExportSpec(
    name="accountability",
    title="Accountability",
    description="Sanctions and rewards of responsible officers: what was proposed, decided and closed.",
    model_label=_RECORD,
    columns=(
        ExportColumn("record_id", "id"),
        ExportColumn("proposed_on", "proposed_on"),
        ExportColumn("officer_username", "officer__username"),
        ExportColumn("officer_name", _full_name("officer__")),
        ExportColumn("branch_code", "branch__code"),
        ExportColumn("kind", _choice_label(_RECORD, "kind", "kind")),
        ExportColumn("type", _choice_label(_RECORD, "record_type", "record_type")),
        ExportColumn("state", _choice_label(_RECORD, "state", "state")),
        ExportColumn("why", _choice_label(_RECORD, "origin", "origin")),
        ExportColumn("loan_no", "loan__loan_no"),
        ExportColumn("case_id", "case_id"),
        ExportColumn("share_percent", "share"),
        ExportColumn("time_limit", "deadline"),
        ExportColumn("amount", "amount"),
        ExportColumn("cash_recovered", "cash_recovered"),
        ExportColumn("value_taken_in_kind", "in_kind_value"),
        ExportColumn("reason", "reason"),
        ExportColumn("decided_by", "decided_by__username"),
        ExportColumn("decided_at", "decided_at"),
        ExportColumn("decision_reason", "decision_reason"),
        ExportColumn("closed_at", "closed_at"),
    ),
    queryset=accountability_queryset,
)

EXPORTS: dict[str, ExportSpec] = {
    spec.name: spec for spec in (LOANS_EXPORT, CASES_EXPORT, RECOVERIES_EXPORT, ACCOUNTABILITY_EXPORT)
}


def available_exports() -> list[ExportSpec]:
    return [spec for spec in EXPORTS.values() if spec.available]


def can_export(user: Any) -> bool:
    return role_allows(user, "loans.export_loans")
