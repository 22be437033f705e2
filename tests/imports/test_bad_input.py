"""An admin uploads a file with mistakes: every problem is listed as "row R, column C: what is
wrong", and nothing at all is written."""

from __future__ import annotations

import re

import pytest

from loans.models import ImportBatch
from tests.factories import LoanFactory
from tests.imports.conftest import (
    COLLATERAL_HEADER,
    GUARANTEE_HEADER,
    LOAN_HEADER,
    book_state,
    csv_bytes,
    loan_row,
    run_import,
    three_loans,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


def rejected(content: bytes, **kwargs) -> list[str]:
    """Import a bad file; check nothing was written and return the problems."""
    before = book_state()
    outcome = run_import(content, **kwargs)
    assert not outcome.ok
    assert outcome.batch.status == ImportBatch.Status.REJECTED
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 0, 0)
    assert book_state() == before, "a rejected import must not write anything"
    assert outcome.error_count == len(outcome.errors)
    return outcome.errors


@pytest.fixture(autouse=True)
def _existing_loan(bank):
    # A loan already in the book: a rejected import must leave it exactly as it is.
    LoanFactory(loan_no="OLD-1", branch=bank["branch"], outstanding_principal="70000.00")


def test_a_file_that_is_not_a_spreadsheet_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    assert rejected(png, name="photo.png") == ["the file is not a CSV or Excel (XLSX) spreadsheet"]


def test_a_zip_that_is_not_a_workbook_is_refused():
    assert rejected(b"PK\x03\x04" + b"\x00" * 200, name="book.xlsx") == [
        "the file is not a CSV or Excel (XLSX) spreadsheet"
    ]


def test_an_empty_file_is_refused():
    assert rejected(b"", name="empty.csv") == ["row 1: the file is empty; the first row must hold the column headers"]


def test_an_empty_workbook_is_refused():
    assert rejected(xlsx_bytes({"Loans": []}), name="empty.xlsx") == [
        "row 1: the file is empty; the first row must hold the column headers"
    ]


def test_a_sheet_with_only_headers_is_refused():
    assert rejected(csv_bytes([])) == ["row 2: there are no loans below the header row"]


def test_headers_and_the_chinese_line_but_no_loans_is_refused():
    assert rejected(csv_bytes([], chinese=True)) == ["row 2: there are no loans below the header row"]


def test_a_missing_required_column_is_named():
    header = [h for h in LOAN_HEADER if h != "principal"]
    assert rejected(csv_bytes([loan_row()], header)) == ["row 1: required column “principal” (贷款本金) is missing"]


def test_an_unknown_column_is_named_by_its_header():
    header = [*LOAN_HEADER, "Remarks"]
    assert rejected(csv_bytes([loan_row()], header)) == [
        "row 1, column Remarks: unknown column (the template lists the columns this sheet takes)"
    ]


def test_two_columns_for_the_same_field_are_refused():
    header = [*LOAN_HEADER, "贷款余额"]
    content = csv_bytes([[*loan_row().values(), "1"]], header)
    assert rejected(content) == [
        "row 1, column 贷款余额: the column “outstanding_principal” already holds outstanding_principal"
    ]


def test_wrong_types_are_reported_with_row_and_column():
    content = csv_bytes(
        [
            loan_row(principal="abc"),
            loan_row(loan_no="L-0002", disbursed_on="15/01/2024"),
            loan_row(loan_no="L-0003", business_ceased="maybe"),
            loan_row(loan_no="L-0004", borrower_kind="company"),
            loan_row(loan_no="L-0005", interest_on_balance="12.345"),
            loan_row(loan_no="L-0006", maturity_on="2025-02-30"),
        ]
    )
    assert rejected(content) == [
        "row 2, column principal: “abc” is not an amount",
        "row 3, column disbursed_on: “15/01/2024” is not a date; use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD",
        "row 4, column business_ceased: “maybe” is not yes or no (use yes/no, 1/0 or 是/否)",
        "row 5, column borrower_kind: “company” is not one of individual (个人), enterprise (企业), "
        "government_agency (政府机关), village_collective (村集体), public_institution (事业单位)",
        "row 6, column interest_on_balance: “12.345” has more than 2 decimal places",
        "row 7, column maturity_on: “2025-02-30” is not a valid date",
    ]


def test_required_fields_must_not_be_empty():
    content = csv_bytes([loan_row(borrower_name="", disbursed_on=" ")])
    assert rejected(content) == [
        "row 2, column borrower_name: is empty; a value is required",
        "row 2, column disbursed_on: is empty; a value is required",
    ]


