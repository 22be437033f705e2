from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from evidence.models import EvidenceFile


def evidence_for(*, target: models.Model, user: Any, current_only: bool = False) -> models.QuerySet[EvidenceFile]:
    """The files about `target` that `user` may see, newest first."""
    files = EvidenceFile.objects.visible_to(user).filter(
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=True), target_id=target.pk
    )
    if current_only:
        files = files.filter(superseded_by__isnull=True)
    return files.select_related("uploaded_by", "superseded_by")


def evidence_for_case(*, case: Any, user: Any) -> models.QuerySet[EvidenceFile]:
    """Every file of a case, whatever record of the case it is attached to."""
    return EvidenceFile.objects.visible_to(user).filter(case=case).select_related("uploaded_by", "target_type")
