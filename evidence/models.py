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


class DocumentTemplate(models.Model):
    """A replacement DOCX template an administrator uploaded; the newest of a kind is used.

    Without one, the shipped default (evidence/document_templates/<kind>.docx, version 0) is used."""

    kind = models.CharField(_("document"), max_length=30, choices=DocumentKind.choices)
    version = models.PositiveIntegerField()
    file = models.FileField(storage=evidence_storage, max_length=300)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-version"]
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="document_template_kind_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="document_template_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Templates are never deleted: upload a newer version."))


class DocumentCounter(models.Model):
    """The last number given to a document of a branch in a year: locked FOR UPDATE while numbering,
    so numbers are unique and without gaps (a failed generation rolls its number back)."""

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch", "year"], name="document_counter_branch_year")]

    def __str__(self) -> str:
        return f"{self.branch_id}/{self.year}: {self.last_number}"


class GeneratedDocument(models.Model):
    """A numbered document generated for a case, kept as DOCX and PDF evidence files."""

    number = models.CharField(_("document number"), max_length=40, unique=True)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    kind = models.CharField(_("document"), max_length=30, choices=DocumentKind.choices)
    case = models.ForeignKey(
        "collections_app.CollectionCase", on_delete=models.PROTECT, related_name="generated_documents"
    )
    addressee = models.CharField(_("addressed to"), max_length=200)
    # 0: the shipped default template; otherwise the DocumentTemplate version used.
    template_version = models.PositiveIntegerField()
    dated = models.DateField(_("dated"))
    docx = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT, related_name="+")
    pdf = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT, related_name="+")
    generated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("case__branch")

    class Meta:
        ordering = ["-generated_at", "-id"]
        verbose_name = _("generated document")
        verbose_name_plural = _("generated documents")
        constraints = [
            models.UniqueConstraint(fields=["branch", "year", "sequence"], name="generated_document_number"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"