def test_amounts_must_not_be_negative_and_outstanding_not_above_principal():
    content = csv_bytes(
        [
            loan_row(principal="0"),
            loan_row(loan_no="L-0002", interest_off_balance="-5"),
            loan_row(loan_no="L-0003", principal="1,000.00", outstanding_principal="1,000.01"),
        ]
    )
    assert rejected(content) == [
        "row 2, column principal: “0” must be greater than 0",
        "row 3, column interest_off_balance: “-5” is negative; an amount must not be below 0",
        "row 4, column outstanding_principal: “1000.01” is more than the principal “1000.00”",
    ]


def test_dates_must_be_in_order():
    content = csv_bytes(
        [
            loan_row(maturity_on="2023-12-31"),
            loan_row(loan_no="L-0002", overdue_since="2023-06-01"),
            loan_row(loan_no="L-0003", overdue_since="2026-07-01"),
        ]
    )
    assert rejected(content) == [
        "row 2, column maturity_on: 2023-12-31 is before the disbursement date 2024-01-15",
        "row 3, column overdue_since: 2023-06-01 is before the disbursement date 2024-01-15",
        "row 4, column overdue_since: 2026-07-01 is later than the as-of date 2026-06-30",
    ]


def test_branch_and_officer_must_be_known():
    content = csv_bytes(
        [
            loan_row(branch_code="B99"),
            loan_row(loan_no="L-0002", officer_username="nobody"),
            loan_row(loan_no="L-0003", officer_username="retired"),
        ]
    )
    assert rejected(content) == [
        "row 2, column branch_code: unknown branch code “B99”",
        "row 3, column officer_username: unknown user “nobody”",
        "row 4, column officer_username: user “retired” is no longer active",
    ]


def test_a_loan_number_twice_in_the_file_is_refused():
    content = csv_bytes([loan_row(), loan_row(loan_no="L-0002"), loan_row()])
    assert rejected(content) == ["row 4, column loan_no: loan number “L-0001” is also in row 2"]


def test_one_borrower_with_two_names_is_refused():
    content = csv_bytes([loan_row(), loan_row(loan_no="L-0002", borrower_name="Zhang W.")])
    assert rejected(content) == [
        "row 3, column borrower_name: the same borrower (ID number in row 2) has the name “Zhang Wei” there "
        "but “Zhang W.” here"
    ]


def test_the_column_is_named_as_written_in_the_file_chinese_included():
    header = ["贷款编号", "借款人名称", "证件号码", "机构代码", "贷款本金", "贷款余额", "发放日期", "到期日期"]
    content = csv_bytes([["L-1", "Wang", "ID-1", "B01", "十万", "1", "2024-01-01", "2025-01-01"]], header)
    assert rejected(content) == ["row 2, column 贷款本金: “十万” is not an amount"]


def test_every_problem_is_listed_in_row_order_in_one_go():
    content = csv_bytes(
        [
            loan_row(principal="x", branch_code="B99"),
            loan_row(loan_no="L-0002"),
            loan_row(loan_no="L-0003", maturity_on="2020-01-01"),
            loan_row(loan_no="L-0002"),
        ]
    )
    assert rejected(content) == [
        "row 2, column branch_code: unknown branch code “B99”",
        "row 2, column principal: “x” is not an amount",
        "row 4, column maturity_on: 2020-01-01 is before the disbursement date 2024-01-15",
        "row 5, column loan_no: loan number “L-0002” is also in row 3",
    ]


def test_an_id_number_that_excel_turned_into_a_number_is_refused():
    header = LOAN_HEADER
    row = list(loan_row().values())
    row[header.index("borrower_id_no")] = 110101199001011234  # a number cell: the last digits are gone
    [error] = rejected(xlsx_bytes({"Loans": [header, row]}), name="book.xlsx")
    assert re.fullmatch(
        r"row 2, column borrower_id_no: “1101011990010112\d\d” was stored as a number and has lost its last "
        r"digits; format the column as text and type the number again",
        error,
    )


def test_a_bad_cell_in_an_xlsx_file_is_reported_at_the_row_the_spreadsheet_shows():
    # A title and an empty row above the header: the header is row 3, the loan row 4.
    row = loan_row(principal="lots")
    sheets = {"Loans": [["Loan book, June"], [], LOAN_HEADER, list(row.values())]}
    errors = rejected(xlsx_bytes(sheets), name="book.xlsx")
    assert "row 4, column principal: “lots” is not an amount" in errors


