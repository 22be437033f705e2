"""Workbooks built to hurt the importer (security review, findings 1 and 2), made here by hand: a
few hundred bytes of XML in a ZIP, so each test builds exactly the trick it is about."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}">'
    '<sheets><sheet name="Loans" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def cell(ref: str | None, text: str, *, prefix: str = "") -> str:
    r = f' r="{ref}"' if ref else ""
    return f'<{prefix}c{r} t="inlineStr"><{prefix}is><{prefix}t>{text}</{prefix}t></{prefix}is></{prefix}c>'


def sheet_xml(rows: Iterable[str], *, dimension: str | None = None, prefix: str = "") -> str:
    """A worksheet whose <sheetData> holds `rows` (each a <row> element, as text)."""
    ns = f'xmlns:{prefix[:-1]}="{_MAIN}"' if prefix else f'xmlns="{_MAIN}"'
    dim = f'<{prefix}dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{prefix}worksheet {ns}>{dim}'
        f"<{prefix}sheetData>{''.join(rows)}</{prefix}sheetData></{prefix}worksheet>"
    )


def row(number: int | None, *cells: str, prefix: str = "") -> str:
    r = f' r="{number}"' if number else ""
    return f"<{prefix}row{r}>{''.join(cells)}</{prefix}row>"


def workbook(sheet: str | bytes, *, shared_strings: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr(
            "xl/sharedStrings.xml",
            shared_strings or f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="0" uniqueCount="0"/>',
        )
    return out.getvalue()


def sparse_sheet() -> bytes:
    """The review's file: a 1.5 KB sheet declaring A1:XFD1048576, with cells at A1 and XFD1048576."""
    return workbook(
        sheet_xml([row(1, cell("A1", "loan_no")), row(1048576, cell("XFD1048576", "x"))], dimension="A1:XFD1048576")
    )


def sparse_sheet_without_dimension() -> bytes:
    return workbook(sheet_xml([row(1, cell("A1", "loan_no")), row(1048576, cell("XFD1048576", "x"))]))


def far_cell_without_references() -> bytes:
    """No r attributes at all: calamine places cells by counting rows and cells (300,000 empty rows,
    then a row of 100 cells) -- the same far corner, spelled so a quick scan cannot see it."""
    rows = [row(None, cell(None, "loan_no"))] + ["<row></row>"] * 300_000 + [row(None, *[cell(None, "x")] * 100)]
    return workbook(sheet_xml(rows))


def far_cell_with_a_prefix() -> bytes:
    """The cells in a namespace prefix (<x:c>): calamine reads local names."""
    rows = [row(1, cell("A1", "loan_no", prefix="x:"), prefix="x:"), row(9, cell("ZZ900000", "x", prefix="x:"))]
    return workbook(sheet_xml(rows, prefix="x:"))


def huge_shared_string_table() -> bytes:
    """A shared-string table that declares four billion strings (calamine reserves them all)."""
    return workbook(
        sheet_xml([row(1, '<c r="A1" t="s"><v>0</v></c>')], dimension="A1"),
        shared_strings=(
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="1" uniqueCount="4000000000">'
            "<si><t>loan_no</t></si></sst>"
        ),
    )


def zip_bomb(expanded_mb: int = 300) -> bytes:
    """A small file whose sheet expands `expanded_mb` MB (highly repetitive XML, ~1000:1)."""
    out = io.BytesIO()
    filler = (row(None) * 50_000).encode()  # "<row></row>" x 50,000: 550 KB
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            member.write(f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            for _ in range(expanded_mb * 1024 * 1024 // len(filler)):
                member.write(filler)
            member.write(b"</sheetData></worksheet>")
    return out.getvalue()


def lying_zip_bomb(expanded_mb: int = 300) -> bytes:
    """The same bomb, with its directory claiming the sheet is 1 KB: only inflating tells."""
    data = bytearray(zip_bomb(expanded_mb))
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[at + size_at : at + size_at + 4] = struct.pack("<L", 1024)
            at += 4
    return bytes(data)
