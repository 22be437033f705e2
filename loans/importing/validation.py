"""Checking one row at a time, as it is read, and turning it into a row for the staging table.

Every problem becomes "row R, column C: what is wrong" (R the row number the spreadsheet shows,
C the column's header as written in the file). Checks that need several rows (duplicate loan
numbers, one borrower with two names, guarantees of unknown loans) run afterwards on the
staging table (loans.importing.staging), so nothing here keeps rows in memory.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

from loans.classification import (
    Classification,
    ClassificationPolicy,
    LoanFacts,
    classify,
    effective_overdue_since,
    specific_provision,
)
from loans.importing.columns import COLLATERAL, GUARANTEES, LOANS, Column, HeaderMap, Kind, SheetSpec
from loans.importing.values import (
    EARLIEST_DATE,
    LATEST_DATE,
    CellError,
    is_blank,
    parse_amount,
    parse_bool,
    parse_choice,
    parse_date,
    parse_identifier,
    parse_text,
    quoted,
)

ZERO = Decimal("0.00")
MAX_STORED_ERRORS = 1000


@dataclass
class ErrorLog:
    """All problems are counted; the first `limit` are kept, in file order."""

    limit: int = MAX_STORED_ERRORS
    count: int = 0
    _items: list[tuple[int, int, int, str]] = field(default_factory=list)
    # Warnings: shown in the report, never a reason to reject the file.
    warnings: list[str] = field(default_factory=list)

    @property
    def may_warn(self) -> bool:
        """False once `limit` warnings are kept: later ones are not shown, so not worth writing."""
        return len(self.warnings) < self.limit

    def warn(self, spec: SheetSpec, header_map: HeaderMap | None, row_no: int, field_name: str, message: str) -> None:
        if len(self.warnings) < self.limit:
            column = header_map.header(field_name) if header_map else field_name
            self.warnings.append(
                _prefix(spec)
                + gettext("row %(row)s, column %(column)s: %(message)s")
                % {"row": row_no, "column": column, "message": message}
            )

    def add(self, message: str, *, sheet_order: int = 0, row_no: int = 0, column_order: int = 0) -> None:
        self.count += 1
        if len(self._items) < self.limit:
            self._items.append((sheet_order, row_no, column_order, message))

    def cell(self, spec: SheetSpec, header_map: HeaderMap | None, row_no: int, field_name: str, message: str) -> None:
        column = header_map.header(field_name) if header_map else field_name
        order = header_map.positions.get(field_name, (999, ""))[0] if header_map else 0
        self.add(
            _prefix(spec)
            + gettext("row %(row)s, column %(column)s: %(message)s")
            % {"row": row_no, "column": column, "message": message},
            sheet_order=_SHEET_ORDER.get(spec.code, 9),
            row_no=row_no,
            column_order=order,
        )

    def row(self, spec: SheetSpec, row_no: int, message: str, column_order: int = -1) -> None:
        self.add(
            _prefix(spec) + gettext("row %(row)s: %(message)s") % {"row": row_no, "message": message},
            sheet_order=_SHEET_ORDER.get(spec.code, 9),
            row_no=row_no,
            column_order=column_order,
        )

    def file(self, message: str) -> None:
        self.add(message, sheet_order=-1)

    @property
    def messages(self) -> list[str]:
        return [m for *_, m in sorted(self._items, key=lambda item: item[:3])]

    def __bool__(self) -> bool:
        return self.count > 0


_SHEET_ORDER = {"loans": 0, "guarantees": 1, "collateral": 2}


def _prefix(spec: SheetSpec) -> str:
    return "" if spec.code == "loans" else gettext("%(sheet)s sheet, ") % {"sheet": spec.label_words}


@dataclass(frozen=True)
class Lookups:
    """What a row may refer to, loaded once per import: branch codes and staff usernames."""

    branches: dict[str, int]  # upper-case code -> id
    users: dict[str, tuple[int, bool]]  # username -> (id, is_active)

    def user(self, name: str) -> tuple[int, bool] | None:
        return self.users.get(name) or self.users.get(name.lower())


class NewLoanClasses:
    """The class a loan gets when it is first imported: the pure rules of loans.classification,
    computed once per distinct (overdue since, business ceased) and shared by every row with it.

    A new loan has no history (no manual class, restructuring or write-off), so those two facts
    and the as-of date decide its class. Existing loans that change are reclassified afterwards by
    loans.services.loans_reclassify, which also knows their history.
    """

    def __init__(self, *, as_of: date, policy: ClassificationPolicy) -> None:
        self.as_of = as_of
        self.policy = policy
        # (overdue since, business ceased) -> key; the key indexes results and provision_free.
        self.known: dict[tuple[date | None, bool], int] = {}
        self.results: list[Classification] = []
        self.provision_free: list[bool] = []

    def key(self, overdue_since: date | None, business_ceased: bool) -> int:
        facts_key = (overdue_since, business_ceased)
        key = self.known.get(facts_key)
        if key is None:
            result = classify(
                LoanFacts(overdue_since=overdue_since, business_ceased=business_ceased), self.as_of, self.policy
            )
            key = self.known[facts_key] = len(self.results)
            self.results.append(result)
            self.provision_free.append(not Decimal(self.policy.provision_rates[result.five_level]))
        return key

    def provision(self, key: int, outstanding: Decimal) -> Decimal:
        if self.provision_free[key]:
            return ZERO
        return specific_provision(self.results[key].five_level, outstanding, self.policy)


def _parser_for(column: Column) -> Callable[[Any], Any]:
    if column.kind == Kind.TEXT:
        return lambda v, n=column.max_length: parse_text(v, max_length=n)
    if column.kind == Kind.IDENTIFIER:
        return lambda v, n=column.max_length: parse_identifier(v, max_length=n)
    if column.kind == Kind.AMOUNT:
        return parse_amount
    if column.kind == Kind.DATE:
        return parse_date
    if column.kind == Kind.BOOL:
        return parse_bool
    if column.kind == Kind.CHOICE:
        choices, expected = column.choice_map(), column.expected_choices()
        return lambda v: parse_choice(v, choices=choices, expected=expected)
    raise ValueError(column.kind)


# --- fast paths --------------------------------------------------------------------------------
# A whole column of a chunk is parsed with one list comprehension that handles the common,
# well-formed cells with C-level calls; every other cell (blank, unusual or wrong) is marked
# _SLOW and goes through the parser above, which gives the message. A fast path only accepts
# what its parser accepts, with the same value.

_SLOW = object()
_MISSING = object()
_FAST_AMOUNT = re.compile(r"\d{1,16}(?:\.\d{1,2})?").fullmatch
_BOOL_FAST: dict[Any, bool] = {True: True, False: False}
for _word in ("yes", "y", "true", "t", "是"):
    _BOOL_FAST.update({_word: True, _word.upper(): True, _word.capitalize(): True})
for _word in ("no", "n", "false", "f", "否"):
    _BOOL_FAST.update({_word: False, _word.upper(): False, _word.capitalize(): False})
_BOOL_FAST.update({"1": True, "0": False})


def _fast_text(raw: list[Any], n: int) -> list[Any]:
    # A leading apostrophe may guard a formula (values.unneutralise): the full parser decides.
    return [s if (v.__class__ is str and (s := v.strip()) and len(s) <= n and s[0] != "'") else _SLOW for v in raw]


def _fast_identifier(raw: list[Any], n: int) -> list[Any]:
    # Anything with an "e" might be scientific notation (1.10101E+17): the full parser decides.
    return [
        s
        if (v.__class__ is str and (s := v.strip()) and len(s) <= n and "e" not in s and "E" not in s and s[0] != "'")
        else _SLOW
        for v in raw
    ]


def _fast_amount(raw: list[Any]) -> list[Any]:
    D, match = Decimal, _FAST_AMOUNT  # noqa: N806
    return [
        D(v)
        if ((c := v.__class__) is str and match(v))
        else D(repr(v))
        if (c is float and 0 <= v < 1e16 and round(v, 2) == v)
        else _SLOW
        for v in raw
    ]


def _fast_date(raw: list[Any]) -> list[Any]:
    iso, first, last = date.fromisoformat, EARLIEST_DATE, LATEST_DATE
    return [
        iso(v)
        if ((c := v.__class__) is str and len(v) == 10 and v[4] == "-" and v[7] == "-" and "1900" <= v <= "2199-12-31")
        else v
        if (c is date and first <= v <= last)
        else _SLOW
        for v in raw
    ]


def _fast_lookup(table: dict[Any, Any]) -> Callable[[list[Any]], list[Any]]:
    get = table.get
    return lambda raw: [get(v, _SLOW) for v in raw]


def _fast_parser(column: Column) -> Callable[[list[Any]], list[Any]]:
    if column.kind == Kind.TEXT:
        return lambda raw, n=column.max_length: _fast_text(raw, n)
    if column.kind == Kind.IDENTIFIER:
        return lambda raw, n=column.max_length: _fast_identifier(raw, n)
    if column.kind == Kind.AMOUNT:
        return _fast_amount
    if column.kind == Kind.DATE:
        return _fast_date
    if column.kind == Kind.BOOL:
        return _fast_lookup(_BOOL_FAST)
    if column.kind == Kind.CHOICE:
        table: dict[Any, str] = {}
        for code, spellings in column.choices.items():
            for spelling in (code, *spellings):
                table[spelling] = table[spelling.lower()] = code
        return _fast_lookup(table)
    raise ValueError(column.kind)


_DEFAULTS: dict[str, Any] = {Kind.AMOUNT: ZERO, Kind.BOOL: False, Kind.DATE: None, Kind.TEXT: "", Kind.CHOICE: None}


class SheetChecker:
    """Checks one sheet's rows a chunk at a time and returns the rows for the staging table.

    Parsing is by column (see the fast paths above); the sheet's row rules (amounts, dates,
    references) then run over the parsed columns. A cell in error becomes None in its row.
    """

    spec: SheetSpec
    # The staging table's columns, in order (see loans.importing.staging).
    stage_columns: tuple[str, ...] = ()

    def __init__(self, header_map: HeaderMap, errors: ErrorLog) -> None:
        self.header_map = header_map
        self.errors = errors
        self.width = header_map.width
        self._plan = [
            (
                column,
                header_map.positions.get(column.field, (-1, ""))[0],
                _fast_parser(column),
                _parser_for(column),
                self.default_for(column),
            )
            for column in self.spec.columns
        ]

    def default_for(self, column: Column) -> Any:
        return _DEFAULTS.get(column.kind)

    def error(self, row_no: int, field_name: str, message: str) -> None:
        self.errors.cell(self.spec, self.header_map, row_no, field_name, message)

    def check_chunk(self, rows: Sequence[tuple[int, Sequence[Any]]]) -> list[tuple]:
        if not rows:
            return []
        row_nos = [row_no for row_no, _ in rows]
        width = self.width
        cells = [c if len(c) >= width else [*c, *([None] * (width - len(c)))] for _, c in rows]
        return self._check(row_nos, cells)

    def _check(self, row_nos: list[int], cells: list[Sequence[Any]]) -> list[tuple]:
        if not cells:
            return []
        values = self._parse(row_nos, cells)
        self.rules(values, row_nos)
        return list(zip(row_nos, *(values[name] for name in self.stage_columns[1:]), strict=True))

    def _parse(self, row_nos: list[int], cells: list[Sequence[Any]], fields: set[str] | None = None) -> dict:
        """Every column of the rows (or only `fields`), parsed: field -> list of values."""
        # One transpose (in C) gives every column of the chunk; a few columns are taken one by one.
        columns = list(zip(*cells, strict=False)) if fields is None else None
        values: dict[str, list[Any]] = {}
        for column, index, fast, slow, default in self._plan:
            if fields is not None and column.field not in fields:
                continue
            if index < 0:
                values[column.field] = [default] * len(cells)
                continue
            raw = columns[index] if columns is not None else [c[index] for c in cells]
            values[column.field] = self._parse_column(column, raw, row_nos, fast, slow, default)
        return values

    def _parse_column(self, column: Column, raw: Sequence[Any], row_nos: list[int], fast, slow, default) -> list[Any]:
        try:
            out = fast(raw)
        except (ValueError, ArithmeticError):
            out = [_SLOW] * len(raw)  # a cell the fast path could not take: the full parser does them all
        for i in [i for i, v in enumerate(out) if v is _SLOW]:
            value = raw[i]
            if is_blank(value):
                if column.required:
                    self.error(row_nos[i], column.field, gettext("is empty; a value is required"))
                    out[i] = None
                else:
                    out[i] = default
                continue
            try:
                out[i] = slow(value)
            except CellError as exc:
                self.error(row_nos[i], column.field, str(exc))
                out[i] = None
        return out

    def rules(self, values: dict[str, list[Any]], row_nos: list[int]) -> None:
        """The sheet's rules across the fields of a row; a field that breaks one becomes None."""

    def not_negative(self, values: dict[str, list[Any]], row_nos: list[int], name: str) -> None:
        column = values[name]
        for i, amount in enumerate(column):
            if amount is not None and amount < 0:
                self.error(
                    row_nos[i],
                    name,
                    gettext("%(value)s is negative; an amount must not be below 0") % {"value": quoted(str(amount))},
                )
                column[i] = None

    def positive(self, values: dict[str, list[Any]], row_nos: list[int], name: str) -> None:
        column = values[name]
        for i, amount in enumerate(column):
            if amount is not None and amount <= 0:
                self.error(
                    row_nos[i], name, gettext("%(value)s must be greater than 0") % {"value": quoted(str(amount))}
                )
                column[i] = None


