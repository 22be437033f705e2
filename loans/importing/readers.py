"""Reading CSV and XLSX files as streams of (row number, cells).

Row numbers are the ones the spreadsheet shows (the first row is 1); blank rows are skipped
(trailing ones included) without changing the numbers of the rows after them. Nothing here
keeps the rows: CSV is decoded and parsed as it is read; XLSX goes through python-calamine,
whose rows are handed over one at a time (calamine itself holds the sheet's cells in its own
compact Rust structures, not as Python objects) once loans.importing.limits has checked that
the workbook fits in them.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from loans.importing.columns import SHEETS, SheetSpec, sheet_for_name
from loans.importing.limits import FileRefused, check_workbook

NOT_A_SPREADSHEET = "the file is not a CSV or Excel (XLSX) spreadsheet"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_SNIFF_BYTES = 64 * 1024

Source = str | os.PathLike | IO[bytes]


class ReadError(Exception):
    """The file as a whole cannot be read; the message is shown as it is."""


@dataclass
class CsvSource:
    """A CSV file's bytes as the reader decodes them, for a reader of its own (PostgreSQL's COPY:
    loans.importing.staging.PostgresStage.copy_raw)."""

    stream: IO[bytes]
    encoding: str
    delimiter: str


@dataclass
class SheetReader:
    name: str
    rows: Iterator[tuple[int, list[Any]]]
    # Data rows expected (for the progress bar); an estimate for CSV.
    estimated_rows: int = 0
    # A CSV sheet's file (None for a workbook's sheet).
    csv: CsvSource | None = None


@dataclass
class OpenedFile:
    kind: str  # "csv" or "xlsx"
    sheets: dict[str, SheetReader] = field(default_factory=dict)
    _close: list = field(default_factory=list)

    def close(self) -> None:
        for closer in self._close:
            with contextlib.suppress(Exception):  # closing is best effort
                closer()


def _binary(source: Source) -> tuple[IO[bytes], bool]:
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True  # noqa: SIM115 - closed by OpenedFile.close
    return source, False


def open_sheets(source: Source, *, default: SheetSpec) -> OpenedFile:
    """Open a CSV or spreadsheet file. A CSV file is one sheet, `default`; a workbook's sheets are
    found by name (Loans/贷款, Guarantees/担保, Collateral/抵质押品), and `default` falls back to
    the first sheet when no sheet carries its name."""
    stream, owned = _binary(source)
    try:
        head = stream.read(_SNIFF_BYTES)
        stream.seek(0)
    except Exception:
        if owned:
            stream.close()
        raise
    opened = OpenedFile(kind="csv")
    if owned:
        opened._close.append(stream.close)
    if not head:
        opened.sheets[default.code] = SheetReader(default.title, iter(()), 0)
        return opened
    if head.startswith(_OLE_MAGIC):
        # calamine would read it, but its grid cannot be checked before (see limits.py).
        raise ReadError(_("Excel 97-2003 (.xls) files are not imported: save the file as .xlsx or CSV"))
    if head.startswith(_ZIP_MAGIC):
        opened.kind = "xlsx"
        _open_workbook(stream, default, opened)
        return opened
    encoding = _text_encoding(head)
    size = _size(stream)
    estimated = max(0, _count_lines(stream) - 1) if size is not None else 0
    delimiter = _delimiter(head, encoding)
    opened.sheets[default.code] = SheetReader(
        default.title, _csv_rows(stream, encoding, delimiter), estimated, CsvSource(stream, encoding, delimiter)
    )
    return opened


def _size(stream: IO[bytes]) -> int | None:
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return end
    except (OSError, ValueError):
        return None


def _count_lines(stream: IO[bytes]) -> int:
    count = 0
    last = b""
    while chunk := stream.read(1 << 20):
        count += chunk.count(b"\n")
        last = chunk
    stream.seek(0)
    return count + (1 if last and not last.endswith(b"\n") else 0)


def _text_encoding(head: bytes) -> str:
    if b"\x00" in head:
        raise ReadError(NOT_A_SPREADSHEET)
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            # final=False: a character cut at the end of the sample is not an error.
            decoder.decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    # Text that neither reads: taken as UTF-8, so the reader names the row with the bad bytes.
    return "utf-8-sig"


def _delimiter(head: bytes, encoding: str) -> str:
    first = head.decode(encoding, errors="ignore").splitlines()[0] if head.strip() else ""
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def is_blank_row(cells: list[str]) -> bool:
    """A CSV row with no text at all, or only spaces: skipped, its number kept (the join runs only
    when the first cell is blank)."""
    return not any(cells) or (not cells[0].strip() and not "".join(cells).strip())


def _csv_rows(stream: IO[bytes], encoding: str, delimiter: str) -> Iterator[tuple[int, list[Any]]]:
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    row_no = 0
    try:
        for cells in reader:
            row_no += 1
            if is_blank_row(cells):
                continue
            yield row_no, cells
    except UnicodeDecodeError:
        # The wrapper decodes blocks ahead of the row being parsed: find the row again.
        text.detach()
        text = None
        bad_row = _row_with_bad_text(stream, encoding, delimiter)
        raise ReadError(f"row {bad_row}: the text is not valid {encoding.removesuffix('-sig').upper()}") from None
    except csv.Error as exc:
        raise ReadError(f"row {row_no + 1}: the CSV cannot be read ({exc})") from None
    finally:
        if text is not None:
            text.detach()


def _row_with_bad_text(stream: IO[bytes], encoding: str, delimiter: str) -> int:
    """The row (CSV record, as a spreadsheet numbers them) holding the first bytes that do not
    decode: the file is read again line by line, so a cell spanning lines counts as one row."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    failed = False

    def lines() -> Iterator[str]:
        nonlocal failed
        for raw in iter(stream.readline, b""):
            try:
                yield decoder.decode(raw)
            except UnicodeDecodeError:
                failed = True
                return

    complete = 0
    try:
        for _ in csv.reader(lines(), delimiter=delimiter):
            if failed:
                break  # the record cut short by the bad line is the bad row
            complete += 1
    except csv.Error:
        pass
    return complete + 1


