"""The downloadable template: every column, a second header line in Chinese, one example row."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from loans.importing.columns import SHEETS, Column, Kind, SheetSpec
from loans.importing.values import format_cell

# Rows the drop-down lists cover (a loan book of more rows still imports: the lists only help typing).
VALIDATED_ROWS = 100_000


def allowed_values(column: Column) -> list[str] | None:
    """The codes a coded column takes, for the template's drop-down list; None for free columns."""
    if column.kind == Kind.BOOL:
        return ["yes", "no"]
    if column.kind == Kind.CHOICE and column.choices:
        return list(column.choices)
    return None


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template_xlsx() -> bytes:
    """One sheet per part of the loan book (Loans, Guarantees, Collateral)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    header_font = Font(bold=True)
    chinese_fill = PatternFill("solid", fgColor="EEF2FF")
    for spec in SHEETS:
        sheet = workbook.create_sheet(spec.title)
        sheet.append([c.field for c in spec.columns])
        sheet.append([c.chinese for c in spec.columns])
        sheet.append([c.example for c in spec.columns])
        for index, column in enumerate(spec.columns, start=1):
            letter = get_column_letter(index)
            sheet[f"{letter}1"].font = header_font
            sheet[f"{letter}2"].fill = chinese_fill
            example = sheet[f"{letter}3"]
            if isinstance(column.example, date):
                example.number_format = "yyyy-mm-dd"
            elif column.kind == "identifier":
                example.number_format = "@"  # text: Excel must not turn an ID number into 1.1E+17
            sheet.column_dimensions[letter].width = max(14, len(column.field) + 4)
            values = allowed_values(column)
            if values:
                # A drop-down list of the codes.
                validation = DataValidation(
                    type="list",
                    formula1='"' + ",".join(values) + '"',
                    allow_blank=not column.required,
                    showErrorMessage=True,
                    errorStyle="warning",  # a warning, not a refusal: the Chinese spellings are accepted too
                    errorTitle=column.chinese,
                    error="、".join(values),
                )
                validation.add(f"{letter}3:{letter}{VALIDATED_ROWS}")
                sheet.add_data_validation(validation)
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_csv(spec: SheetSpec) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.field for c in spec.columns])
    writer.writerow([c.chinese for c in spec.columns])
    writer.writerow([format_cell(c.example) for c in spec.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