@dataclass
class UnchangedProbe:
    """When a CSV row that PostgreSQL read may be staged unchanged without being read in Python:
    LoanChecker._unchanged's rules, in the terms of the database (cells are text, NULL when empty)."""

    digest_sql: str  # the row's digest over r.c0, r.c1...
    digest_params: dict[str, Any]
    loan_at: int
    branch_at: int
    branch_of: Callable[[str], int | None]  # the branch a cell names, as the full check reads it
    officer_at: int | None  # None: the file has no officer column
    officer_of: Callable[[str], tuple[bool, int | None]]  # (the full check accepts it, the officer's id)
    overdue_in_file: bool
    warn_past_maturity: bool  # the past-maturity warning is still written (the full check writes it)
    as_of: date
    kind_in_file: bool
    kind_default: Any


class LoanChecker(SheetChecker):
    spec = LOANS
    stage_columns = (
        "row_no",
        "loan_no",
        "borrower_name",
        "borrower_id_no",
        "borrower_kind",
        "branch_id",
        "officer_id",
        "product",
        "principal",
        "outstanding_principal",
        "interest_on_balance",
        "interest_off_balance",
        "disbursed_on",
        "maturity_on",
        "overdue_since",
        "business_ceased",
        "government_directed",
        "class_key",
        "specific_provision",
    )

    def __init__(
        self,
        header_map: HeaderMap,
        errors: ErrorLog,
        *,
        lookups: Lookups,
        as_of: date,
        classes: NewLoanClasses,
        imported: Callable[[list[str | None], list[int], date], dict[tuple, tuple]] | None = None,
    ) -> None:
        super().__init__(header_map, errors)
        self.lookups = lookups
        self.as_of = as_of
        self.classes = classes
        # The book's loans whose row digest is among a chunk's (staging.Stage.imported_loans);
        # None: every row is read in full.
        self.imported = imported
        positions = header_map.positions
        # The cells a row's digest covers, in the template's order (row_digests, and digest_sql in SQL).
        digested = [c.field for c in self.spec.columns if c.field in positions]
        self._digest_positions = [positions[name][0] for name in digested]
        self._digest_cells = operator.itemgetter(*self._digest_positions)
        # The digest covers which columns the file has, so another layout of the same book is read in full.
        layout = repr((DIGEST_VERSION, tuple(digested)))
        self._digest_salt = hashlib.md5(layout.encode(), usedforsecurity=False).hexdigest()[:16]
        self.rows_skipped = 0
        self._branch_cache: dict[Any, int | None] = {}
        self._officer_cache: dict[Any, Any] = {}

    def row_digests(self, cells: list[Sequence[Any]]) -> list[int]:
        """A 64-bit digest of each row's cells as read (the import's columns only, in the sheet's order):
        the first 8 bytes of the MD5 of the salt and the cells' text, as a signed integer. Not a
        security measure: a fingerprint that PostgreSQL computes the same way (digest_sql)."""
        get, salt, md5 = self._digest_cells, self._digest_salt.encode(), hashlib.md5
        return [
            int.from_bytes(
                md5(salt + _row_text(get(c)).encode(errors="surrogatepass"), usedforsecurity=False).digest()[:8],
                "big",
                signed=True,
            )
            for c in cells
        ]

    def digest_sql(self, cell: Callable[[int], str]) -> tuple[str, dict[str, Any]]:
        """The same digest as an SQL expression (PostgreSQL) over a CSV row whose cells are text:
        `cell(i)` is the expression of the row's i-th cell (NULL for an empty one, as COPY reads
        it, and the empty text the CSV reader gives). Returns (SQL, its named parameters)."""
        # || rather than concat_ws: half the time (concat_ws calls each argument's output function).
        text = " || E'\\x1f' || ".join(f"COALESCE({cell(i)}, '')" for i in self._digest_positions)
        return f"('x' || left(md5(%(digest_salt)s || {text}), 16))::bit(64)::bigint", {"digest_salt": self._digest_salt}

    def check_chunk(self, rows: Sequence[tuple[int, Sequence[Any]]]) -> list[tuple]:
        """Rows the book already holds as they are read (the same digest of their cells as the import
        that wrote the loan, and the loan's file columns untouched since: a trigger forgets the digest
        when anything else changes them) are not converted or checked again: only what can differ
        from that import is (the branch and officer they name, the as-of date's checks and warning),
        and the borrower columns the checks across rows read. They are staged as unchanged."""
        if not rows:
            return []
        row_nos = [row_no for row_no, _ in rows]
        width = self.width
        cells = [c if len(c) >= width else [*c, *([None] * (width - len(c)))] for _, c in rows]
        digests = self.row_digests(cells)
        skip = self._unchanged(row_nos, cells, digests) if self.imported is not None else set()
        if not skip:
            out = self._check(row_nos, cells)
            return [(*row, digest, False) for row, digest in zip(out, digests, strict=True)]
        full = [i for i in range(len(cells)) if i not in skip]
        out = self._check([row_nos[i] for i in full], [cells[i] for i in full])
        staged = [(*row, digests[i], False) for row, i in zip(out, full, strict=True)]
        kept = sorted(skip)
        kept_nos = [row_nos[i] for i in kept]
        values = self._parse(kept_nos, [cells[i] for i in kept], {"loan_no", *_BORROWER_FIELDS})
        blank = (None,) * (len(self.stage_columns) - 7)
        staged.extend(
            (row_no, loan_no, name, id_no, kind, skip[i][0], skip[i][1], *blank, digests[i], True)
            for i, row_no, loan_no, name, id_no, kind in zip(
                kept,
                kept_nos,
                values["loan_no"],
                values["borrower_name"],
                values["borrower_id_no"],
                values["borrower_kind"],
                strict=True,
            )
        )
        self.rows_skipped += len(kept)
        return staged

    def _unchanged(self, row_nos: list[int], cells: list[Sequence[Any]], digests: list[int]) -> dict[int, tuple]:
        """Positions of the rows the book holds as they are -> (branch id, officer id) to stage."""
        positions = self.header_map.positions
        at = positions["loan_no"][0]
        loan_nos = [c[at].strip() if c[at].__class__ is str else None for c in cells]
        found = self.imported(loan_nos, digests, self.as_of)
        if not found:
            return {}
        branch_at = positions["branch_code"][0]
        officer_at = positions["officer_username"][0] if "officer_username" in positions else -1
        overdue_in_file = "overdue_since" in positions
        as_of, may_warn = self.as_of, self.errors.may_warn
        skip: dict[int, tuple] = {}
        for i, key in enumerate(zip(loan_nos, digests, strict=True)):
            loan = found.get(key)
            if loan is None:
                continue
            branch_id, officer_id, overdue, matured_with_balance = loan
            row = cells[i]
            if self._branch_of(row[branch_at]) != branch_id:
                continue  # a branch renamed or gone since: read in full (it says so)
            if officer_at >= 0 and self._officer_of(row[officer_at]) != officer_id:
                continue  # an officer gone, no longer active or another: read in full (it says so)
            if not overdue_in_file:
                overdue = None
            if overdue is not None and overdue > as_of:
                continue  # the as-of date is before the book's overdue date: the full check says so
            if may_warn and matured_with_balance and overdue is None:
                continue  # the past-maturity warning, written by the full check while warnings are kept
            skip[i] = (branch_id, None if officer_at < 0 else officer_id)
        return skip

    def unchanged_probe(self) -> UnchangedProbe:
        """_unchanged's rules for a CSV row read by PostgreSQL (staging.PostgresStage.stage_unchanged_loans)."""
        positions = self.header_map.positions
        digest, params = self.digest_sql(lambda i: f"r.c{i}")

        def officer_of(cell: str) -> tuple[bool, int | None]:
            officer_id = self._officer_of(cell)
            return officer_id is not _MISSING, None if officer_id is _MISSING else officer_id

        return UnchangedProbe(
            digest_sql=digest,
            digest_params=params,
            loan_at=positions["loan_no"][0],
            branch_at=positions["branch_code"][0],
            branch_of=self._branch_of,
            officer_at=positions["officer_username"][0] if "officer_username" in positions else None,
            officer_of=officer_of,
            overdue_in_file="overdue_since" in positions,
            warn_past_maturity=self.errors.may_warn,
            as_of=self.as_of,
            kind_in_file="borrower_kind" in positions,
            kind_default=self.default_for(self.spec.column("borrower_kind")),
        )

    def _branch_of(self, cell: Any) -> int | None:
        """The branch id a cell names as the full check reads it; None when it names none (or is wrong)."""
        cache, key = self._branch_cache, (cell.__class__, cell)  # 1, 1.0 and True are one dict key
        if key in cache:
            return cache[key]
        try:
            code = "" if is_blank(cell) else parse_text(cell, max_length=self.spec.column("branch_code").max_length)
        except CellError:
            code = ""
        branches = self.lookups.branches
        cache[key] = branch_id = (branches.get(code) or branches.get(code.upper())) if code else None
        return branch_id

    def _officer_of(self, cell: Any) -> int | None | object:
        """The active officer's id a cell names (None for a blank cell); _MISSING when the full check
        would refuse it."""
        cache, key = self._officer_cache, (cell.__class__, cell)
        if key in cache:
            return cache[key]
        try:
            name = (
                "" if is_blank(cell) else parse_text(cell, max_length=self.spec.column("officer_username").max_length)
            )
        except CellError:
            name = None
        if name == "":
            officer_id = None
        else:
            user = self.lookups.user(name) if name else None
            officer_id = user[0] if user is not None and user[1] else _MISSING
        cache[key] = officer_id
        return officer_id

    def rules(self, values: dict[str, list[Any]], row_nos: list[int]) -> None:
        values["branch_id"] = self._branch_ids(values["branch_code"], row_nos)
        values["officer_id"] = self._officer_ids(values["officer_username"], row_nos)
        self.positive(values, row_nos, "principal")
        for name in ("outstanding_principal", "interest_on_balance", "interest_off_balance"):
            self.not_negative(values, row_nos, name)
        principal, outstanding = values["principal"], values["outstanding_principal"]
        disbursed, maturity, overdue = values["disbursed_on"], values["maturity_on"], values["overdue_since"]
        as_of = self.as_of
        for i, p, o, d, m, od in zip(
            range(len(row_nos)), principal, outstanding, disbursed, maturity, overdue, strict=True
        ):
            if p is not None and o is not None and o > p:
                self.error(
                    row_nos[i],
                    "outstanding_principal",
                    gettext("%(value)s is more than the principal %(principal)s")
                    % {"value": quoted(str(o)), "principal": quoted(str(p))},
                )
                outstanding[i] = None
            if m is not None and m < as_of and o is not None and o > 0 and od is None and self.errors.may_warn:
                # Item 5 (issue 11): past maturity is overdue (loans.classification.effective_overdue_since).
                self.errors.warn(
                    self.spec,
                    self.header_map,
                    row_nos[i],
                    "overdue_since",
                    gettext(
                        "is empty, but the loan matured on %(day)s and %(amount)s is still outstanding: it is "
                        "classified as overdue from %(next_day)s"
                    )
                    % {"day": m.isoformat(), "amount": quoted(str(o)), "next_day": (m + timedelta(days=1)).isoformat()},
                )
            if d is not None and m is not None and m < d:
                self.error(
                    row_nos[i],
                    "maturity_on",
                    gettext("%(day)s is before the disbursement date %(disbursed)s")
                    % {"day": m.isoformat(), "disbursed": d.isoformat()},
                )
            if od is not None:
                if d is not None and od < d:
                    self.error(
                        row_nos[i],
                        "overdue_since",
                        gettext("%(day)s is before the disbursement date %(disbursed)s")
                        % {"day": od.isoformat(), "disbursed": d.isoformat()},
                    )
                elif od > as_of:
                    self.error(
                        row_nos[i],
                        "overdue_since",
                        gettext("%(day)s is later than the as-of date %(as_of)s")
                        % {"day": od.isoformat(), "as_of": as_of.isoformat()},
                    )
        known, key = self.classes.known.get, self.classes.key
        # Item 5 (issue 11): a loan past maturity with a balance is classified as overdue from maturity.
        # The stored overdue date stays what the book says; only the class reads the maturity.
        class_overdue = [
            effective_overdue_since(od, m, o + (ion or ZERO) + (ioff or ZERO), as_of) if o is not None else od
            for od, m, o, ion, ioff in zip(
                overdue,
                maturity,
                outstanding,
                values["interest_on_balance"],
                values["interest_off_balance"],
                strict=True,
            )
        ]
        keys = [
            (k if (k := known((od, ceased))) is not None else key(od, ceased)) if o is not None else None
            for od, ceased, o in zip(class_overdue, values["business_ceased"], outstanding, strict=True)
        ]
        free, provision = self.classes.provision_free, self.classes.provision
        values["class_key"] = keys
        values["specific_provision"] = [
            (ZERO if free[k] else provision(k, o)) if k is not None else None
            for k, o in zip(keys, outstanding, strict=True)
        ]

    def _branch_ids(self, codes: list[Any], row_nos: list[int]) -> list[Any]:
        branches = self.lookups.branches
        ids = [(branches.get(c) or branches.get(c.upper(), _MISSING)) if c else None for c in codes]
        for i in [i for i, v in enumerate(ids) if v is _MISSING]:
            self.error(row_nos[i], "branch_code", gettext("unknown branch code %(code)s") % {"code": quoted(codes[i])})
            ids[i] = None
        return ids

    def _officer_ids(self, usernames: list[Any], row_nos: list[int]) -> list[Any]:
        users = self.lookups.users
        found = [users.get(u, _MISSING) if u else None for u in usernames]
        ids: list[Any] = []
        for i, user in enumerate(found):
            if user is _MISSING:
                user = self.lookups.user(usernames[i])
            if user is None:
                ids.append(None)
                if usernames[i]:
                    self.error(
                        row_nos[i],
                        "officer_username",
                        gettext("unknown user %(name)s") % {"name": quoted(usernames[i])},
                    )
            elif not user[1]:
                ids.append(None)
                self.error(
                    row_nos[i],
                    "officer_username",
                    gettext("user %(name)s is no longer active") % {"name": quoted(usernames[i])},
                )
            else:
                ids.append(user[0])
        return ids


