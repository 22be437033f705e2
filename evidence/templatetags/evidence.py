"""`{% load evidence %}{% evidence_panel obj %}`: the list of a record's files and the upload form."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.contenttypes.models import ContentType
from django.db import models

from evidence.forms import EvidenceUploadForm
from evidence.selectors import evidence_for, evidence_for_case
from evidence.services import may_upload
from npl_recovery.page_reads import read_once, share_choices

register = template.Library()


def form_prefix(target: models.Model) -> str:
    return f"ev-{target._meta.label_lower.replace('.', '-')}-{target.pk}"


def panel_context(
    *, request: Any, target: models.Model, form: EvidenceUploadForm | None = None, requirement: str = ""
) -> dict[str, Any]:
    from collections_app.models import CollectionCase

    user = request.user
    can_upload = may_upload(user)
    # A case's panel lists every file of the case, whichever of its records it is attached to.
    if isinstance(target, CollectionCase):
        files = evidence_for_case(case=target, user=user)
    else:
        files = evidence_for(target=target, user=user)
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=True)
    if form is None and can_upload:
        form = EvidenceUploadForm(prefix=form_prefix(target), initial={"requirement": requirement})
    return {
        "request": request,
        "user": user,
        "target": target,
        "target_label": f"{content_type.app_label}.{content_type.model}",
        "target_type_id": content_type.pk,
        "files": list(files),
        "form": form if can_upload else None,
        "panel_id": form_prefix(target),
        "next_url": request.get_full_path() if request.method == "GET" else "",
    }


@register.inclusion_tag("evidence/_files.html", takes_context=True)
def evidence_panel(context: template.Context, target: models.Model, requirement: str = "") -> dict[str, Any]:
    """The files of `target` and, for those who may upload, the form; posts to evidence:upload."""
    out = panel_context(request=context["request"], target=target, requirement=requirement)
    out["csrf_token"] = context.get("csrf_token")
    return out


@register.filter
def verbose_name(model: type[models.Model] | None) -> str:
    return str(model._meta.verbose_name).capitalize() if model is not None else ""


@register.filter
def dossier_item(code: str) -> str:
    from evidence.dossier import requirement_label

    return requirement_label(code)


@register.inclusion_tag("evidence/_dossier.html", takes_context=True)
def write_off_dossier(context: template.Context, request_obj: Any) -> dict[str, Any]:
    """A write-off request's dossier: each required item, present or missing, and the form to attach one."""
    from evidence.selectors import write_off_dossier as dossier_of

    request = context["request"]
    dossier = dossier_of(request=request_obj)
    prefix = form_prefix(request_obj)
    form = None
    if may_upload(request.user) and dossier.missing:
        form = EvidenceUploadForm(prefix=prefix, initial={"kind": "judgment", "requirement": dossier.missing[0]})
    return {
        "request": request,
        "dossier": dossier,
        "target": request_obj,
        "target_label": "collections_app.caserequest",
        "form": form,
        "panel_id": prefix,
        "next_url": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("evidence/_documents.html", takes_context=True)
def case_documents(context: template.Context, case: Any, works: bool | None = None) -> dict[str, Any]:
    """The case's generated documents (numbered, Word and PDF) and, for its workers, the form to generate one."""
    from collections_app.case_rules import may_work
    from evidence.document_services import may_generate
    from evidence.forms import DocumentGenerateForm

    request = context["request"]
    # read_once: the case page's notice form offers the same documents (npl_recovery.page_reads).
    documents = read_once(case.generated_documents.order_by("-generated_at", "-id"))
    form = None
    if works is None:  # the case page passes what it knows already (moves.may_work)
        works = may_work(case.actor_facts(request.user)) is None
    if case.is_open and works and may_generate(request.user):
        form = share_choices(DocumentGenerateForm(case=case))
    return {
        "request": request,
        "case": case,
        "documents": documents,
        "form": form,
        # Whether to offer a guarantor: the field's own rows, read once (its choices reuse them).
        "guarantees_offered": bool(form and read_once(form.fields["guarantee"].queryset)),
        "csrf_token": context.get("csrf_token"),
    }
