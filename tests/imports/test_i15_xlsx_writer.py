"""Issue 15: the large XLSX exports (jobs, the command) are written by rustpy-xlsxwriter (Rust's
rust_xlsxwriter), about 5x faster than xlsxwriter; its cells stay numbers and dates, text is never
a formula, and the header rows are bold and frozen as before."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from loans.exporting import write_xlsx_rust

HEADERS = [["loan_no", "principal", "days", "disbursed_on", "decided_at", "current", "note"], list("abcdefg")]
ROWS = [
    ["L-1", Decimal("1234.50"), 7, date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), True, "=HYPERLINK(1)"],
    ["L-2", None, 0, None, None, False, "+1"],
]


def _written(headers=HEADERS, rows=ROWS) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = write_xlsx_rust(out, headers, iter(rows), title="Loans")
    return out.getvalue(), count


def test_the_large_export_writer_is_rust_xlsxwriter(monkeypatch):
    import xlsxwriter

    def refused(*args, **kwargs):
        raise AssertionError("written by xlsxwriter")

    monkeypatch.setattr(xlsxwriter, "Workbook", refused)
    data, count = _written()
    assert count == 2 and zipfile.is_zipfile(io.BytesIO(data))


def test_numbers_stay_numbers_dates_stay_dates_and_text_is_not_a_formula():
    data, _ = _written()
    sheet = load_workbook(io.BytesIO(data))["Loans"]
    assert [c.value for c in sheet[1]] == HEADERS[0] and [c.value for c in sheet[2]] == HEADERS[1]
    assert sheet.freeze_panes == "A3" and sheet["A1"].font.b and sheet["A2"].font.b
    loan, principal, days, disbursed, decided, current, note = sheet[3]
    assert principal.data_type == "n" and principal.value == 1234.5
    assert days.data_type == "n" and days.value == 7
    assert disbursed.is_date and disbursed.value == datetime(2026, 1, 2) and disbursed.number_format == "yyyy-mm-dd"
    assert decided.is_date and decided.value == datetime(2026, 1, 2, 3, 4, 5)
    assert decided.number_format == "yyyy-mm-dd hh:mm:ss"
    assert current.data_type == "b" and current.value is True
    assert note.data_type == "s" and note.value == "'=HYPERLINK(1)" and sheet["G4"].value == "'+1"
    assert sheet["B4"].value is None and sheet["D4"].value is None
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_calamine_reads_the_same_cells():
    data, _ = _written()
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Loans").to_python()
    assert rows[2][:4] == ["L-1", 1234.5, 7, date(2026, 1, 2)]


def test_an_export_without_rows_still_has_its_header():
    data, count = _written(headers=[HEADERS[0]], rows=[])
    sheet = load_workbook(io.BytesIO(data))["Loans"]
    assert count == 0 and [c.value for c in sheet[1]] == HEADERS[0] and sheet.max_row == 1


def test_to_a_path_it_writes_the_same_workbook(tmp_path):
    """The export jobs give it a path (into an open file it would build the whole zip in memory)."""
    path = tmp_path / "export"  # the job's file has its name; the writer does not need the suffix
    assert write_xlsx_rust(str(path), HEADERS, iter(ROWS), title="Loans") == 2
    sheet = load_workbook(io.BytesIO(path.read_bytes()))["Loans"]
    assert [c.value for c in sheet[3]][:4] == ["L-1", 1234.5, 7, datetime(2026, 1, 2)]
    empty = tmp_path / "empty.xlsx"
    assert write_xlsx_rust(str(empty), [HEADERS[0]], iter([]), title="Loans") == 0
    assert [c.value for c in load_workbook(empty)["Loans"][1]] == HEADERS[0]
