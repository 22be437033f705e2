"""CSV exports written by PostgreSQL (issue 15): `COPY (the export's own SQL) TO STDOUT`.

The export's scoped, filtered queryset (`export_queryset`: the owner's `visible_to` and the list's
filters) is compiled by Django as always; each of its columns is then wrapped in the SQL that
gives the text `csv_cells` would write (loans/exporting.py): amounts with two decimals, dates as
YYYY-MM-DD, yes/no, labels in the job's language, names as `person_name` writes them, and text
that a spreadsheet would run as a formula prefixed with an apostrophe (the rule of
loans.importing.values.neutralise, as a regular expression built from its FORMULA_STARTS). The
rows then leave PostgreSQL already formatted, one COPY message per row: Python only adds the BOM,
the header rows (codes, and the Chinese names when asked) and the CRLF line ends of csv.writer,
so the file has the same bytes as the Python writer's (tests/imports/test_export_copy.py).

A spec with a column that has no SQL form (a computed column without `.sql`, a date-time, a float)
is written by Python as before (`copy_statement` returns None). SQLite always takes Python's path.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from typing import IO, Any

from django.db import connection
from django.db.models import F, QuerySet

from loans.importing.values import FORMULA_STARTS, neutralise

# Apostrophes (none or more) followed by a formula start: the `_guarded` test of values.py.
_GUARDED = "^'*[-" + "".join(c for c in FORMULA_STARTS if c != "-") + "]"

_INTEGERS = {
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
    "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField", "ForeignKey", "OneToOneField",
}  # fmt: skip
_TEXTS = {"CharField", "TextField", "SlugField", "EmailField", "FSMField"}
# An apostrophe, as an SQL literal.
QUOTE = "''''"


def _typed_sql(expr: str, field: Any, *, typed: bool = False) -> tuple[str, list[Any], bool] | None:
    """The text csv_cells writes for a value of this model field, as SQL (with `typed`: the value
    itself, a number, date or boolean as the workbook's cell holds it), and whether it is text
    (which may need neutralising); None if it has no SQL form."""
    kind = field.get_internal_type()
    if kind in _TEXTS:
        return expr, [], True
    if kind == "DecimalField":
        return (f"round({expr}, 2)" if typed else f"round({expr}, 2)::text"), [], False  # f"{value:.2f}"
    if kind in _INTEGERS:
        return (expr if typed else f"{expr}::text"), [], False
    if kind == "DateField":
        return (expr if typed else f"to_char({expr}, 'YYYY-MM-DD')"), [], False
    if kind == "BooleanField":
        return (expr if typed else f"CASE WHEN {expr} THEN 'yes' WHEN NOT {expr} THEN 'no' END"), [], False
    return None  # date-times (time zones), floats (repr): Python's path


def _select(spec: Any, queryset: QuerySet, as_of: date, *, typed: bool) -> tuple[str, list[Any]] | None:
    """The export's rows as one SELECT: each cell as CSV text, or with `typed` as its value (text
    neutralised either way); None when a column has no SQL form (or the database is not
    PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    aliases = {key: f"c{i}" for i, key in enumerate(spec.fields)}
    values = queryset.values(**{alias: F(key) for key, alias in aliases.items()})
    inner, inner_params = values.query.sql_with_params()
    cols = {key: f"export_rows.{alias}" for key, alias in aliases.items()}
    cells, cell_params, outer, outer_params = [], [], [], []
    for i, column in enumerate(spec.columns):
        if isinstance(column.value, str):
            field = values.query.annotations[aliases[column.value]].output_field
            typed_sql = _typed_sql(cols[column.value], field, typed=typed)
        elif hasattr(column.value, "sql"):
            expr, params = column.value.sql(cols, as_of)
            # Names and labels are text; a computed number (days past due) says so (`sql_number`).
            is_text = not getattr(column.value, "sql_number", False)
            typed_sql = (expr if is_text or typed else f"({expr})::text", params, is_text)
        else:
            typed_sql = None
        if typed_sql is None:
            return None
        expr, params, is_text = typed_sql
        cells.append(f"{expr} AS t{i}")
        cell_params += params
        if is_text:
            # Empty text and NULL alike an empty cell; formula-like text behind an apostrophe.
            outer.append(f"CASE WHEN t{i} ~ %s THEN {QUOTE} || t{i} ELSE NULLIF(t{i}, '') END")
            outer_params.append(_GUARDED)
        else:
            outer.append(f"t{i}")
    # OFFSET 0 keeps the cells' subquery apart: each computed cell is evaluated once, not once per
    # mention, and the rows keep the export's order.
    statement = (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(cells)} FROM ({inner}) AS export_rows OFFSET 0) AS cells"
    )
    return statement, [*outer_params, *cell_params, *inner_params]


