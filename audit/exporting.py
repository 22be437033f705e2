"""The audit trail as CSV or XLSX, through the book's exporter (loans/exporting.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from audit.describe import Describer, subject_label
from audit.labels import event_label
from audit.selectors import audit_events_for
from loans.exporting import ExportColumn, ExportSpec, _reads


def audit_export_spec() -> ExportSpec:
    """A spec of its own per export: its Describer keeps the names it has read for this export only."""
    describer = Describer()

    @_reads("created_at")
    def when(row: dict[str, Any], as_of: date) -> Any:
        return timezone.localtime(row["created_at"]).replace(microsecond=0)

    @_reads("event_type")
    def event(row: dict[str, Any], as_of: date) -> str:
        return event_label(row["event_type"])

    @_reads("actor_id")
    def by(row: dict[str, Any], as_of: date) -> str:
        return describer.value("", "", "actor", row["actor_id"]) if row["actor_id"] else str(_("The system"))

    @_reads("subject_type")
    def about(row: dict[str, Any], as_of: date) -> str:
        return subject_label(row["subject_type"])

    @_reads("event_type", "subject_type", "old_values", "new_values")
    def changes(row: dict[str, Any], as_of: date) -> str:
        return describer.changes_text(row)

    return ExportSpec(
        name="audit",
        title="Audit trail",
        description="The audit trail: who did what, when, about what; old and new values in words.",
        model_label="audit.AuditEvent",
        columns=(
            ExportColumn("event_id", "id"),
            ExportColumn("when", when),
            ExportColumn("event", event),
            ExportColumn("event_code", "event_type"),
            ExportColumn("by_username", "actor__username"),
            ExportColumn("by", by),
            ExportColumn("branch_code", "branch__code"),
            ExportColumn("about", about),
            ExportColumn("about_id", "subject_id"),
            ExportColumn("changes", changes),
            ExportColumn("reason", "reason"),
        ),
        queryset=lambda user: audit_events_for(user=user),
    )
