from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from evidence.dossier import missing_items, needs_second_approval, reason_label, required_items, requirement_label
from evidence.models import EvidenceFile
from evidence.policy import write_off_policy


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
    return (
        EvidenceFile.objects.visible_to(user)
        .filter(case=case)
        .select_related("uploaded_by", "superseded_by", "target_type")
    )


@dataclass(frozen=True)
class DossierItem:
    code: str
    label: str
    files: list[EvidenceFile]

    @property
    def present(self) -> bool:
        return bool(self.files)


@dataclass(frozen=True)
class Dossier:
    reason: str
    reason_label: str
    items: list[DossierItem]
    missing: list[str]
    amount: Decimal
    needs_second_approval: bool


def write_off_dossier(*, request: Any) -> Dossier:
    """A write-off request's dossier: each item its reason requires, with the case's current files proving it."""
    policy = write_off_policy()
    required = required_items(request.write_off_reason, policy)
    # Any current file of the case proves an item: attached to the request, or where it was recorded
    # (the enforcement-ending ruling on its proceeding, say).
    files = list(
        EvidenceFile.objects.filter(case_id=request.case_id, superseded_by__isnull=True, requirement__in=required)
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )
    by_item: dict[str, list[EvidenceFile]] = {}
    for evidence in files:
        by_item.setdefault(evidence.requirement, []).append(evidence)
    loan = request.case.loan
    amount = loan.total_owed
    return Dossier(
        reason=request.write_off_reason,
        reason_label=reason_label(request.write_off_reason),
        items=[DossierItem(code, requirement_label(code), by_item.get(code, [])) for code in required],
        missing=missing_items(request.write_off_reason, by_item.keys(), policy),
        amount=amount,
        needs_second_approval=needs_second_approval(amount, policy),
    )
