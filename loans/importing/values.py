"""Turning spreadsheet cells into typed values: pure Python, no Django.

A cell arrives as whatever the reader produced: text from a CSV file, or from an XLSX file a
str, float, int, bool, date or datetime (python-calamine's types). Each parser returns the typed
value or raises `CellError` with the message shown to the user after "row R, column C: ".
Blank cells are the caller's business (required or default); parsers never see them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext

CENT = Decimal("0.01")
# DecimalField(max_digits=18, decimal_places=2): at most 16 digits before the point.
AMOUNT_LIMIT = Decimal("10000000000000000")
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)

_PLAIN_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
_GROUPED_AMOUNT = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DATE_WITH_SEPARATORS = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
# Full-width digits, commas and points (typed with a Chinese input method) become ASCII.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９，．－／：　", "0123456789,.-/: ")
# Excel stores numbers as doubles: integers above this lose their last digits.
_EXACT_INTEGER_DIGITS = 15


# Text a spreadsheet program would run as a formula starts with one of these. The exporter puts an
# apostrophe in front of such text (and in front of apostrophes already guarding it); the importer
# takes exactly one off again, so an export imported again gives back what was exported.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _guarded(text: str) -> bool:
    """Apostrophes (none or more) followed by a formula start."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would evaluate becomes plain text (a leading apostrophe)."""
    if isinstance(value, str) and _guarded(value):
        return "'" + value
    return value


def unneutralise(text: str) -> str:
    """The inverse of `neutralise` for text read from a file: one apostrophe comes off when what
    follows it would be a formula; any other apostrophe is the user's and is kept."""
    if text[:1] == "'" and _guarded(text[1:]):
        return text[1:]
    return text


class CellError(ValueError):
    """A cell that cannot be read: the message says what is wrong with it."""


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def quoted(value: object) -> str:
    text = value if isinstance(value, str) else format_cell(value)
    text = text.strip()
    if len(text) > 60:
        text = text[:57] + "..."
    return f"“{text}”"


def format_cell(value: object) -> str:
    """A cell as text, the way the user typed it (an integral float loses its ".0")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return unneutralise(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_text(value: object, *, max_length: int) -> str:
    text = format_cell(value).strip()
    if len(text) > max_length:
        raise CellError(
            gettext("is %(length)s characters long, at most %(max)s are allowed")
            % {"length": len(text), "max": max_length}
        )
    return text


def parse_identifier(value: object, *, max_length: int) -> str:
    """ID numbers and loan numbers: text, and never a number Excel has already rounded."""
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= 10**_EXACT_INTEGER_DIGITS:
        raise CellError(
            f"{quoted(value)} was stored as a number and has lost its last digits; "
            "format the column as text and type the number again"
        )
    text = parse_text(value, max_length=max_length)
    if _SCIENTIFIC.fullmatch(text):
        raise CellError(
            f"{quoted(text)} is in scientific notation, so its digits are lost; "
            "format the column as text and type the number again"
        )
    return text


def parse_amount(value: object) -> Decimal:
    """An amount of money: digits with an optional point and up to 2 decimals; thousands
    separators ("1,234,567.89") allowed. Negative amounts are returned (the row rules say
    which fields must not be negative, with a message naming the rule)."""
    if isinstance(value, bool):
        raise CellError(gettext("%(value)s is not an amount") % {"value": quoted(value)})
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(gettext("%(value)s is not an amount") % {"value": quoted(value)})
        amount = Decimal(repr(value))
        rounded = amount.quantize(CENT)
        # A double cannot hold 0.1 exactly: 1234.5600000000002 is 1234.56 typed in Excel.
        if abs(amount - rounded) > Decimal("0.000001"):
            raise CellError(gettext("%(value)s has more than 2 decimal places") % {"value": quoted(value)})
        amount = rounded
    elif isinstance(value, str):
        text = value.strip()
        if not _PLAIN_AMOUNT.fullmatch(text):
            text = text.translate(_FULL_WIDTH).replace(" ", "")
            if _GROUPED_AMOUNT.fullmatch(text):
                text = text.replace(",", "")
            elif not _PLAIN_AMOUNT.fullmatch(text):
                raise CellError(gettext("%(value)s is not an amount") % {"value": quoted(value)})
        amount = Decimal(text)
        if amount.as_tuple().exponent < -2 and amount != amount.quantize(CENT):
            raise CellError(gettext("%(value)s has more than 2 decimal places") % {"value": quoted(value)})
    else:
        raise CellError(gettext("%(value)s is not an amount") % {"value": quoted(value)})
    if abs(amount) >= AMOUNT_LIMIT:
        raise CellError(gettext("%(value)s is too large") % {"value": quoted(value)})
    return amount


def parse_date(value: object) -> date:
    """A real spreadsheet date, or text as YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD."""
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, bool):
        raise CellError(
            gettext("%(value)s is not a date; use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD") % {"value": quoted(value)}
        )
    elif isinstance(value, int | float):
        # 20240115 typed into a number cell.
        if isinstance(value, float) and not value.is_integer():
            raise CellError(
                gettext("%(value)s is not a date; use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD") % {"value": quoted(value)}
            )
        result = _parse_date_text(str(int(value)), value)
    elif isinstance(value, str):
        result = _parse_date_text(value.strip(), value)
    else:
        raise CellError(
            gettext("%(value)s is not a date; use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD") % {"value": quoted(value)}
        )
    if not EARLIEST_DATE <= result <= LATEST_DATE:
        raise CellError(gettext("%(value)s is not a plausible date") % {"value": quoted(value)})
    return result


def _parse_date_text(text: str, original: object) -> date:
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date.fromisoformat(text)
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        match = _DATE_WITH_SEPARATORS.fullmatch(text.translate(_FULL_WIDTH))
        if match:
            return date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
    except ValueError:
        raise CellError(gettext("%(value)s is not a valid date") % {"value": quoted(original)}) from None
    raise CellError(
        gettext("%(value)s is not a date; use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD") % {"value": quoted(original)}
    )


_TRUE = frozenset({"1", "yes", "y", "true", "t", "是", "√", "✓"})
_FALSE = frozenset({"0", "no", "n", "false", "f", "否", "×", "-"})


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = format_cell(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(gettext("%(value)s is not yes or no (use yes/no, 1/0 or 是/否)") % {"value": quoted(value)})


def normalise_word(text: str) -> str:
    """Case, spaces and underscores do not count: "Loan No", "loan_no" and "LOANNO" are one name."""
    return "".join(text.translate(_FULL_WIDTH).lower().replace("_", " ").split())


def parse_choice(value: object, *, choices: Mapping[str, str], expected: str) -> str:
    """One of a set of codes; `choices` maps each accepted spelling (normalised) to its code."""
    code = choices.get(normalise_word(format_cell(value)))
    if code is None:
        raise CellError(
            gettext("%(value)s is not one of %(expected)s") % {"value": quoted(value), "expected": expected}
        )
    return code
