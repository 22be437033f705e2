"""Exports of the book as CSV and XLSX, streamed.

An ExportSpec names its columns (header -> a value of the row) over a queryset that is always
scoped with `visible_to(user)`. Rows come from the database in chunks (`.iterator()`), and are
written one at a time: CSV straight into the HTTP response or a file, XLSX through xlsxwriter's
constant-memory mode (rows go to a temporary file; memory does not grow with the export), or for
the large exports (jobs, the command) through rustpy-xlsxwriter's, about 5x faster (issue 15).

Small exports (at most NPL_EXPORT_SYNC_MAX_ROWS rows) are written while the page waits; larger ones
run on a Celery worker as an ExportJob (loans/export_jobs.py) whose file the owner downloads when it
is done, so no export meets gunicorn's timeout.

Header rows: the first row holds the column codes (the importer's names, so a loans export can be
imported again); with `chinese_row` a second row holds the Chinese names, as on the import
template (the importer skips that row). Pages add the Chinese row when the user works in Chinese,
or when asked (`?header=zh`); the command has `--language`.

Every text cell that a spreadsheet program would run as a formula (it starts with =, +, -, @,
or a tab or carriage return) gets a leading apostrophe: the rule is loans.importing.values
.neutralise, whose inverse the importer applies, so an export can be imported again unchanged.

Every export, however it is made (the export page, the loan list's and the board's buttons, the
admin, `manage.py export_loans`), goes through `export_record` first: one audit row with who, what,
the filters and the number of rows, and the per-user limit of NPL_EXPORTS_PER_HOUR (a person, not
the command line without --user). Bulk copies of personal data leave a trace and cannot be quick.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from itertools import islice
from operator import itemgetter
from typing import IO, Any

import xlsxwriter
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Count, DecimalField, Min, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, HttpResponse, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.models import AuditEvent
from audit.services import audit_record
from loans.classification import FIVE_LEVEL_LABELS, FOUR_LEVEL_LABELS, days_past_due
from loans.importing.columns import LOAN_COLUMNS
from loans.importing.values import neutralise
from loans.models import Loan, User
from loans.names import person_name
from loans.permissions import role_allows
from npl_recovery.errors import TooManyRequests

FORMATS = ("csv", "xlsx")
CHUNK = 2000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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

    def header_rows(self, *, chinese_row: bool = False) -> list[list[str]]:
        """The codes row, and with `chinese_row` the Chinese names below it."""
        rows = [self.headers]
        if chinese_row:
            rows.append([chinese_header(h) for h in self.headers])
        return rows

    def rows(self, queryset: QuerySet, as_of: date) -> Iterator[list[Any]]:
        # One getter per column, chosen once (not a type test per cell): a key's is itemgetter; a
        # computed column may `prepare` a faster function for this export (labels resolved once,
        # in the active language).
        getters = []
        for c in self.columns:
            if isinstance(c.value, str):
                getters.append(itemgetter(c.value))
            elif hasattr(c.value, "prepare"):
                getters.append(c.value.prepare(as_of))
            else:
                getters.append(partial(_call_with_as_of, c.value, as_of))
        for row in queryset.values(*self.fields).iterator(chunk_size=CHUNK):
            yield [get(row) for get in getters]


# --- writers ------------------------------------------------------------------------------------


def _call_with_as_of(func: Callable[[dict[str, Any], date], Any], as_of: date, row: dict[str, Any]) -> Any:
    return func(row, as_of)


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


# Text that may need an apostrophe starts with one of these (a formula start, or an apostrophe
# that guards one): other text is left as it is without calling neutralise.
_GUARD_FIRST = frozenset("=+-@\t\r'")


def _csv_str(value: str) -> str:
    return neutralise(value) if value and value[0] in _GUARD_FIRST else value  # type: ignore[return-value]


# csv_text by the value's exact type: one dict lookup per cell instead of a chain of isinstance.
_CSV_BY_TYPE: dict[type, Callable[[Any], Any]] = {
    str: _csv_str,
    Decimal: lambda v: f"{v:.2f}",
    int: lambda v: v,
    float: lambda v: v,
    date: date.isoformat,
    bool: lambda v: "yes" if v else "no",
    type(None): lambda v: "",
}


def csv_cells(row: list[Any]) -> list[Any]:
    """A row's cells as csv_text writes them (the same text; faster on the common types)."""
    by_type = _CSV_BY_TYPE
    return [(by_type.get(type(v)) or csv_text)(v) for v in row]


