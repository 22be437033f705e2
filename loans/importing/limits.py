"""How much the importer accepts: the size of an upload, and what an XLSX workbook may hold before
python-calamine reads it (security review, findings 1 and 2).

calamine builds each sheet as one dense grid from its top-left to its bottom-right cell (32 bytes a
cell) and reserves the shared-string table at the size the file declares. A 1.5 KB sheet with
cells at A1 and XFD1048576, or a table declaring four billion strings, asks for hundreds of GB and
the process aborts. So, before calamine sees a workbook, `check_workbook` reads its zip directory
(no decompression) and then streams each member once through zlib, refusing:

- more uncompressed bytes than the limit, or a member that expands more than the ratio allows
  (a zip bomb), checked on what the directory declares and again on what really comes out;
- a sheet declaring (<dimension>) or holding a cell beyond the row and column limits, and a
  shared-string table declaring more strings than the sheet limits allow.

What calamine then reads is bounded: at most rows x columns cells (32 bytes each: 205 MB at the
default 200,000 x 32) plus the text of the cells, itself bounded by the uncompressed size. The
stream is scanned with regular expressions: cells written as `<c r="A1" ...>` (Excel, LibreOffice,
openpyxl) are checked in C; any other spelling (no r attribute, a namespace prefix) falls back to
following rows and cells one by one, the way calamine places them.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _

MB = 1024 * 1024
CELL_BYTES = 32  # calamine's Data enum
STRING_SLOT_BYTES = 24  # a Rust String in calamine's shared-string table
# Excel's own limits: a reference beyond them is not a spreadsheet.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
# A workbook's directory: Excel writes a few dozen entries.
MAX_MEMBERS = 10_000
MAX_DIRECTORY_BYTES = 4 * MB
# Members smaller than this are not held to the compression ratio (tiny XML compresses well).
RATIO_FROM_BYTES = MB
_CHUNK = MB


class FileRefused(Exception):
    """The file is out of bounds; the message says what and which limit."""


@dataclass(frozen=True)
class FileLimits:
    upload_max_bytes: int = 50 * MB
    xlsx_max_rows: int = 200_000
    xlsx_max_columns: int = 32
    xlsx_max_uncompressed_bytes: int = 256 * MB
    xlsx_max_ratio: int = 100

    @property
    def grid_bytes(self) -> int:
        return self.xlsx_max_rows * self.xlsx_max_columns * CELL_BYTES


def file_limits() -> FileLimits:
    """The limits from the settings (NPL_UPLOAD_MAX_BYTES, NPL_IMPORT_XLSX_*)."""
    from django.conf import settings

    return FileLimits(
        upload_max_bytes=settings.NPL_UPLOAD_MAX_BYTES,
        xlsx_max_rows=settings.NPL_IMPORT_XLSX_MAX_ROWS,
        xlsx_max_columns=settings.NPL_IMPORT_XLSX_MAX_COLUMNS,
        xlsx_max_uncompressed_bytes=settings.NPL_IMPORT_XLSX_MAX_UNCOMPRESSED_MB * MB,
        xlsx_max_ratio=settings.NPL_IMPORT_XLSX_MAX_RATIO,
    )


def megabytes(n: int) -> str:
    if n % MB == 0:
        return f"{n // MB:,} MB"
    if n < MB:
        return f"{n / 1024:,.0f} KB"
    return f"{n / MB:,.1f} MB"


# --- uploads ------------------------------------------------------------------------------------


def upload_refusal(size: int | None, *, name: str = "", limits: FileLimits | None = None) -> str | None:
    """The message refusing an upload of `size` bytes, or None when it may be read."""
    limit = (limits or file_limits()).upload_max_bytes
    if size is None or size <= limit:
        return None
    if name:
        return _("“%(name)s” is %(size)s; files of at most %(limit)s may be uploaded.") % {
            "name": name,
            "size": megabytes(size),
            "limit": megabytes(limit),
        }
    return _("The upload is %(size)s; at most %(limit)s may be uploaded.") % {
        "size": megabytes(size),
        "limit": megabytes(limit),
    }


# --- cell references ----------------------------------------------------------------------------


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _at_most(limit: str, alphabet: str, first: str) -> str:
    """A regex for the strings over `alphabet` (first character from `first`) that are at most
    `limit` in the order where a longer string is larger (numbers without leading zeros; column
    letters, which count A..Z, AA..ZZ, ...)."""
    low, high = alphabet[0], alphabet[-1]
    parts = []
    if len(limit) > 1:
        parts.append(f"[{first[0]}-{high}][{low}-{high}]{{0,{len(limit) - 2}}}")
    for i, char in enumerate(limit):
        start = first[0] if i == 0 else low
        if char > start:
            below = chr(ord(char) - 1)
            rest = len(limit) - i - 1
            tail = f"[{low}-{high}]{{{rest}}}" if rest else ""
            parts.append(f"{re.escape(limit[:i])}[{start}-{below}]{tail}")
    parts.append(re.escape(limit))
    return "(?:" + "|".join(parts) + ")"


@dataclass
class _Extent:
    rows: int = 0
    columns: int = 0
    where: str = ""

    def take(self, row: int, column: int) -> None:
        if row > self.rows:
            self.rows = row
            self.where = f"{column_letters(column)}{row}"
        if column > self.columns:
            self.columns = column
            self.where = f"{column_letters(column)}{row}"


_REF = re.compile(r"\$?([A-Za-z]{1,4})\$?(\d{1,8})")
_DIMENSION = re.compile(rb"dimension\s+ref\s*=\s*[\"']([^\"']{1,40})[\"']")
_SST_UNIQUE = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*?\buniqueCount\s*=\s*[\"'](\d{1,20})[\"']")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_TAG = re.compile(rb"<(/?)(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTRIBUTE = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([^\"']*)[\"']")


def _parse_ref(ref: bytes) -> tuple[int, int] | None:
    match = _REF.fullmatch(ref.decode("ascii", "replace").strip())
    if not match:
        return None
    return int(match.group(2)), column_number(match.group(1).upper())


class _SheetScan:
    """Follows one member's XML, chunk by chunk, for the cells it holds and what it declares."""

    def __init__(self, limits: FileLimits, *, exact: bool = False) -> None:
        self.limits = limits
        cols = _at_most(column_letters(limits.xlsx_max_columns), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "A")
        rows = _at_most(str(limits.xlsx_max_rows), "0123456789", "1")
        # A cell tag that is not `<c r="IN BOUNDS"`: out of bounds, or written some other way.
        self._unusual_cell = re.compile(rb'<c(?=[\s/>])(?!\s+r="' + cols.encode() + rows.encode() + rb'")')
        self.extent = _Extent()
        self.declared: tuple[str, int, int] | None = None
        self.unique_strings = 0
        self.exact = exact  # following tags one by one
        self.fed = 0
        # Where calamine puts the next cell without a reference: its row (0-based, as calamine
        # counts: set by <row r>, moved on by </row>) and column (1-based).
        self._row = 0
        self._column = 1

    def feed(self, chunk: bytes) -> None:
        self.fed += len(chunk)
        if self.declared is None and b"dimension" in chunk:
            match = _DIMENSION.search(chunk)
            if match:
                self._declare(match.group(1))
        if not self.unique_strings and b"uniqueCount" in chunk:
            match = _SST_UNIQUE.search(chunk)
            if match:
                self.unique_strings = int(match.group(1))
        if not self.exact and (self._unusual_cell.search(chunk) or _PREFIXED_CELL.search(chunk)):
            self.exact = True
        if self.exact:
            self._follow(chunk)

    def _declare(self, ref: bytes) -> None:
        text = ref.decode("ascii", "replace")
        corners = [_parse_ref(part.encode()) for part in text.split(":")]
        if all(corners):
            rows = max(c[0] for c in corners) - min(c[0] for c in corners) + 1
            cols = max(c[1] for c in corners) - min(c[1] for c in corners) + 1
            self.declared = (text, rows, cols)

    def _follow(self, chunk: bytes) -> None:
        """Rows and cells in order: a cell without a reference goes where calamine puts it."""
        for closing, name, attributes in _TAG.findall(chunk):
            self_closing = attributes.rstrip().endswith(b"/")
            if name == b"row":
                if closing or self_closing:
                    self._row += 1
                    self._column = 1
                    continue
                ref = _R_ATTRIBUTE.search(attributes)
                if ref:
                    digits = ref.group(1).strip()
                    if not digits.isdigit():
                        raise FileRefused(_("a row of the workbook has the invalid number “%s”") % _show(digits))
                    self._row = int(digits) - 1
                continue
            if closing:
                continue
            ref = _R_ATTRIBUTE.search(attributes)
            if ref:
                position = _parse_ref(ref.group(1))
                if position is None:
                    raise FileRefused(_("a cell of the workbook has the invalid reference “%s”") % _show(ref.group(1)))
                row, column = position
            else:
                row, column = self._row + 1, self._column
            self._column = column + 1
            self.extent.take(row, column)


