"""Rendering the notices: a DOCX from its template (docxtpl), and a PDF of the same text (reportlab,
Chinese with its built-in CID font STSong-Light: nothing to install). No database writes here.

A template is a Word document with Jinja placeholders ({{ number }}, {{ borrower_name }}, ...: the
names in SAMPLE_CONTEXT). The PDF is laid out from the rendered DOCX's paragraphs, so a replaced
template changes both.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULTS_DIR = Path(__file__).resolve().parent / "document_templates"
PDF_FONT = "STSong-Light"


def default_template_path(kind: str) -> Path:
    return DEFAULTS_DIR / f"{kind}.docx"


def chinese_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def amount(value: Decimal | None) -> str:
    return f"{value:,.2f}" if value is not None else ""


# Every name a template may use, with sample values (a replacement template must render with these).
SAMPLE_CONTEXT: dict[str, str] = {
    "number": "RB-2026-00001",
    "dated": "2026年12月2日",
    "bank_name": "示例银行",
    "branch_name": "河滨支行",
    "addressee": "张三",
    "borrower_name": "张三",
    "borrower_id_no": "110101199001011234",
    "borrower_address": "北京市东城区示例路1号",
    "loan_no": "L00000001",
    "product": "流动资金贷款",
    "disbursed_on": "2022年1月10日",
    "maturity_on": "2025年1月10日",
    "overdue_since": "2025年1月11日",
    "principal": "100,000.00",
    "outstanding_principal": "80,000.00",
    "interest_on_balance": "1,000.00",
    "interest_off_balance": "500.00",
    "total_owed": "81,500.00",
    "guarantor_name": "李四",
    "guarantor_id_no": "110101198001011234",
    "guaranteed_amount": "50,000.00",
    "officer_name": "王五",
}


def _environment() -> jinja2.Environment:
    # Unknown names are errors, not blanks: a template with a typo is refused when uploaded.
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


def render_docx(template_bytes: bytes, context: dict[str, Any]) -> bytes:
    from docxtpl import DocxTemplate

    template = DocxTemplate(io.BytesIO(template_bytes))
    template.render(context, jinja_env=_environment())
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def check_template(template_bytes: bytes) -> None:
    """Refuse a template that does not render with the sample context; the message names the field `file`."""
    try:
        rendered = render_docx(template_bytes, SAMPLE_CONTEXT)
        render_pdf(rendered)
    except jinja2.UndefinedError as exc:
        raise ValidationError(
            {"file": _("The template uses a name the system does not fill: %(error)s.") % {"error": exc.message}}
        ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError(
            {"file": _("The template's placeholders are not well formed: %(error)s.") % {"error": exc.message}}
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a damaged Word file: say so, whatever the library raised
        raise ValidationError({"file": _("This Word file cannot be read as a template.")}) from exc


def render_pdf(docx_bytes: bytes) -> bytes:
    """A PDF of the DOCX's paragraphs: centred paragraphs stay centred, titles larger and bold-faced."""
    from xml.sax.saxutils import escape

    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=11.5, leading=20, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=6)
    align = {WD_ALIGN_PARAGRAPH.CENTER: TA_CENTER, WD_ALIGN_PARAGRAPH.RIGHT: TA_RIGHT}
    flow: list[Any] = []
    for paragraph in docx.Document(io.BytesIO(docx_bytes)).paragraphs:
        text = paragraph.text
        if not text.strip():
            flow.append(Spacer(1, 4 * mm))
            continue
        style_name = (paragraph.style.name or "") if paragraph.style is not None else ""
        if style_name.startswith(("Title", "Heading")):
            style = title
        else:
            style = ParagraphStyle(
                f"p{len(flow)}",
                parent=body,
                alignment=align.get(paragraph.alignment, TA_LEFT),
                firstLineIndent=23 if text.startswith(("\u3000", "  ")) else 0,
            )
        flow.append(Paragraph(escape(text.strip()), style))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm).build(flow)
    return out.getvalue()
