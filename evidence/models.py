"""Files kept as evidence, and the documents generated from templates.

A file is never deleted: a newer one supersedes it (`superseded_by`). Files live in the storage
named by settings.NPL_EVIDENCE_STORAGE (a STORAGES alias, private by default: no URL serves it);
they are read only through evidence/views.py, which checks the user's scope.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from loans.access import scoped_manager
from loans.models import Branch, Loan, User


class _SelectedStorage(LazyObject):
    """The STORAGES alias named by settings.NPL_EVIDENCE_STORAGE, looked up when first used (and again
    after those settings change): a FileField evaluates its storage callable only once, at import."""

    def _setup(self) -> None:
        self._wrapped = storages[settings.NPL_EVIDENCE_STORAGE]


_selected_storage = _SelectedStorage()


@receiver(setting_changed)
def _storage_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in ("STORAGES", "NPL_EVIDENCE_STORAGE"):
        _selected_storage._wrapped = empty


def evidence_storage():
    """The storage of every evidence file and document template."""
    return _selected_storage


class EvidenceFile(models.Model):
    class Kind(models.TextChoices):
        CONTRACT = "contract", _("Contract")
        RECEIPT = "receipt", _("Signed receipt")
        JUDGMENT = "judgment", _("Judgment or ruling")
        APPRAISAL = "appraisal", _("Appraisal")
        PHOTO = "photo", _("Photo")
        NOTICE = "notice", _("Notice")
        OTHER = "other", _("Other")

    # What the file is about: any registered record (evidence/registry.py), or only the case.
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.BigIntegerField()
    # Copied from the target, so scoping needs no join (loans/access.py: the branch, or a loan the
    # user answers for).
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence_files")
    case = models.ForeignKey(
        "collections_app.CollectionCase",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evidence_files",
    )
    kind = models.CharField(_("kind of evidence"), max_length=20, choices=Kind.choices)
    # A write-off dossier's item this file proves (NPL_RULES write_off_evidence), or empty.
    requirement = models.CharField(_("dossier item"), max_length=60, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    # Detected from the bytes, never from the name or the browser's word.
    content_type = models.CharField(max_length=120)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(storage=evidence_storage, max_length=300)
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        indexes = [
            # A record's files: WHERE target_type_id = ? AND target_id = ? ORDER BY uploaded_at.
            models.Index(fields=["target_type", "target_id", "uploaded_at"], name="evidence_target"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(superseded_by__isnull=True, superseded_at__isnull=True)
                | Q(superseded_by__isnull=False, superseded_at__isnull=False),
                name="evidence_superseded_complete",
            ),
            models.CheckConstraint(condition=~Q(superseded_by=models.F("id")), name="evidence_not_own_successor"),
        ]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("evidence:download", args=[self.pk])

    @property
    def is_current(self) -> bool:
        return self.superseded_by_id is None

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Evidence is never deleted: upload a newer file to supersede it."))


class DocumentKind(models.TextChoices):
    COLLECTION_NOTICE = "collection_notice", _("Collection notice")
    GUARANTOR_DEMAND = "guarantor_demand", _("Demand on a guarantor")
    DEBT_ACKNOWLEDGEMENT = "debt_acknowledgement", _("Acknowledgement of debt")
    PUBLIC_NOTICE = "public_notice", _("Public notice")