def _row_text(cells: tuple) -> str:
    """A row's cells as one text: joined when all are text (a CSV row), else their repr (an XLSX row's
    numbers and dates, a short row's missing cells), which never holds the separator as such."""
    try:
        return "\x1f".join(cells)
    except TypeError:
        return repr(cells)


# What the checks across rows read of a row staged as unchanged (the borrower agrees with other rows).
_BORROWER_FIELDS = ("borrower_name", "borrower_id_no", "borrower_kind")
# Part of every row digest: a change to how rows are read or checked makes every row read in full once.
DIGEST_VERSION = 2


class GuaranteeChecker(SheetChecker):
    spec = GUARANTEES
    stage_columns = ("row_no", "loan_no", "guarantor_name", "guarantor_id_no", "guarantor_kind", "amount", "signed_on")

    def default_for(self, column: Column) -> Any:
        if column.field == "guarantor_kind":
            return "individual"
        return super().default_for(column)

    def rules(self, values: dict[str, list[Any]], row_nos: list[int]) -> None:
        self.positive(values, row_nos, "amount")


class CollateralChecker(SheetChecker):
    spec = COLLATERAL
    stage_columns = ("row_no", "loan_no", "kind", "description", "appraised_value", "appraised_on", "lien_status")

    def default_for(self, column: Column) -> Any:
        if column.field == "lien_status":
            return "free"
        return super().default_for(column)

    def rules(self, values: dict[str, list[Any]], row_nos: list[int]) -> None:
        self.not_negative(values, row_nos, "appraised_value")
