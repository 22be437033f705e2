"""Build the shipped default notice templates (evidence/document_templates/*.docx), in Chinese.

Run from the repository root: `.venv/bin/python scripts/build_document_templates.py`. The files are
committed; administrators replace them from the templates page (evidence/templates/), never here.
Placeholders are the names in evidence/documents.py SAMPLE_CONTEXT.
"""

from __future__ import annotations

import sys
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "evidence" / "document_templates"

INDENT = "\u3000\u3000"
OWED = (
    "截至{{ dated }}，贵方在我行的借款（贷款编号：{{ loan_no }}，{{ product }}，发放日{{ disbursed_on }}，"
    "到期日{{ maturity_on }}，借款本金人民币{{ principal }}元）尚欠本金人民币{{ outstanding_principal }}元、"
    "表内利息人民币{{ interest_on_balance }}元、表外利息人民币{{ interest_off_balance }}元，"
    "合计人民币{{ total_owed }}元，已自{{ overdue_since }}起逾期。"
)
RECEIPT = [
    "",
    "— — — — — — — — — — — — — — — — — — — —",
    ("送达回执", "center"),
    "编号：{{ number }}",
    "受送达人已收到{{ branch_name }}编号为{{ number }}的上述文书。",
    "受送达人（签名或盖章）：____________________",
    "签收日期：______年____月____日",
]

DOCUMENTS: dict[str, list] = {
    "collection_notice": [
        ("{{ bank_name }}{{ branch_name }}", "center"),
        ("催收通知书", "title"),
        ("编号：{{ number }}", "right"),
        "{{ addressee }}：",
        INDENT + OWED,
        INDENT + "请贵方收到本通知书后立即筹措资金，归还上述欠款。逾期不还的，我行将依法采取包括提起诉讼、"
        "申请财产保全和强制执行在内的措施追偿，由此产生的诉讼费、保全费、律师费等费用由贵方承担。",
        INDENT + "特此通知。",
        "",
        "联系人：{{ officer_name }}",
        ("{{ bank_name }}{{ branch_name }}（盖章）", "right"),
        ("{{ dated }}", "right"),
        *RECEIPT,
    ],
    "guarantor_demand": [
        ("{{ bank_name }}{{ branch_name }}", "center"),
        ("履行保证责任通知书", "title"),
        ("编号：{{ number }}", "right"),
        "{{ guarantor_name }}：",
        INDENT + "贵方为{{ borrower_name }}在我行的借款（贷款编号：{{ loan_no }}）提供保证担保，担保金额人民币"
        "{{ guaranteed_amount }}元。截至{{ dated }}，借款人{{ borrower_name }}尚欠本金人民币"
        "{{ outstanding_principal }}元、表内利息人民币{{ interest_on_balance }}元、表外利息人民币"
        "{{ interest_off_balance }}元，合计人民币{{ total_owed }}元，已自{{ overdue_since }}起逾期。",
        INDENT + "根据保证合同的约定和法律规定，我行现要求贵方在保证范围内履行保证责任，代为清偿上述债务。"
        "本通知书即为我行在保证期间内向贵方主张权利的书面凭证。",
        INDENT + "特此通知。",
        "",
        "联系人：{{ officer_name }}",
        ("{{ bank_name }}{{ branch_name }}（盖章）", "right"),
        ("{{ dated }}", "right"),
        *RECEIPT,
    ],
    "debt_acknowledgement": [
        ("债务确认书", "title"),
        ("编号：{{ number }}", "right"),
        "{{ bank_name }}{{ branch_name }}：",
        INDENT + "本人/本单位{{ borrower_name }}（证件号码：{{ borrower_id_no }}）确认：截至{{ dated }}，"
        "本人/本单位在贵行的借款（贷款编号：{{ loan_no }}，发放日{{ disbursed_on }}，到期日{{ maturity_on }}）"
        "尚欠本金人民币{{ outstanding_principal }}元、表内利息人民币{{ interest_on_balance }}元、"
        "表外利息人民币{{ interest_off_balance }}元，合计人民币{{ total_owed }}元。",
        INDENT + "本人/本单位对上述债务无异议，并承诺尽快归还。",
        "",
        "债务人（签名或盖章）：____________________",
        "证件号码：{{ borrower_id_no }}",
        "日期：______年____月____日",
    ],
    "public_notice": [
        ("{{ bank_name }}{{ branch_name }}", "center"),
        ("催收公告", "title"),
        ("编号：{{ number }}", "right"),
        "{{ borrower_name }}（证件号码：{{ borrower_id_no }}，住所：{{ borrower_address }}）：",
        INDENT + "因无法直接送达，现以公告方式通知如下：" + OWED.replace("贵方", "你方"),
        INDENT + "请你方自本公告刊登之日起立即到我行归还上述欠款，或与我行联系协商还款事宜。"
        "逾期不还的，我行将依法追偿。本公告即为我行向你方主张债权的书面凭证。",
        INDENT + "特此公告。",
        "",
        ("{{ bank_name }}{{ branch_name }}", "right"),
        ("{{ dated }}", "right"),
    ],
}


def _set_font(document: docx.Document) -> None:
    style = document.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")


def build(kind: str, lines: list) -> Path:
    document = docx.Document()
    _set_font(document)
    for line in lines:
        text, how = line if isinstance(line, tuple) else (line, "")
        if how == "title":
            paragraph = document.add_heading(text, level=0)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in paragraph.runs:
                run.font.name = "SimHei"
                run.element.rPr.rFonts.set(qn("w:eastAsia"), "SimHei")
            continue
        paragraph = document.add_paragraph(text)
        if how == "center":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif how == "right":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    path = OUT / f"{kind}.docx"
    # A fixed creation time: building again gives the same bytes unless the text changed.
    from datetime import datetime

    document.core_properties.created = datetime(2026, 1, 1)
    document.core_properties.modified = datetime(2026, 1, 1)
    document.core_properties.author = "NPL Recovery"
    document.core_properties.last_modified_by = "NPL Recovery"
    document.save(path)
    return path


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for kind, lines in DOCUMENTS.items():
        print(build(kind, lines).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
