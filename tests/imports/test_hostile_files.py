"""Security review, findings 1, 2 and 10: files built to hurt the importer are refused quickly,
with a message, in bounded memory; and a file that is merely wrong says where it is wrong."""

from __future__ import annotations

import pytest

from tests.imports.conftest import csv_bytes, loan_row, run_import

pytestmark = pytest.mark.django_db


def _book(n: int, **overrides) -> list[dict]:
    return [loan_row(loan_no=f"U-{i:05d}", borrower_id_no=f"UID-{i:05d}", **overrides) for i in range(n)]


@pytest.mark.parametrize("bad_row", [2, 40, 3000])
def test_invalid_utf8_names_the_row_it_is_in(bank, bad_row):
    lines = csv_bytes(_book(5000, borrower_name="张伟")).split(b"\r\n")
    lines[bad_row - 1] = lines[bad_row - 1].replace("张伟".encode(), b"\xe5\xbc\xa0\xff", 1)
    outcome = run_import(b"\r\n".join(lines))
    assert not outcome.ok
    assert outcome.errors == [f"row {bad_row}: the text is not valid UTF-8"]


def test_invalid_utf8_after_a_cell_spanning_lines_names_its_record(bank):
    rows = _book(3000)
    rows[100]["product"] = "line one\nline two\nline three"  # row 102 takes three lines of the file
    records = csv_bytes(rows).split(b"\r\n")  # the csv module ends records with CRLF, lines in a cell with LF
    records[2002] = records[2002].replace(b"Zhang", b"Zh\xffng", 1)  # row 2003, on line 2005 of the file
    outcome = run_import(b"\r\n".join(records))
    assert outcome.errors == ["row 2003: the text is not valid UTF-8"]
