"""The append-only audit trail: every state change, with who, when, what and why.

Append-only here (save and delete refuse) and, on PostgreSQL, in the database: a trigger refuses
UPDATE and DELETE (audit/migrations/0003_s9harden_append_only.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from loans.access import scoped_manager


class AuditEvent(models.Model):
    # Stable event code, e.g. "case.escalated", "loan.classified_manually".
    event_type = models.CharField(max_length=60, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the event is about: "<app_label>.<model>" and its primary key.
    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField()
    # The branch the subject belongs to, so the trail is scoped like everything else.
    branch = models.ForeignKey("loans.Branch", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    old_values = models.JSONField(default=dict, blank=True)
    new_values = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A subject's history: WHERE subject_type = ? AND subject_id = ? ORDER BY created_at.
            models.Index(fields=["subject_type", "subject_id", "created_at"], name="audit_subject"),
            # A user's recent events of a kind (the export limit, loans/exporting.py):
            # WHERE actor_id = ? AND event_type = ? AND created_at >= ?.
            models.Index(fields=["actor", "event_type", "created_at"], name="audit_actor_event"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.event_type} {self.subject_type}#{self.subject_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("The audit trail is append-only.")
