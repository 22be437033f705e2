"""Reading cells: amounts, dates, yes/no, identifiers (pure functions, no database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from loans.importing.columns import LOANS, map_headers
from loans.importing.values import CellError, parse_amount, parse_bool, parse_date, parse_identifier


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("1234.5", Decimal("1234.5")),
        ("1,234,567.89", Decimal("1234567.89")),
        (" 12 ", Decimal("12")),
        ("１，０００．５０", Decimal("1000.50")),
        (1234.56, Decimal("1234.56")),
        (0.1 + 0.2, Decimal("0.30")),
        (500000, Decimal("500000")),
        ("-5", Decimal("-5")),
    ],
)
def test_amounts(cell, amount):
    assert parse_amount(cell) == amount


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("12,34", "“12,34” is not an amount"),
        ("1e5", "“1e5” is not an amount"),
        ("NaN", "“NaN” is not an amount"),
        ("1.234", "“1.234” has more than 2 decimal places"),
        (1.005, "“1.005” has more than 2 decimal places"),
        ("99999999999999999", "“99999999999999999” is too large"),
        (True, "“TRUE” is not an amount"),
    ],
)
def test_bad_amounts(cell, message):
    with pytest.raises(CellError) as exc:
        parse_amount(cell)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("2024/03/05", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        (20240305, date(2024, 3, 5)),
        ("2024-03-05 00:00:00", date(2024, 3, 5)),
        (date(2024, 3, 5), date(2024, 3, 5)),
        (datetime(2024, 3, 5, 14, 0), date(2024, 3, 5)),
    ],
)
def test_dates(cell, day):
    assert parse_date(cell) == day


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("05/03/2024", "“05/03/2024” is not a date; use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD"),
        ("2024-02-30", "“2024-02-30” is not a valid date"),
        (45321.0, "“45321” is not a date; use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD"),
        ("18500101", "“18500101” is not a plausible date"),
    ],
)
def test_bad_dates(cell, message):
    with pytest.raises(CellError) as exc:
        parse_date(cell)
    assert str(exc.value) == message


@pytest.mark.parametrize("cell", ["yes", "Y", "true", "1", "是", True, 1.0])
def test_yes(cell):
    assert parse_bool(cell) is True


@pytest.mark.parametrize("cell", ["no", "N", "FALSE", "0", "否", False, 0])
def test_no(cell):
    assert parse_bool(cell) is False


def test_identifiers_keep_their_digits_or_are_refused():
    assert parse_identifier(" 0012345 ", max_length=40) == "0012345"
    assert parse_identifier(12345.0, max_length=40) == "12345"
    with pytest.raises(CellError, match="scientific notation"):
        parse_identifier("1.10101E+17", max_length=40)
    with pytest.raises(CellError, match="is 41 characters long, at most 40 are allowed"):
        parse_identifier("x" * 41, max_length=40)


def test_headers_match_by_name_case_spaces_underscores_and_chinese():
    header_map, problems = map_headers(LOANS, 1, ["LOAN NO", "Borrower_Name", "证件号码", "机构代码", "贷款本金",
                                                  "outstanding principal", "发放 日期", "Maturity On"])  # fmt: skip
    assert problems == []
    assert header_map.header("loan_no") == "LOAN NO" and header_map.positions["disbursed_on"] == (6, "发放 日期")