def copy_statement(spec: Any, queryset: QuerySet, as_of: date) -> tuple[str, list[Any]] | None:
    """`COPY (...) TO STDOUT WITH (FORMAT csv)` for the export's rows, or None when a column has no
    SQL form (or the database is not PostgreSQL)."""
    select = _select(spec, queryset, as_of, typed=False)
    if select is None:
        return None
    return f"COPY ({select[0]}) TO STDOUT WITH (FORMAT csv)", select[1]


def select_statement(spec: Any, queryset: QuerySet, as_of: date) -> tuple[str, list[Any]] | None:
    """The export's rows with each cell as the workbook holds it (numbers, dates, booleans as
    themselves, text neutralised and empty text as no value), for write_xlsx_select; None as for
    copy_statement, and when two columns share a header (the writer keys a row by its headers)."""
    if len(set(spec.headers)) != len(spec.headers):
        return None
    return _select(spec, queryset, as_of, typed=True)


def header_bytes(headers: list[list[str]]) -> bytes:
    """The BOM and the header rows exactly as write_csv writes them."""
    text = io.StringIO()
    text.write("\ufeff")
    csv.writer(text).writerows([neutralise(h) for h in header] for header in headers)
    return text.getvalue().encode("utf-8")


def write_csv_copy(
    out: IO[bytes],
    headers: list[list[str]],
    statement: tuple[str, list[Any]],
    *,
    progress: Callable[[int], None] | None = None,
    every: int = 5000,
) -> int:
    """Stream the COPY into `out` (binary): the header rows, then each row PostgreSQL formatted,
    its line end made CRLF as csv.writer's. Returns the rows written; `progress(rows)` every
    `every` rows."""
    sql, params = statement
    out.write(header_bytes(headers))
    count = 0
    write = out.write
    crlf = b"\r\n"
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql, params) as copy:
        # One COPY message per row: the row's text and its "\n" (newlines inside a quoted cell
        # come before it, and stay as they are, as csv.writer leaves them).
        for row in copy:
            write(row[:-1])
            write(crlf)
            count += 1
            if progress is not None and count % every == 0:
                progress(count)
    return count


# Rows asked of the server at a time while the workbook is written: psycopg's chunked stream, which
# needs libpq 17 or later (psycopg-binary, pinned in requirements.txt, bundles libpq 18).
_STREAM_CHUNK = 5000


def _streamed(statement: tuple[str, list[Any]]) -> Iterator[tuple[Any, ...]]:
    sql, params = statement
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        yield from cursor.stream(sql, params, size=_STREAM_CHUNK)


def write_xlsx_select(
    path: str,
    headers: list[list[str]],
    statement: tuple[str, list[Any]],
    *,
    title: str = "Export",
    progress: Callable[[int], None] | None = None,
    every: int = 5000,
) -> int:
    """The workbook of select_statement's rows at `path`, through rustpy-xlsxwriter: PostgreSQL
    gives each cell its value (neutralised text, numbers, dates, booleans) and the rows go to the
    writer as they come (no Django row, no per-cell test in Python). The same cells as
    write_xlsx_rust over the spec's Python rows (tests/imports/test_export_copy.py). Returns the
    rows written; `progress(rows)` every `every` rows."""
    from loans.exporting import write_xlsx_rust

    def rows() -> Iterator[tuple[Any, ...]]:
        for count, row in enumerate(_streamed(statement), start=1):
            yield row
            if progress is not None and count % every == 0:
                progress(count)

    # Closed when the writer stops, even on an error: the stream's rest is let go of, and the
    # connection is free for the job's failure to be recorded.
    with closing(rows()) as stream:
        return write_xlsx_rust(path, headers, stream, title=title, ready=True)


def write_xlsx_export(
    path: str,
    spec: Any,
    queryset: QuerySet,
    headers: list[list[str]],
    as_of: date,
    *,
    progress: Callable[[int], None] | None = None,
    every: int = 5000,
) -> int:
    """The export's workbook at `path` (the export jobs, the command): from PostgreSQL's typed rows
    when every column has an SQL form (write_xlsx_select), else from the spec's Python rows. Given
    a path, not an open file: into a file object rustpy-xlsxwriter builds the whole zip in memory.
    Returns the rows written; `progress(rows)` every `every` rows."""
    from loans.exporting import write_xlsx_rust

    statement = select_statement(spec, queryset, as_of)
    if statement is not None:
        return write_xlsx_select(path, headers, statement, title=str(spec.title), progress=progress, every=every)

    def rows() -> Iterator[list[Any]]:
        for count, row in enumerate(spec.rows(queryset, as_of), start=1):
            yield row
            if progress is not None and count % every == 0:
                progress(count)

    return write_xlsx_rust(path, headers, rows(), title=str(spec.title))