def _show(raw: bytes) -> str:
    return raw[:20].decode("utf-8", "replace")


# --- the workbook ------------------------------------------------------------------------------


def check_workbook(stream: IO[bytes], *, limits: FileLimits | None = None) -> None:
    """Refuse (FileRefused) a workbook that calamine could not read within the limits. The stream
    is left at its start."""
    limits = limits or file_limits()
    try:
        _check_directory(stream)
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            _check_declared_sizes(members, limits)
            total = 0
            for member in members:
                total += _check_member(stream, member, limits, total)
    except zipfile.BadZipFile:
        raise FileRefused(_("the file is not a CSV or Excel (XLSX) spreadsheet")) from None
    finally:
        stream.seek(0)


def _check_directory(stream: IO[bytes]) -> None:
    """The zip's directory is read whole by zipfile and calamine: its size is checked first, from
    the end record (the last 22 bytes, plus a comment of up to 64 KB)."""
    end = stream.seek(0, 2)
    stream.seek(max(0, end - 22 - 65_535))
    tail = stream.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise zipfile.BadZipFile
    _sig, _disk, _cd_disk, _here, entries, directory_bytes, _offset, _comment = struct.unpack(
        "<4s4H2LH", tail[at : at + 22]
    )
    if entries >= 0xFFFF or directory_bytes >= 0xFFFFFFFF:
        raise FileRefused(_("the workbook is a ZIP64 archive; Excel workbooks of a loan book never need one"))
    if entries > MAX_MEMBERS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise FileRefused(
            _("the workbook holds %(entries)s parts; an Excel workbook has a few dozen") % {"entries": f"{entries:,}"}
        )


