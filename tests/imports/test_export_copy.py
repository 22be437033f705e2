"""Issue 15: a CSV export job is written by PostgreSQL (COPY of the export's own SQL), with the same
bytes as the Python writer: scope, filters, neutralised formulas, labels, names and header rows."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone, translation

from collections_app.services import cases_open_for_non_performing
from loans.export_copy import copy_statement, select_statement, write_csv_copy, write_xlsx_select
from loans.export_jobs import export_job_claim, export_job_create, export_job_run
from loans.exporting import EXPORTS, LOANS_EXPORT, ExportSpec, export_queryset, write_csv, write_xlsx_rust
from loans.models import Loan
from loans.services import loans_reclassify
from tests.factories import BorrowerFactory, LoanFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

AS_OF = date(2026, 6, 30)
NASTY = [
    '=HYPERLINK("http://evil","x")',
    "'=already guarded",
    "-2+3",
    "+cmd",
    "@SUM(A1)",
    "\tx",
    "plain, with a comma",
    'a "quoted" word',
    "two\nlines",
    "'apostrophe kept",
    "",
    "张伟",
    "\\.",
]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def nasty_book(branch, other_branch):
    officers = [
        UserFactory(first_name="伟", last_name="张", branch=branch),
        UserFactory(first_name=" Wei ", last_name="Zhang", branch=branch),
        UserFactory(first_name="", last_name="=Solo", branch=branch),
    ]
    for i, text in enumerate(NASTY):
        LoanFactory(
            loan_no=f"RIV-{i:03d}",
            branch=branch,
            borrower=BorrowerFactory(name=text or "x", id_no=f"ID-{i}"),
            product=text,
            responsible_officer=officers[i % 3] if i % 4 else None,
            outstanding_principal=Decimal("1234.50") + i * Decimal("3000.25"),
            overdue_since=None if i % 3 == 0 else date(2026, 1, 1 + i),
            business_ceased=bool(i % 2),
        )
    LoanFactory(loan_no="HIL-000", branch=other_branch)
    loans_reclassify(as_of=AS_OF)
    cases_open_for_non_performing(as_of=AS_OF)
    return officers


def _python_bytes(spec: ExportSpec, queryset, chinese_row: bool) -> bytes:
    text = io.StringIO(newline="")
    write_csv(text, spec.header_rows(chinese_row=chinese_row), spec.rows(queryset, AS_OF))
    return text.getvalue().encode("utf-8")


def _copy_bytes(spec: ExportSpec, queryset, chinese_row: bool) -> bytes:
    statement = copy_statement(spec, queryset, AS_OF)
    assert statement is not None, f"{spec.name}: every column has an SQL form"
    out = io.BytesIO()
    write_csv_copy(out, spec.header_rows(chinese_row=chinese_row), statement)
    return out.getvalue()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("chinese_row", [False, True])
def test_the_copy_writes_the_same_bytes_as_python(nasty_book, manager, language, chinese_row):
    with translation.override(language):
        queryset = export_queryset(LOANS_EXPORT, manager, None)
        python, copied = (
            _python_bytes(LOANS_EXPORT, queryset, chinese_row),
            _copy_bytes(LOANS_EXPORT, queryset, chinese_row),
        )
    assert copied == python
    rows = list(csv.reader(io.StringIO(copied.decode("utf-8-sig"))))
    assert len(rows) == len(NASTY) + 1 + chinese_row  # Riverside's loans only
    names = {r[1] for r in rows[1 + chinese_row :]}
    assert "'" + NASTY[0] in names and "''=already guarded" in names and "two\nlines" in names


def test_the_filters_of_the_list_and_the_cases_export(nasty_book, manager):
    queryset = export_queryset(LOANS_EXPORT, manager, QueryDict("q=RIV-00"))
    assert _copy_bytes(LOANS_EXPORT, queryset, False) == _python_bytes(LOANS_EXPORT, queryset, False)
    recoveries = EXPORTS["recoveries"]
    queryset = export_queryset(recoveries, manager, None)
    assert _copy_bytes(recoveries, queryset, True) == _python_bytes(recoveries, queryset, True)


@pytest.mark.parametrize(
    "name",
    [
        "accountability",  # decided_at, closed_at: date-times (time zones)
        "cases",  # net recovery: a rule of collections_app.case_rules, not written twice in SQL
    ],
)
def test_a_spec_with_a_column_without_sql_stays_in_python(nasty_book, manager, name):
    spec = EXPORTS[name]
    assert copy_statement(spec, export_queryset(spec, manager, None), AS_OF) is None


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_job_is_written_from_sql(nasty_book, manager, media, monkeypatch, fmt):
    """The CSV by COPY, the workbook from PostgreSQL's typed rows: neither builds the spec's rows."""

    def not_python(*args, **kwargs):
        raise AssertionError(f"the {fmt} job should not build rows in Python")

    monkeypatch.setattr(ExportSpec, "rows", not_python)
    job = export_job_create(
        actor=manager, spec=LOANS_EXPORT, fmt=fmt, query=None, chinese_row=True, as_of=timezone.localdate()
    )
    job = export_job_run(job=export_job_claim(job_id=job.pk))
    assert job.status == "done", job.message
    assert job.rows_written == Loan.objects.filter(branch=manager.branch).count() == len(NASTY)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(job.file.read().decode("utf-8-sig"))))
    else:
        import python_calamine

        rows = python_calamine.CalamineWorkbook.from_filelike(job.file.open("rb")).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "loan_no" and rows[1][0] == "贷款编号" and len(rows) == 2 + len(NASTY)


def _cells(path) -> list[list]:
    import python_calamine

    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("chinese_row", [False, True])
@pytest.mark.parametrize("name", ["loans", "recoveries"])
def test_the_workbook_from_sql_has_the_same_cells_as_python(nasty_book, manager, tmp_path, language, chinese_row, name):
    spec = EXPORTS[name]
    with translation.override(language):
        queryset = export_queryset(spec, manager, None)
        headers = spec.header_rows(chinese_row=chinese_row)
        statement = select_statement(spec, queryset, AS_OF)
        assert statement is not None, f"{spec.name}: every column has an SQL form"
        write_xlsx_rust(tmp_path / "python.xlsx", headers, spec.rows(queryset, AS_OF), title=str(spec.title))
        assert write_xlsx_select(str(tmp_path / "sql.xlsx"), headers, statement, title=str(spec.title)) == len(
            list(spec.rows(queryset, AS_OF))
        )
    python, sql = _cells(tmp_path / "python.xlsx"), _cells(tmp_path / "sql.xlsx")
    assert sql == python
    assert sql[: 1 + chinese_row] == headers


def test_the_workbook_from_sql_keeps_numbers_dates_and_guarded_text(nasty_book, manager, tmp_path):
    queryset = export_queryset(LOANS_EXPORT, manager, None).order_by("loan_no")
    statement = select_statement(LOANS_EXPORT, queryset, AS_OF)
    write_xlsx_select(str(tmp_path / "sql.xlsx"), LOANS_EXPORT.header_rows(), statement)
    head, *rows = _cells(tmp_path / "sql.xlsx")
    assert len(rows) == len(NASTY)
    first = dict(zip(head, rows[1], strict=True))  # RIV-001: overdue since 2026-01-02
    assert first["loan_no"] == "RIV-001"
    assert first["outstanding_principal"] == 4234.75  # a number, not the text "4234.75"
    assert first["overdue_since"] == date(2026, 1, 2)
    assert first["days_past_due"] == (AS_OF - date(2026, 1, 2)).days
    assert first["business_ceased"] is True
    names = [dict(zip(head, r, strict=True))["borrower_name"] for r in rows]
    assert names[0] == "'" + NASTY[0] and names[1] == "''=already guarded" and names[2] == "'-2+3"


def test_the_command_writes_the_workbook_from_sql(nasty_book, manager, tmp_path, monkeypatch):
    from loans.exporting import export_to_path

    def not_python(*args, **kwargs):
        raise AssertionError("a workbook with SQL forms should not be built from Python rows")

    monkeypatch.setattr(ExportSpec, "rows", not_python)
    queryset = export_queryset(LOANS_EXPORT, manager, None)
    path = tmp_path / "book.xlsx"
    written = export_to_path(LOANS_EXPORT, queryset, path=str(path), as_of=AS_OF, actor=manager)
    assert written == len(NASTY) and len(_cells(path)) == 1 + len(NASTY)


def test_a_workbook_that_fails_midway_fails_its_job_and_frees_the_connection(nasty_book, manager, media, monkeypatch):
    import loans.exporting

    def failing_writer(path, headers, rows, **kwargs):
        for i, _row in enumerate(rows):
            if i == 3:
                raise OSError("disk full")
        raise AssertionError("the writer should have stopped at its fourth row")

    monkeypatch.setattr(loans.exporting, "write_xlsx_rust", failing_writer)
    job = export_job_create(
        actor=manager, spec=LOANS_EXPORT, fmt="xlsx", query=None, chinese_row=False, as_of=timezone.localdate()
    )
    job = export_job_run(job=export_job_claim(job_id=job.pk))
    assert job.status == "failed" and "disk full" in job.message
    assert not job.file
    assert Loan.objects.filter(branch=manager.branch).count() == len(NASTY)  # the connection still answers


def test_a_spec_with_a_header_twice_is_written_from_python_rows_and_neutralised_once(nasty_book, manager, tmp_path):
    """The SQL-fed writer keys each row by its headers: a spec with a header twice takes the Python
    rows (whose xlsxwriter fallback neutralises the text itself, once)."""
    from dataclasses import replace

    from loans.export_copy import write_xlsx_export

    spec = replace(LOANS_EXPORT, columns=(*LOANS_EXPORT.columns, LOANS_EXPORT.columns[1]))  # borrower_name again
    queryset = export_queryset(spec, manager, None).order_by("loan_no")
    assert select_statement(spec, queryset, AS_OF) is None
    path = tmp_path / "twice.xlsx"
    assert write_xlsx_export(str(path), spec, queryset, spec.header_rows(), AS_OF) == len(NASTY)
    head, first, second, *_ = _cells(path)
    assert head.count("borrower_name") == 2
    assert first[1] == first[-1] == "'" + NASTY[0] and second[1] == "''=already guarded"
    with pytest.raises(ValueError, match="distinct headers"):
        write_xlsx_rust(tmp_path / "ready.xlsx", spec.header_rows(), [("x",) * len(spec.headers)], ready=True)
