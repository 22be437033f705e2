"""Helpers every case service shares: locking, the role check, audit, money and dates."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from collections_app.case_rules import MEASURE_LABELS, Measure, may_work
from collections_app.models import CollectionCase

CENT = Decimal("0.01")
CASE_SUBJECT = CollectionCase._meta.label_lower


class CaseChanged(Exception):
    """Someone else moved the case between the moment the user saw it and their action."""

    def __init__(self, now: str | None = None) -> None:
        if now:
            message = _(
                "Someone changed this case while you were working on it. It is now in %(measure)s. "
                "Reload it and try again."
            ) % {"measure": MEASURE_LABELS[Measure(now)].lower()}
        else:
            message = _("Someone changed this case while you were working on it. Reload it and try again.")
        super().__init__(message)


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _require_reason(reason: str, field: str = "reason") -> str:
    if not reason or not reason.strip():
        raise ValidationError({field: _("Give a reason.")})
    return reason.strip()


def _lock(case: CollectionCase) -> CollectionCase:
    """Lock the case row for this transaction and return a fresh copy of it (loan loaded)."""
    return (
        CollectionCase.objects.select_for_update(of=("self",)).select_related("loan", "loan__borrower").get(pk=case.pk)
    )


def _require_work(case: CollectionCase, actor: Any) -> None:
    refusal = may_work(case.actor_facts(actor))
    if refusal:
        raise PermissionDenied(refusal)
    if not case.is_open:
        raise ValidationError(
            _("The case is %(measure)s: nothing more is recorded on it.")
            % {"measure": case.get_measure_display().lower()}
        )


def _audit(case: CollectionCase, actor: Any, event: str, *, old=None, new=None, reason: str = "") -> None:
    audit_record(actor=actor, event_type=event, subject=case, branch_id=case.branch_id, old=old, new=new, reason=reason)


def _save(record: Any) -> Any:
    record.full_clean()
    record.save()
    return record


def _not_future(value: date, field: str) -> None:
    if value > timezone.localdate():
        raise ValidationError({field: _("This date is in the future.")})