def _open_workbook(stream: IO[bytes], default: SheetSpec, opened: OpenedFile) -> None:
    try:
        # Before calamine allocates anything: sizes, ratio, and every sheet's extent (limits.py).
        check_workbook(stream)
    except FileRefused as exc:
        raise ReadError(str(exc)) from None
    try:
        workbook = CalamineWorkbook.from_object(stream)
    except Exception:  # calamine raises several types for zip/xml/format problems
        raise ReadError(NOT_A_SPREADSHEET) from None
    opened._close.append(workbook.close)
    names = [m.name for m in workbook.sheets_metadata if m.visible == SheetVisibleEnum.Visible] or workbook.sheet_names
    claimed: dict[str, str] = {}
    for name in names:
        spec = sheet_for_name(name)
        if spec is not None and spec.code not in claimed:
            claimed[spec.code] = name
    if default.code not in claimed:
        taken = set(claimed.values())
        first_free = next((n for n in names if n not in taken), None)
        if first_free is not None:
            claimed[default.code] = first_free
    for spec in SHEETS:
        name = claimed.get(spec.code)
        if name is None:
            continue
        try:
            sheet = workbook.get_sheet_by_name(name)
        except Exception:
            raise ReadError(f"the sheet “{name}” cannot be read") from None
        opened.sheets[spec.code] = SheetReader(name, _xlsx_rows(sheet), max(0, sheet.height - 1))


def _xlsx_rows(sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    # calamine's iter_rows yields every row from the sheet's first row (row 1), so the position
    # is the row number the spreadsheet shows.
    for row_no, cells in enumerate(sheet.iter_rows(), start=1):
        for cell in cells:
            if cell != "" and cell is not None:
                break
        else:
            continue
        if all(isinstance(c, str) and not c.strip() for c in cells):
            continue
        yield row_no, cells


def file_name_of(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return Path(getattr(source, "name", "") or "upload").name