class _Line:
    """A file-like object for csv.writer that hands back each line it is given."""

    def write(self, value: str) -> str:
        return value


def _header_rows(headers: list[str] | list[list[str]]) -> list[list[str]]:
    return headers if headers and isinstance(headers[0], list) else [headers]  # type: ignore[list-item]


def csv_lines(headers: list[str] | list[list[str]], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff"  # the BOM: spreadsheet programs then read the file as UTF-8
    for header in _header_rows(headers):
        yield writer.writerow([neutralise(h) for h in header])
    for row in rows:
        yield writer.writerow(csv_cells(row))


def write_csv(out: IO[str], headers: list[str], rows: Iterable[list[Any]]) -> int:
    """The same bytes as csv_lines, written by csv.writer's own loop (writerows)."""
    count = 0

    def cells() -> Iterator[list[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield csv_cells(row)

    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerows([neutralise(h) for h in header] for header in _header_rows(headers))
    writer.writerows(cells())
    return count


# The number formats of the workbook (the cells themselves are numbers and dates, not text).
DATE_FORMAT = "yyyy-mm-dd"
STAMP_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Rows read ahead to tell which columns hold date-times (they get STAMP_FORMAT, the rest DATE_FORMAT).
_XLSX_LOOKAHEAD = 50
_XLSX_AS_IS = frozenset({Decimal, int, float, date, bool, type(None)})


def _xlsx_cell(v: Any) -> Any:
    """A cell as rustpy-xlsxwriter takes it: numbers, dates and booleans as they are (so they stay
    numbers and dates), text neutralised (never a formula), a date-time without its zone (as
    xlsxwriter's remove_timezone), anything else as its text."""
    kind = type(v)
    if kind is str:
        return neutralise(v) if v[:1] in _GUARD_FIRST else v
    if kind in _XLSX_AS_IS:
        return v
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, date | int | float | Decimal):
        return v
    return _xlsx_cell(str(v))


def write_xlsx_rust(
    out: IO[bytes] | str | os.PathLike,
    headers: list[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "Export",
    ready: bool = False,
) -> int:
    """The workbook through rustpy-xlsxwriter (Rust's rust_xlsxwriter), for the large exports (the
    export jobs, the command): issue 15, about 5x faster than xlsxwriter (bench_pages). Its sheets
    are in constant-memory mode: each row is written out as it comes, so memory does not grow.

    The codes row is the sheet's header (bold, frozen); a second header row (the Chinese names)
    is the first row under it, bold and frozen too. Numbers stay numbers, dates are dates shown as
    yyyy-mm-dd and date-times as yyyy-mm-dd hh:mm:ss; text is written as text (rust_xlsxwriter
    never reads a string as a formula) and neutralised as well. Headers that are not distinct
    (a row is given to it as a dict) and an export without rows go through xlsxwriter instead.
    Give it a path, not an open file, for a large export: into a file object it builds the whole
    zip in memory before writing it (measured: memory then grows with the file), into a path it
    streams.
    Every number is written as a double ("7.0"): a reader may hand back 7.0 where xlsxwriter's "7"
    gives 7, which is why the small exports (the pages' own, the dashboards') keep write_xlsx.
    With `ready` the rows' cells are already as the sheet holds them (numbers, dates, booleans,
    None, neutralised text: loans.export_copy.select_statement's rows) and are passed on as they
    are; a date-time there is not told apart."""
    import rustpy_xlsxwriter

    header_rows = _header_rows(headers)
    keys = [neutralise(str(h)) for h in header_rows[0]]
    if len(set(keys)) != len(keys):
        if ready:  # xlsxwriter would neutralise the text a second time
            raise ValueError("Rows with their cells ready need distinct headers.")
        if isinstance(out, str | os.PathLike):
            with open(out, "wb") as file:
                return write_xlsx(file, headers, rows, title=title)
        return write_xlsx(out, headers, rows, title=title)
    rows = iter(rows)
    ahead = [row if ready else [_xlsx_cell(v) for v in row] for row in islice(rows, _XLSX_LOOKAHEAD)]
    if not ahead:  # its header comes from the first row's keys: an empty sheet is xlsxwriter's
        if isinstance(out, str | os.PathLike):
            with open(out, "wb") as file:
                return write_xlsx(file, headers, [], title=title)
        return write_xlsx(out, headers, [], title=title)
    stamps = {c for row in ahead for c, v in enumerate(row) if type(v) is datetime}
    stamp = rustpy_xlsxwriter.Format().set_num_format(STAMP_FORMAT)
    bold = rustpy_xlsxwriter.Format().set_bold()
    count = 0
    as_is, guard, cell = _XLSX_AS_IS, _GUARD_FIRST, _xlsx_cell

    def records() -> Iterator[dict[str, Any]]:
        nonlocal count
        for extra in header_rows[1:]:
            yield dict(zip(keys, [neutralise(str(h)) for h in extra], strict=True))
        for row in ahead:
            count += 1
            yield dict(zip(keys, row, strict=True))
        if ready:
            for row in rows:
                count += 1
                yield dict(zip(keys, row, strict=True))
            return
        for row in rows:
            count += 1
            # _xlsx_cell inline for the common cells (no call for a number, a date or plain text).
            yield dict(
                zip(
                    keys,
                    [v if type(v) in as_is or type(v) is str and v[:1] not in guard else cell(v) for v in row],
                    strict=True,
                )
            )

    (
        rustpy_xlsxwriter.FastExcel(out, output_format="xlsx")
        .format(datetime_format=DATE_FORMAT, bold_headers=True)
        .freeze(row=len(header_rows))
        .sheet(
            str(title)[:31],
            records(),
            column_formats=[stamp if c in stamps else None for c in range(len(keys))],
            row_formats={r: bold for r in range(1, len(header_rows))},
        )
        .save()
    )
    return count


def write_xlsx(out: IO[bytes], headers: list[str], rows: Iterable[list[Any]], *, title: str = "Export") -> int:
    """The workbook through xlsxwriter in constant-memory mode: each row is written to a temporary
    file as it comes and only the zip is built at the end, so memory does not grow with the rows.

    Every value keeps its type (numbers and dates as numbers, formatted); text is never read as a
    formula or a link (`strings_to_formulas`/`strings_to_urls` off) and is neutralised as well."""
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
            "default_date_format": "yyyy-mm-dd",
        },
    )
    sheet = workbook.add_worksheet(str(title)[:31])
    bold = workbook.add_format({"bold": True})
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    header_rows = _header_rows(headers)
    sheet.freeze_panes(len(header_rows), 0)
    for r, header in enumerate(header_rows):
        sheet.write_row(r, 0, [neutralise(h) for h in header], bold)
    write_string, write_number, write_datetime = sheet.write_string, sheet.write_number, sheet.write_datetime
    write_boolean = sheet.write_boolean
    r = len(header_rows)
    for row in rows:
        for c, v in enumerate(row):
            # Dispatch on the exact type first (the common cases), then the subclasses.
            kind = type(v)
            if v is None:
                continue
            if kind is str:
                write_string(r, c, neutralise(v))
            elif kind is Decimal or kind is int or kind is float:
                write_number(r, c, v)
            elif kind is date:
                write_datetime(r, c, v)
            elif kind is bool:
                write_boolean(r, c, v)
            elif isinstance(v, datetime):
                write_datetime(r, c, v.replace(tzinfo=None), stamp)
            elif isinstance(v, date):
                write_datetime(r, c, v)
            elif isinstance(v, int | float | Decimal):
                write_number(r, c, v)
            else:
                write_string(r, c, neutralise(str(v)))
        r += 1
    workbook.close()
    return r - len(header_rows)


# --- who exported what ---------------------------------------------------------------------------

EXPORT_EVENT = "loans.exported"
# Query parameters that say how a list is shown, not which records are in it.
_NOT_FILTERS = frozenset({"export", "page", "per_page", "sort", "o", "officers"})


class ExportLimitReached(TooManyRequests):
    """The user has made NPL_EXPORTS_PER_HOUR exports in the last hour."""


def export_filters(query: QueryDict) -> dict[str, Any]:
    """The filters of a list as recorded with its export: the parameters that were given a value."""
    filters: dict[str, Any] = {}
    for key, values in query.lists():
        given = [v for v in values if v != ""]
        if key not in _NOT_FILTERS and given:
            filters[key] = given[0] if len(given) == 1 else given
    return filters


def _check_export_limit(actor: Any) -> None:
    limit = settings.NPL_EXPORTS_PER_HOUR
    now = timezone.now()
    recent = AuditEvent.objects.filter(actor=actor, event_type=EXPORT_EVENT, created_at__gt=now - timedelta(hours=1))
    summary = recent.aggregate(count=Count("id"), first=Min("created_at"))
    if summary["count"] < limit:
        return
    again = summary["first"] + timedelta(hours=1)
    message = ngettext(
        "You have made %(count)d export in the last hour; at most %(limit)d an hour are allowed. "
        "Try again after %(time)s.",
        "You have made %(count)d exports in the last hour; at most %(limit)d an hour are allowed. "
        "Try again after %(time)s.",
        summary["count"],
    ) % {"count": summary["count"], "limit": limit, "time": f"{timezone.localtime(again):%H:%M}"}
    raise ExportLimitReached(message, retry_after_seconds=(again - now).total_seconds())


def export_record(
    *, actor: Any, spec: ExportSpec, queryset: QuerySet, fmt: str, filters: dict[str, Any], via: str, **details: Any
) -> int:
    """Record an export about to be written (before its first row): who, what, filters and rows;
    refuse it (ExportLimitReached) when the actor has used up the hour's exports. `actor` None is
    the command line without --user, which has no limit. Returns the number of rows."""
    person = actor if getattr(actor, "pk", None) else None
    rows = queryset.count()
    with transaction.atomic():
        if person is not None:
            # One export decision per user at a time: two at once cannot both take the last one.
            User.objects.select_for_update().filter(pk=person.pk).exists()
            _check_export_limit(person)
        audit_record(
            actor=person,
            event_type=EXPORT_EVENT,
            subject=person,
            branch_id=getattr(person, "branch_id", None),
            new={"export": spec.name, "format": fmt, "filters": filters, "rows": rows, "via": via, **details},
        )
    return rows


def export_response(
    spec: ExportSpec,
    queryset: QuerySet,
    *,
    fmt: str,
    as_of: date,
    filename: str,
    actor: Any,
    filters: dict[str, Any],
    via: str,
    chinese_row: bool = False,
) -> HttpResponse:
    """The export as a download, recorded (and limited) first."""
    export_record(actor=actor, spec=spec, queryset=queryset, fmt=fmt, filters=filters, via=via)
    headers = spec.header_rows(chinese_row=chinese_row)
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_lines(headers, spec.rows(queryset, as_of)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    # XLSX is a zip: it is built in a temporary file first, then streamed from there.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_xlsx(spool, headers, spec.rows(queryset, as_of), title=str(spec.title))
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)


def export_to_path(
    spec: ExportSpec,
    queryset: QuerySet,
    *,
    path: str,
    as_of: date,
    actor: Any,
    filters: dict[str, Any] | None = None,
    chinese_row: bool = False,
) -> int:
    """The export written to a file (the command line), recorded first."""
    fmt = "xlsx" if str(path).lower().endswith(".xlsx") else "csv"
    export_record(
        actor=actor, spec=spec, queryset=queryset, fmt=fmt, filters=filters or {}, via="command", path=str(path)
    )
    headers = spec.header_rows(chinese_row=chinese_row)
    if str(path).lower().endswith(".xlsx"):
        from loans.export_copy import write_xlsx_export

        return write_xlsx_export(str(path), spec, queryset, headers, as_of)
    with open(path, "w", encoding="utf-8", newline="") as out:
        return write_csv(out, headers, spec.rows(queryset, as_of))


# The Chinese names of the export columns: the import columns' own (loans/importing/columns.py),
# then the columns only exports have. Words as in docs/GLOSSARY.md.
EXPORT_CHINESE = {
    "amount": "金额",
    "borrower_name": "借款人名称",
    "branch_code": "机构代码",
    "branch_name": "机构名称",
    "case_id": "案件编号",
    "case_measure": "清收措施",
    "cash_recovered": "现金收回",
    "closed_at": "结束时间",
    "days_past_due": "逾期天数",
    "decided_at": "决定时间",
    "decided_by": "决定人",
    "decision_reason": "决定理由",
    "ended_on": "结束日期",
    "five_level_class": "五级分类",
    "form": "收回方式",
    "four_level_class": "四级分类",
    "kind": "类别",
    "limitation_expires_on": "诉讼时效届满日",
    "loan_no": "贷款编号",
    "measure": "清收措施",
    "measure_since": "措施开始日期",
    "next_promise_due": "下次承诺还款日",
    "note": "备注",
    "officer_name": "责任人姓名",
    "officer_username": "责任人登录名",
    "open": "是否在办",
    "opened_on": "立案日期",
    "outstanding_principal": "本金余额",
    "paid_by": "还款人",
    "proposed_on": "提议日期",
    "reason": "理由",
    "received_on": "收回日期",
    "record_id": "记录编号",
    "recorded_by": "登记人",
    "recovery_deadline": "清收时限",
    "recovery_id": "收回编号",
    "share_percent": "责任比例(%)",
    "state": "状态",
    "time_limit": "时限",
    "to_interest_off_balance": "收回表外利息",
    "after_write_off": "核销后收回",
    "to_interest_on_balance": "收回表内利息",
    "to_principal": "收回本金",
    "type": "类型",
    "value_recovered_in_kind": "以物抵债金额",
    "value_taken_in_kind": "抵债资产价值",
    "costs_borne": "银行承担的清收费用",
    "costs_repaid": "债务人已偿还的清收费用",
    "net_recovery": "净收回",
    "why": "原因",
}


def chinese_header(code: str) -> str:
    from loans.importing.columns import COLLATERAL_COLUMNS, GUARANTEE_COLUMNS, LOAN_EXPORT_ONLY

    for column in (*LOAN_COLUMNS, *LOAN_EXPORT_ONLY, *GUARANTEE_COLUMNS, *COLLATERAL_COLUMNS):
        if column.field == code:
            return column.chinese
    return EXPORT_CHINESE.get(code, code)


def wants_chinese_row(request: Any) -> bool:
    """`?header=zh` asks for it, `?header=code` refuses it; else: when the user works in Chinese."""
    from django.utils import translation

    asked = request.GET.get("header")
    if asked in {"zh", "code"}:
        return asked == "zh"
    return translation.get_language() == "zh-hans"


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

    value.sql = partial(_person_name_sql, first, last)  # type: ignore[attr-defined]
    return value


def _label(key: str, labels: dict[str, str]) -> RowValue:
    @_reads(key)
    def value(row: dict[str, Any], as_of: date) -> str:
        return labels.get(row[key], row[key] or "")

    def prepare(as_of: date) -> Callable[[dict[str, Any]], str]:
        # The labels as text in the active language, once per export (not a lookup per cell).
        texts = {k: str(v) for k, v in labels.items()}
        return lambda row: texts.get(row[key]) or row[key] or ""

    value.prepare = prepare  # type: ignore[attr-defined]
    value.sql = lambda cols, as_of: _labels_sql(cols[key], {k: str(v) for k, v in labels.items()})  # type: ignore[attr-defined]
    return value


def _choice_label(model_label: str, field: str, key: str) -> RowValue:
    labels: dict[str, str] = {}

    @_reads(key)
    def value(row: dict[str, Any], as_of: date) -> str:
        # The choices are read once per export, not once per cell.
        if not labels:
            model = _model(model_label)
            labels.update(dict(model._meta.get_field(field).flatchoices) if model else {})
        # Labels may be lazy (translated): a cell takes the text in the active language.
        return str(labels.get(row[key], row[key] or ""))

    def prepare(as_of: date) -> Callable[[dict[str, Any]], str]:
        model = _model(model_label)
        texts = {k: str(v) for k, v in (model._meta.get_field(field).flatchoices if model else ())}
        return lambda row: texts.get(row[key]) or row[key] or ""

    def sql(cols: dict[str, str], as_of: date) -> tuple[str, list[Any]]:
        model = _model(model_label)
        texts = {k: str(v) for k, v in (model._meta.get_field(field).flatchoices if model else ())}
        return _labels_sql(cols[key], texts)

    value.prepare = prepare  # type: ignore[attr-defined]
    value.sql = sql  # type: ignore[attr-defined]
    return value


@_reads("overdue_since")
def _days_past_due(row: dict[str, Any], as_of: date) -> int:
    return days_past_due(row["overdue_since"], as_of)


def _days_past_due_prepare(as_of: date) -> Callable[[dict[str, Any]], int]:
    get = itemgetter("overdue_since")
    return lambda row: days_past_due(get(row), as_of)


_days_past_due.prepare = _days_past_due_prepare  # type: ignore[attr-defined]
# days_past_due in SQL: 0 without a date or for a date not yet past.
_days_past_due.sql = lambda cols, as_of: (  # type: ignore[attr-defined]
    f"COALESCE(GREATEST(0, %s::date - {cols['overdue_since']}), 0)",
    [as_of],
)
_days_past_due.sql_number = True  # type: ignore[attr-defined]


# The SQL forms of the computed columns, for the CSV written by PostgreSQL's COPY
# (loans/export_copy.py): each gives the same text as the Python function's cell.


def _labels_sql(expr: str, texts: dict[str, str]) -> tuple[str, list[Any]]:
    """`texts.get(key) or key or ""`: a CASE over the labels (in the active language)."""
    pairs = [(k, t) for k, t in texts.items() if t]
    if not pairs:
        return expr, []
    whens = " ".join("WHEN %s THEN %s" for _ in pairs)
    return f"CASE {expr} {whens} ELSE {expr} END", [v for pair in pairs for v in pair]


def _person_name_sql(first: str, last: str, cols: dict[str, str], as_of: date) -> tuple[str, list[Any]]:
    """loans.names.person_name: family name first without a space for CJK names, else "First Last"."""
    from loans.names import _FAMILY_NAME_FIRST

    strip = "regexp_replace(COALESCE({}, ''), '^[[:space:]]+|[[:space:]]+$', '', 'g')"
    f, la = strip.format(cols[first]), strip.format(cols[last])
    return (
        f"CASE WHEN ({f} || {la}) ~ %s THEN {la} || {f} ELSE concat_ws(' ', NULLIF({f}, ''), NULLIF({la}, '')) END",
        [_FAMILY_NAME_FIRST.pattern],
    )


_FIVE = {k.value: v for k, v in FIVE_LEVEL_LABELS.items()}
_FOUR = {k.value: v for k, v in FOUR_LEVEL_LABELS.items()}

# Loans: the import columns first (an export can be imported again), then what the bank computes.
LOAN_IMPORT_VALUES = {
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
    title=_("Loans"),
    description=_(
        "Every loan in your branches: the import columns, then days past due, both classes, "
        "the specific provision, the collection case's measure and the responsible officer's name."
    ),
    columns=(
        *(ExportColumn(c.field, LOAN_IMPORT_VALUES[c.field]) for c in LOAN_COLUMNS),
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
    case_model, entry_model = _model("collections_app.CollectionCase"), _model("ledger.LedgerEntry")
    qs = case_model.objects.visible_to(user).order_by("id")
    if entry_model is None:
        return qs.annotate(cash_recovered=Value(0), in_kind_recovered=Value(0))

    def total(form: str) -> Coalesce:
        # The ledger's entries of the case that count as recovery (issue 11): money and in kind apart.
        sums = (
            entry_model.objects.filter(case=OuterRef("pk"), counts_as_recovery=True, form=form)
            .order_by()
            .values("case")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return Coalesce(Subquery(sums), Value(Decimal("0")), output_field=DecimalField(max_digits=18, decimal_places=2))

    # Money recovered and value taken in kind are kept apart in every figure.
    qs = qs.annotate(cash_recovered=total("cash"), in_kind_recovered=total("in_kind"))
    cost_model = _model("collections_app.CaseCost")
    if cost_model is None:
        return qs.annotate(costs_borne=Value(Decimal("0")), costs_repaid=Value(Decimal("0")))

    def costs(field: str) -> Coalesce:
        sums = (
            cost_model.objects.filter(case=OuterRef("pk"), borne_by="bank")
            .order_by()
            .values("case")
            .annotate(total=Sum(field))
            .values("total")
        )
        return Coalesce(Subquery(sums), Value(Decimal("0")), output_field=DecimalField(max_digits=18, decimal_places=2))

    # The collection costs the bank bore, and what the debtor paid back of them.
    return qs.annotate(costs_borne=costs("amount"), costs_repaid=costs("recovered_amount"))


@_reads("cash_recovered", "costs_borne", "costs_repaid")
def _net_recovery(row: dict[str, Any], as_of: date) -> Decimal:
    from collections_app.case_rules import net_recovery  # the one rule; collections_app builds on loans

    return net_recovery(
        cash_recovered=row["cash_recovered"], costs_borne=row["costs_borne"], costs_repaid=row["costs_repaid"]
    )


CASES_EXPORT = ExportSpec(
    name="cases",
    title=_("Cases"),
    description=_(
        "Collection cases in your branches: measure, officer, time limit, what was recovered in money and in "
        "kind, the collection costs the bank bore and net recovery."
    ),
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
        ExportColumn("costs_borne", "costs_borne"),
        ExportColumn("costs_repaid", "costs_repaid"),
        ExportColumn("net_recovery", _net_recovery),
    ),
    queryset=cases_queryset,
)


def recoveries_queryset(user: Any) -> QuerySet:
    return _model("collections_app.Recovery").objects.visible_to(user).order_by("received_on", "id")


RECOVERIES_EXPORT = ExportSpec(
    name="recoveries",
    title=_("Recoveries"),
    description=_(
        "Every recovery in your branches, split into principal and interest; money and value in "
        "kind told apart by the form column."
    ),
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
        # 账销案存: recovered from a written-off loan's kept claim.
        ExportColumn("after_write_off", "after_write_off"),
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
    title=_("Accountability"),
    description=_("Sanctions and rewards of responsible officers: what was proposed, decided and closed."),
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


def export_queryset(spec: ExportSpec, user: Any, query: QueryDict | None = None) -> QuerySet:
    """The rows of an export for a user: the spec's scoped queryset, and for the loans the loan
    list's filters from `query`, so its Export buttons export what the list shows. The one place
    both the page (small exports) and the worker (export jobs) choose the rows."""
    queryset = spec.queryset(user)
    if spec.name == "loans":
        from loans.filters import LoanFilter

        queryset = LoanFilter(query or None, queryset=queryset, user=user).qs
    return queryset


def export_rows_at_most(queryset: QuerySet, limit: int) -> int:
    """The number of rows, counted no further than limit + 1 (a bounded count: cheap at any size)."""
    return queryset.order_by().values("pk")[: limit + 1].count()


def available_exports() -> list[ExportSpec]:
    return [spec for spec in EXPORTS.values() if spec.available]


def can_export(user: Any) -> bool:
    return role_allows(user, "loans.export_loans")