def _too_much(total: int, limits: FileLimits) -> FileRefused:
    return FileRefused(
        _(
            "the workbook expands to more than %(limit)s when unzipped (a “zip bomb”, or a workbook too large "
            "to import: save the sheet as CSV, which has no such limit)"
        )
        % {"limit": megabytes(limits.xlsx_max_uncompressed_bytes)}
    )


def _too_compressed(name: str, ratio: float, limits: FileLimits) -> FileRefused:
    return FileRefused(
        _(
            "the part “%(name)s” of the workbook expands %(ratio)s times when unzipped, "
            "more than %(limit)s (a “zip bomb”)"
        )
        % {"name": name, "ratio": f"{ratio:,.0f}", "limit": f"{limits.xlsx_max_ratio:,}"}
    )


def _check_declared_sizes(members: list[zipfile.ZipInfo], limits: FileLimits) -> None:
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise FileRefused(_("the workbook is encrypted; save it without a password"))
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileRefused(
                _("the part “%s” of the workbook is compressed in a way Excel does not write") % member.filename
            )
        total += member.file_size
        if total > limits.xlsx_max_uncompressed_bytes:
            raise _too_much(total, limits)
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_FROM_BYTES and ratio > limits.xlsx_max_ratio:
            raise _too_compressed(member.filename, ratio, limits)


def _member_bytes(stream: IO[bytes], member: zipfile.ZipInfo) -> Iterator[bytes]:
    """The raw (compressed) bytes of a member, from its local header on."""
    stream.seek(member.header_offset)
    header = stream.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    stream.seek(member.header_offset + 30 + name_length + extra_length)
    left = member.compress_size
    while left > 0:
        raw = stream.read(min(left, _CHUNK))
        if not raw:
            raise zipfile.BadZipFile
        left -= len(raw)
        yield raw


