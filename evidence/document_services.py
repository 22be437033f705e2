"""Generating numbered documents for a case, and replacing their templates. Views and the admin call these."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from audit.services import audit_record
from collections_app.case_rules import may_work
from collections_app.models import CollectionCase
from evidence.documents import (
    SAMPLE_CONTEXT,
    amount,
    check_template,
    chinese_date,
    default_template_path,
    render_docx,
    render_pdf,
)
from evidence.models import DocumentCounter, DocumentKind, DocumentTemplate, EvidenceFile, GeneratedDocument
from evidence.services import evidence_check, evidence_upload
from loans.models import Branch, Guarantee, User
from loans.permissions import role_allows

# The bank's name at the head of every document (the branch's name follows it).
BANK_NAME_SETTING = "NPL_BANK_NAME"


def current_template(kind: str) -> tuple[int, bytes]:
    """(version, bytes) of the template in use: the newest uploaded, else the shipped default (version 0)."""
    template = DocumentTemplate.objects.filter(kind=kind).order_by("-version").first()
    if template is None:
        return 0, default_template_path(kind).read_bytes()
    with template.file.open("rb") as handle:
        return template.version, handle.read()


def next_document_number(*, branch: Branch, year: int) -> tuple[int, str]:
    """The branch's next number in `year`: the counter row is locked until the caller's transaction
    ends, so two generations at once get consecutive numbers, and a rolled-back one leaves no gap."""
    DocumentCounter.objects.bulk_create([DocumentCounter(branch=branch, year=year)], ignore_conflicts=True)
    counter = DocumentCounter.objects.select_for_update().get(branch=branch, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number, f"{branch.code}-{year}-{counter.last_number:05d}"


def _context(*, case: CollectionCase, number: str, dated: date, guarantee: Guarantee | None, actor: User) -> dict:
    from django.conf import settings

    loan = case.loan
    borrower = loan.borrower
    context = {
        "number": number,
        "dated": chinese_date(dated),
        "bank_name": getattr(settings, BANK_NAME_SETTING, ""),
        "branch_name": case.branch.name,
        "addressee": guarantee.guarantor.name if guarantee else borrower.name,
        "borrower_name": borrower.name,
        "borrower_id_no": borrower.id_no,
        "borrower_address": getattr(borrower, "address", "") or "",
        "loan_no": loan.loan_no,
        "product": loan.product,
        "disbursed_on": chinese_date(loan.disbursed_on),
        "maturity_on": chinese_date(loan.maturity_on),
        "overdue_since": chinese_date(loan.overdue_since),
        "principal": amount(loan.principal),
        "outstanding_principal": amount(loan.outstanding_principal),
        "interest_on_balance": amount(loan.interest_on_balance),
        "interest_off_balance": amount(loan.interest_off_balance),
        "total_owed": amount(loan.total_owed),
        "guarantor_name": guarantee.guarantor.name if guarantee else "",
        "guarantor_id_no": guarantee.guarantor.id_no if guarantee else "",
        "guaranteed_amount": amount(guarantee.amount) if guarantee else "",
        "officer_name": actor.display_name,
    }
    assert set(context) == set(SAMPLE_CONTEXT), "the sample context names every variable a template may use"
    return context


def may_generate(user: Any) -> bool:
    return role_allows(user, "evidence.generate_document")


@transaction.atomic
def document_generate(
    *, case: CollectionCase, actor: User, kind: str, as_of: date, guarantee: Guarantee | None = None
) -> GeneratedDocument:
    """Render the kind's current template for the case as DOCX and PDF, numbered, kept as evidence, audited."""
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("Choose a document.")})
    if not may_generate(actor):
        raise PermissionDenied(_("You may not generate documents."))
    case = CollectionCase.objects.select_related("loan", "loan__borrower", "branch").get(pk=case.pk)
    refusal = may_work(case.actor_facts(actor))
    if refusal:
        raise PermissionDenied(refusal)
    if kind == DocumentKind.GUARANTOR_DEMAND:
        if guarantee is None:
            raise ValidationError({"guarantee": _("Choose the guarantor the demand is made on.")})
        if guarantee.loan_id != case.loan_id:
            raise ValidationError({"guarantee": _("This guarantee is not on the case's loan.")})
    else:
        guarantee = None
    version, template_bytes = current_template(kind)
    sequence, number = next_document_number(branch=case.branch, year=as_of.year)
    context = _context(case=case, number=number, dated=as_of, guarantee=guarantee, actor=actor)
    docx_bytes = render_docx(template_bytes, context)
    pdf_bytes = render_pdf(docx_bytes)
    title = f"{number} {DocumentKind(kind).label}"
    files = {}
    for extension, content in (("docx", docx_bytes), ("pdf", pdf_bytes)):
        files[extension] = evidence_upload(
            actor=actor,
            target=case,
            upload=ContentFile(content, name=f"{title}.{extension}"),
            kind=EvidenceFile.Kind.NOTICE,
            description=title,
            check_scope=False,  # the system's own file; the actor was checked above
        )
    document = GeneratedDocument(
        number=number,
        branch=case.branch,
        year=as_of.year,
        sequence=sequence,
        kind=kind,
        case=case,
        addressee=context["addressee"],
        template_version=version,
        dated=as_of,
        docx=files["docx"],
        pdf=files["pdf"],
        generated_by=actor,
    )
    document.full_clean()
    document.save()
    audit_record(
        actor=actor,
        event_type="document.generated",
        subject=document,
        branch_id=case.branch_id,
        new={
            "document_number": number,
            "kind": kind,
            "case": case.pk,
            "template_version": version,
            "docx": files["docx"].pk,
            "pdf": files["pdf"].pk,
            "guarantee": guarantee.pk if guarantee else None,
        },
    )
    return document


@transaction.atomic
def document_template_replace(*, actor: User, kind: str, upload: Any, note: str = "") -> DocumentTemplate:
    """An administrator's new version of a template: a Word file that renders with the sample context."""
    if not role_allows(actor, "evidence.manage_templates"):
        raise PermissionDenied(_("Only an administrator may replace document templates."))
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("Choose a document.")})
    detected = evidence_check(upload)
    if detected.extension != "docx":
        raise ValidationError({"file": _("A template must be a Word document (DOCX).")})
    upload.seek(0)
    content = upload.read()
    check_template(content)
    version = (DocumentTemplate.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0) + 1
    digest = hashlib.sha256(content).hexdigest()
    template = DocumentTemplate(
        kind=kind,
        version=version,
        original_name=(getattr(upload, "name", "") or f"{kind}.docx").rsplit("/", 1)[-1][:255],
        sha256=digest,
        note=note.strip(),
        uploaded_by=actor,
    )
    template.file.save(f"templates/{kind}-v{version}.docx", ContentFile(content), save=False)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:
        template.file.delete(save=False)
        raise ValidationError(_("Someone uploaded a version of this template at the same moment: try again.")) from exc
    audit_record(
        actor=actor,
        event_type="document_template.replaced",
        subject=template,
        new={"kind": kind, "template_version": version, "sha256": digest, "file_name": template.original_name},
        reason=template.note,
    )
    return template