def test_guarantees_and_collateral_sheets_are_checked_too():
    loans = [LOAN_HEADER, *(list(r.values()) for r in three_loans())]
    guarantees = [
        GUARANTEE_HEADER,
        ["L-0001", "Li Na", "G-1", "individual", "0", "2024-01-15"],
        ["L-9999", "Zhou Bo", "G-2", "individual", "100", "2024-01-15"],
        ["L-0002", "Zhou Bo", "G-2", "company", "100", "2024-01-15"],
    ]
    collateral = [
        COLLATERAL_HEADER,
        ["L-0001", "castle", "A castle", "1000", "", ""],
        ["OLD-1", "vehicle", "Truck", "-1", "", "sealed"],
    ]
    content = xlsx_bytes({"Loans": loans, "Guarantees": guarantees, "Collateral": collateral})
    assert rejected(content, name="book.xlsx") == [
        "Guarantees sheet, row 2, column amount: “0” must be greater than 0",
        "Guarantees sheet, row 3, column loan_no: loan “L-9999” is neither in the Loans sheet nor in the loan book",
        "Guarantees sheet, row 4, column guarantor_kind: “company” is not one of individual (个人), "
        "enterprise (企业), guarantee_company (担保公司)",
        "Collateral sheet, row 2, column kind: “castle” is not one of real_estate (房产), land_use_right (土地使用权), "
        "vehicle (车辆), equipment (机器设备), deposit (存单), receivables (应收账款), other (其他)",
        "Collateral sheet, row 3, column appraised_value: “-1” is negative; an amount must not be below 0",
    ]


def test_separate_csv_files_for_guarantees_are_checked():
    guarantees = csv_bytes([["L-0001", "Li Na", "G-1", "", "abc", ""]], GUARANTEE_HEADER)
    errors = rejected(csv_bytes(three_loans()), guarantees=guarantees)
    assert errors == ["Guarantees sheet, row 2, column amount: “abc” is not an amount"]


def test_a_dry_run_of_a_bad_file_reports_the_same_problems():
    content = csv_bytes([loan_row(branch_code="B99")])
    assert rejected(content, dry_run=True) == ["row 2, column branch_code: unknown branch code “B99”"]


def test_only_the_first_thousand_problems_are_kept_but_all_are_counted():
    rows = [loan_row(loan_no=f"L-{i}", branch_code="B99") for i in range(1200)]
    before = book_state()
    outcome = run_import(csv_bytes(rows))
    assert outcome.error_count == 1200 and len(outcome.errors) == 1000
    assert outcome.errors[0] == "row 2, column branch_code: unknown branch code “B99”"
    assert book_state() == before


def test_a_workbook_with_only_a_guarantees_sheet_is_refused():
    content = xlsx_bytes({"Guarantees": [GUARANTEE_HEADER, ["OLD-1", "Li Na", "G-1", "", "100", ""]]})
    assert rejected(content, name="book.xlsx") == [
        "the workbook has no Loans sheet (a sheet named Loans or 贷款, or a first sheet)"
    ]


def test_a_loan_past_maturity_with_a_balance_and_no_overdue_date_is_a_warning_not_an_error(bank, admin_user):
    """Issue 10: matured (before the as-of date), still owing, no overdue date: imported, with a
    warning naming the row and the column."""
    from tests.imports.conftest import csv_bytes, loan_row, run_import

    matured = loan_row(loan_no="L-0009", disbursed_on="2023-01-15", maturity_on="2026-01-15", overdue_since="")
    outcome = run_import(csv_bytes([loan_row(), matured]), actor=admin_user)
    assert outcome.ok and outcome.created == 2
    assert outcome.batch.error_count == 0
    assert outcome.batch.warnings == [
        "row 3, column overdue_since: is empty, but the loan matured on 2026-01-15 and “80000” is still "
        "outstanding: it is classified as overdue from 2026-01-16"
    ]


def test_import_problems_are_written_in_the_uploaders_language_naming_the_column_as_written(bank, admin_user):
    """Issue 10: "row R, column C: ..." in Chinese for a Chinese user, C as the file wrote it."""
    from django.utils import translation

    from tests.imports.conftest import LOAN_HEADER_ZH, csv_bytes, loan_row, run_import

    rows = [loan_row(), loan_row(loan_no="L-0002", principal="abc")]
    content = csv_bytes([[r[h] for h in LOAN_HEADER] for r in rows], header=LOAN_HEADER_ZH)
    with translation.override("zh-hans"):
        outcome = run_import(content, actor=admin_user)
    assert not outcome.ok
    assert outcome.batch.errors == ["第 3 行，“贷款本金”列：“abc”不是金额"]
