"""The sheets of a loan-book file and their columns, in English and Chinese.

One place for the names: the template, the header mapping, the validator and the exporter all
read these specs. Headers match by name with case, spaces and underscores ignored, and each
column also accepts its Chinese name.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext

from loans.importing.values import format_cell, is_blank, normalise_word


class Kind:
    TEXT = "text"
    IDENTIFIER = "identifier"  # loan numbers, ID numbers: text that Excel must not have rounded
    AMOUNT = "amount"
    DATE = "date"
    BOOL = "bool"
    CHOICE = "choice"


@dataclass(frozen=True)
class Column:
    field: str
    chinese: str
    kind: str
    required: bool = False
    max_length: int = 200
    example: Any = ""
    # For CHOICE columns: code -> accepted spellings (besides the code itself).
    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)
    help: str = ""

    @property
    def names(self) -> tuple[str, str]:
        return (self.field, self.chinese)

    def choice_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for code, spellings in self.choices.items():
            for spelling in (code, *spellings):
                out[normalise_word(spelling)] = code
        return out

    def expected_choices(self) -> str:
        return ", ".join(f"{code} ({spellings[-1]})" if spellings else code for code, spellings in self.choices.items())


BORROWER_KINDS = {
    "individual": ("Individual", "自然人", "个人"),
    "enterprise": ("Enterprise", "企业"),
    "government_agency": ("Government agency", "政府机构", "政府机关"),
    "village_collective": ("Village collective", "村集体"),
    "public_institution": ("Public institution", "事业单位"),
}
GUARANTOR_KINDS = {
    "individual": ("Individual", "自然人", "个人"),
    "enterprise": ("Enterprise", "企业"),
    "guarantee_company": ("Guarantee company", "担保公司"),
}
COLLATERAL_KINDS = {
    "real_estate": ("Real estate", "不动产", "房产"),
    "land_use_right": ("Land-use right", "Land use right", "土地使用权"),
    "vehicle": ("Vehicle", "车辆"),
    "equipment": ("Machinery and equipment", "Equipment", "机器设备"),
    "deposit": ("Deposit / certificate", "Deposit", "存单"),
    "receivables": ("Receivables", "应收账款"),
    "other": ("Other", "其他"),
}
LIEN_STATUSES = {
    "free": ("Free", "正常"),
    "frozen": ("Frozen", "冻结"),
    "sealed": ("Sealed", "查封"),
    "auctioned": ("Auctioned", "拍卖"),
}

LOAN_COLUMNS: tuple[Column, ...] = (
    Column("loan_no", "贷款编号", Kind.IDENTIFIER, required=True, max_length=40, example="L2024-000123"),
    Column("borrower_name", "借款人名称", Kind.TEXT, required=True, max_length=200, example="Zhang Wei"),
    Column("borrower_id_no", "证件号码", Kind.IDENTIFIER, required=True, max_length=50, example="110101199001011234"),
    Column("borrower_kind", "借款人类型", Kind.CHOICE, example="individual", choices=BORROWER_KINDS),
    Column("branch_code", "机构代码", Kind.TEXT, required=True, max_length=20, example="B01"),
    Column("officer_username", "责任人", Kind.TEXT, max_length=150, example="officer"),
    Column("product", "贷款品种", Kind.TEXT, max_length=100, example="Working capital"),
    Column("principal", "贷款本金", Kind.AMOUNT, required=True, example="500,000.00"),
    Column("outstanding_principal", "贷款余额", Kind.AMOUNT, required=True, example="320,000.00"),
    Column("interest_on_balance", "表内应收利息", Kind.AMOUNT, example="4,500.00"),
    Column("interest_off_balance", "表外应收利息", Kind.AMOUNT, example="1,200.00"),
    Column("disbursed_on", "发放日期", Kind.DATE, required=True, example=date(2023, 3, 15)),
    Column("maturity_on", "到期日期", Kind.DATE, required=True, example=date(2026, 3, 15)),
    Column("overdue_since", "逾期起始日", Kind.DATE, example=date(2025, 11, 20), help="empty when nothing is overdue"),
    Column("business_ceased", "停产停业", Kind.BOOL, example="no"),
    Column("government_directed", "政府指令性贷款", Kind.BOOL, example="no"),
)

GUARANTEE_COLUMNS: tuple[Column, ...] = (
    Column("loan_no", "贷款编号", Kind.IDENTIFIER, required=True, max_length=40, example="L2024-000123"),
    Column("guarantor_name", "保证人名称", Kind.TEXT, required=True, max_length=200, example="Li Na"),
    Column(
        "guarantor_id_no", "保证人证件号码", Kind.IDENTIFIER, required=True, max_length=50, example="110101198505053456"
    ),
    Column("guarantor_kind", "保证人类型", Kind.CHOICE, example="individual", choices=GUARANTOR_KINDS),
    Column("amount", "担保金额", Kind.AMOUNT, required=True, example="200,000.00"),
    Column("signed_on", "签订日期", Kind.DATE, example=date(2023, 3, 15)),
)

COLLATERAL_COLUMNS: tuple[Column, ...] = (
    Column("loan_no", "贷款编号", Kind.IDENTIFIER, required=True, max_length=40, example="L2024-000123"),
    Column("kind", "押品类型", Kind.CHOICE, required=True, example="real_estate", choices=COLLATERAL_KINDS),
    Column("description", "押品名称", Kind.TEXT, required=True, max_length=300, example="Flat 3-201, Riverside Road 8"),
    Column("appraised_value", "评估价值", Kind.AMOUNT, required=True, example="450,000.00"),
    Column("appraised_on", "评估日期", Kind.DATE, example=date(2023, 3, 1)),
    Column("lien_status", "查封状态", Kind.CHOICE, example="free", choices=LIEN_STATUSES),
)

# Columns of the loan export that an import ignores, so an exported file can be imported again.
LOAN_EXPORT_ONLY: tuple[Column, ...] = (
    Column("branch_name", "机构名称", Kind.TEXT),
    Column("responsible_officer", "责任人姓名", Kind.TEXT),
    Column("days_past_due", "逾期天数", Kind.TEXT),
    Column("five_level_class", "五级分类", Kind.TEXT),
    Column("four_level_class", "四级分类", Kind.TEXT),
    Column("specific_provision", "专项准备", Kind.TEXT),
    Column("case_measure", "清收措施", Kind.TEXT),
)


@dataclass(frozen=True)
class SheetSpec:
    code: str  # "loans", "guarantees", "collateral"
    title: str  # the sheet name in the template
    chinese: str
    columns: tuple[Column, ...]
    # Sheet names (normalised) that mean this sheet in an XLSX workbook.
    sheet_names: tuple[str, ...]
    ignored: tuple[Column, ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.field == name)

    @property
    def label(self) -> str:
        return f"{self.title} sheet"

    @property
    def label_words(self) -> str:
        """The sheet's name in the user's language."""
        from django.utils.translation import gettext

        return {
            "loans": gettext("Loans"),
            "guarantees": gettext("Guarantees"),
            "collateral": gettext("Collateral"),
        }.get(self.code, self.title)


LOANS = SheetSpec(
    "loans", "Loans", "贷款", LOAN_COLUMNS, ("loans", "loan", "贷款", "贷款清单", "loanbook"), LOAN_EXPORT_ONLY
)
GUARANTEES = SheetSpec(
    "guarantees", "Guarantees", "担保", GUARANTEE_COLUMNS, ("guarantees", "guarantee", "担保", "保证", "担保信息")
)
COLLATERAL = SheetSpec(
    "collateral", "Collateral", "抵质押品", COLLATERAL_COLUMNS, ("collateral", "抵质押品", "押品", "抵押物", "抵押品")
)
SHEETS = (LOANS, GUARANTEES, COLLATERAL)


@dataclass
class HeaderProblem:
    column: str  # the header as written ("" for a missing column)
    message: str


@dataclass
class HeaderMap:
    """Where each field is in a sheet: field -> (cell index, header as written)."""

    spec: SheetSpec
    row_no: int
    positions: dict[str, tuple[int, str]]
    width: int

    def has(self, field_name: str) -> bool:
        return field_name in self.positions

    def header(self, field_name: str) -> str:
        pos = self.positions.get(field_name)
        return pos[1] if pos else field_name


def _aliases(columns: Sequence[Column]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in columns:
        for name in c.names:
            out[normalise_word(name)] = c.field
    return out


def map_headers(spec: SheetSpec, row_no: int, cells: Sequence[Any]) -> tuple[HeaderMap, list[HeaderProblem]]:
    known = _aliases(spec.columns)
    ignored = _aliases(spec.ignored)
    positions: dict[str, tuple[int, str]] = {}
    problems: list[HeaderProblem] = []
    for index, cell in enumerate(cells):
        if is_blank(cell):
            continue
        written = format_cell(cell).strip()
        name = normalise_word(written)
        field_name = known.get(name)
        if field_name is None:
            if name not in ignored:
                problems.append(
                    HeaderProblem(written, gettext("unknown column (the template lists the columns this sheet takes)"))
                )
            continue
        if field_name in positions:
            problems.append(
                HeaderProblem(
                    written,
                    gettext("the column “%(column)s” already holds %(field)s")
                    % {"column": positions[field_name][1], "field": field_name},
                )
            )
            continue
        positions[field_name] = (index, written)
    for c in spec.columns:
        if c.required and c.field not in positions:
            problems.append(
                HeaderProblem(
                    "",
                    gettext("required column “%(field)s” (%(chinese)s) is missing")
                    % {"field": c.field, "chinese": c.chinese},
                )
            )
    width = max((i for i, _ in positions.values()), default=-1) + 1
    return HeaderMap(spec, row_no, positions, width), problems


def is_header_echo(header_map: HeaderMap, cells: Sequence[Any]) -> bool:
    """True for a second header line (the template's Chinese names under the English ones)."""
    known = _aliases(header_map.spec.columns)
    seen = 0
    for field_name, (index, _) in header_map.positions.items():
        cell = cells[index] if index < len(cells) else None
        if is_blank(cell):
            continue
        if known.get(normalise_word(format_cell(cell))) != field_name:
            return False
        seen += 1
    return seen > 0


def sheet_for_name(name: str) -> SheetSpec | None:
    key = normalise_word(name)
    return next((s for s in SHEETS if key in s.sheet_names), None)


# Title rows above the header ("Loan book, June 2026") are skipped: the header is the first of the
# first few rows that names at least two known columns.
HEADER_SEARCH_ROWS = 10


def find_header(
    spec: SheetSpec, rows: Iterator[tuple[int, list[Any]]]
) -> tuple[tuple[int, list[Any]], Iterator] | None:
    """(header row, the remaining rows), or None for a sheet without any row."""
    known = _aliases(spec.columns)
    seen: list[tuple[int, list[Any]]] = []
    for row in rows:
        seen.append(row)
        names = sum(1 for cell in row[1] if not is_blank(cell) and normalise_word(format_cell(cell)) in known)
        if names >= 2:
            return row, rows
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        return None
    # No row looks like a header: take the first, so its columns are reported as unknown.
    return seen[0], itertools.chain(seen[1:], rows)
