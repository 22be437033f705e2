"""`{% load evidence %}{% evidence_panel obj %}`: the list of a record's files and the upload form."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.contenttypes.models import ContentType
from django.db import models

from evidence.forms import EvidenceUploadForm
from evidence.selectors import evidence_for
from evidence.services import may_upload

register = template.Library()


def form_prefix(target: models.Model) -> str:
    return f"ev-{target._meta.label_lower.replace('.', '-')}-{target.pk}"


def panel_context(
    *, request: Any, target: models.Model, form: EvidenceUploadForm | None = None, requirement: str = ""
) -> dict[str, Any]:
    user = request.user
    can_upload = may_upload(user)
    if form is None and can_upload:
        form = EvidenceUploadForm(prefix=form_prefix(target), initial={"requirement": requirement})
    return {
        "request": request,
        "user": user,
        "target": target,
        "target_label": ContentType.objects.get_for_model(target, for_concrete_model=True).app_label
        + "."
        + ContentType.objects.get_for_model(target, for_concrete_model=True).model,
        "files": list(evidence_for(target=target, user=user)),
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
