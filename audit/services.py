from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models

from audit.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def audit_record(
    *,
    actor: Any,
    event_type: str,
    subject: models.Model | None,
    branch_id: int | None = None,
    old: dict | None = None,
    new: dict | None = None,
    reason: str = "",
) -> AuditEvent:
    """Write one audit row. Call it inside the transaction of the change it records. `subject`
    None: an event about no one record (an export from the command line without a user)."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        event_type=event_type,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=subject.pk if subject is not None else 0,
        branch_id=branch_id,
        old_values=_jsonable(old or {}),
        new_values=_jsonable(new or {}),
        reason=reason,
    )


@dataclass(frozen=True)
class AuditRow:
    subject_id: int
    branch_id: int | None
    old: dict
    new: dict
    reason: str = ""


def audit_records_bulk(*, actor: Any, event_type: str, subject_type: str, rows: list[AuditRow]) -> int:
    """Many audit rows of one event type in one INSERT (set-based jobs). Same transaction rule."""
    actor_id = getattr(actor, "pk", None)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_id=actor_id,
                event_type=event_type,
                subject_type=subject_type,
                subject_id=row.subject_id,
                branch_id=row.branch_id,
                old_values=_jsonable(row.old),
                new_values=_jsonable(row.new),
                reason=row.reason,
            )
            for row in rows
        ],
        batch_size=1000,
    )
    return len(rows)


# The system is the actor of rule-based writes that no person asked for (the daily reclassification,
# case opening by the checks, first divisions): their rows carry no actor, and each run writes one
# event that says what ran and points to the history rows it wrote.
SYSTEM_EVENT_PREFIX = "system."


def audit_system_run(*, event_type: str, subject: models.Model, summary: dict, reason: str = "") -> AuditEvent:
    """One audit row for one run of a rule-based write (actor: the system).

    `subject` is the run's own record (a ClassificationRun, a DailyCheckRun, ...); `summary` names
    the history rows the run wrote (their ids or id range and counts) so an auditor can follow them.
    """
    if not event_type.startswith(SYSTEM_EVENT_PREFIX):
        event_type = SYSTEM_EVENT_PREFIX + event_type
    return audit_record(actor=None, event_type=event_type, subject=subject, new=summary, reason=reason)