class _Restart(Exception):
    """A member turned out to need following tag by tag: it is read again from its start."""


def _check_member(stream: IO[bytes], member: zipfile.ZipInfo, limits: FileLimits, before: int) -> int:
    try:
        return _inflate_and_scan(stream, member, limits, before, exact=False)
    except _Restart:
        return _inflate_and_scan(stream, member, limits, before, exact=True)


def _inflate_and_scan(stream: IO[bytes], member: zipfile.ZipInfo, limits: FileLimits, before: int, exact: bool) -> int:
    """Inflate one member as calamine would (the whole deflate stream, whatever the directory says),
    counting its bytes and scanning its XML; returns its real size."""
    scan = _SheetScan(limits, exact=exact)
    inflate = zlib.decompressobj(-zlib.MAX_WBITS) if member.compress_type == zipfile.ZIP_DEFLATED else None
    size = 0
    carry = b""
    room = limits.xlsx_max_uncompressed_bytes - before
    for raw in _member_bytes(stream, member):
        pending = raw
        while pending:
            if inflate is None:
                out, pending = pending, b""
            else:
                try:
                    out = inflate.decompress(pending, _CHUNK)
                except zlib.error:
                    raise zipfile.BadZipFile from None
                pending = inflate.unconsumed_tail
            size += len(out)
            if size > room:
                raise _too_much(before + size, limits)
            if size >= RATIO_FROM_BYTES and size > limits.xlsx_max_ratio * member.compress_size:
                raise _too_compressed(member.filename, size / max(member.compress_size, 1), limits)
            # Scan up to the last tag start (a tag is never cut in two); the rest waits for more.
            data = carry + out
            cut = data.rfind(b"<")
            if cut < 0:
                cut = len(data)
            elif cut == 0:
                if len(data) > 4 * _CHUNK:
                    raise FileRefused(_("the workbook holds an XML tag longer than 4 MB"))
                carry = data
                continue
            fed_before = scan.fed
            scan.feed(data[:cut])
            carry = data[cut:]
            if scan.exact and not exact and fed_before:
                raise _Restart
            _check_scan(scan, limits)
    if carry:
        scan.feed(carry)
        _check_scan(scan, limits)
    if size != member.file_size:
        raise FileRefused(
            _("the workbook is damaged: its part “%s” is not the size its directory says") % member.filename
        )
    return size


def _check_scan(scan: _SheetScan, limits: FileLimits) -> None:
    rows, columns = limits.xlsx_max_rows, limits.xlsx_max_columns
    bounds = {"rows": f"{rows:,}", "columns": f"{columns:,}", "last": f"{column_letters(columns)}{rows}"}
    how = _("delete the rows or columns beyond them, or save the sheet as CSV")
    if scan.declared:
        ref, declared_rows, declared_columns = scan.declared
        if declared_rows > rows or declared_columns > columns:
            raise FileRefused(
                _(
                    "a sheet of the workbook declares the range %(ref)s (%(declared_rows)s rows × %(declared_columns)s "
                    "columns); at most %(rows)s rows and %(columns)s columns (up to %(last)s) are imported: %(how)s"
                )
                % {
                    "ref": ref,
                    "declared_rows": f"{declared_rows:,}",
                    "declared_columns": f"{declared_columns:,}",
                    "how": how,
                    **bounds,
                }
            )
    extent = scan.extent
    if extent.rows > rows or extent.columns > columns:
        raise FileRefused(
            _(
                "a sheet of the workbook has a cell at %(cell)s; at most %(rows)s rows and %(columns)s columns "
                "(up to %(last)s) are imported: %(how)s"
            )
            % {"cell": extent.where, "how": how, **bounds}
        )
    if scan.unique_strings * STRING_SLOT_BYTES > limits.grid_bytes:
        raise FileRefused(
            _("the workbook declares %(count)s different texts; a sheet within the limits holds at most %(most)s")
            % {"count": f"{scan.unique_strings:,}", "most": f"{rows * columns:,}"}
        )
