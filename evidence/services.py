"""Every write of evidence: upload, supersede, and the download's audit row.

Views, the admin, other apps' services (h8's legal app, the write-off dossier, generated documents)
call these and nothing else. Each runs in one transaction and writes an AuditEvent whose subject
is the file. The bytes go to storage first; if the transaction then fails, the orphan bytes are
removed on rollback (they are not evidence: no row names them).
"""

from __future__ import annotations

import uuid
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import models, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from evidence import registry
from evidence.models import EvidenceFile, evidence_storage
from evidence.rules import Detected, detect, read_head, sha256_of
from loans.models import User
from loans.permissions import role_allows


def allowed_extensions() -> list[str]:
    return [e.lower() for e in settings.NPL_EVIDENCE_TYPES]


def evidence_check(upload: Any) -> Detected:
    """The upload's type, checked by its content, and its size; a refusal names the field `file`."""
    limit = settings.NPL_EVIDENCE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
        upload.seek(0)
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")}, code="empty")
    if size > limit:
        raise ValidationError(
            {
                "file": _("The file is %(size)s; the limit is %(limit)s.")
                % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
            },
            code="too_large",
        )
    detected = detect(read_head(upload))
    allowed = allowed_extensions()
    if detected is None or detected.extension not in allowed:
        raise ValidationError(
            {
                "file": _("This kind of file is not accepted (its content is %(found)s). Accepted: %(allowed)s.")
                % {
                    "found": detected.extension.upper() if detected else _("not a known type"),
                    "allowed": ", ".join(e.upper() for e in allowed),
                }
            },
            code="type",
        )
    return detected


def may_upload(user: Any) -> bool:
    return role_allows(user, "evidence.upload")


def _require_in_scope(target: models.Model, actor: Any) -> None:
    if not registry.is_target(target):
        raise ValidationError(_("Files cannot be attached to this record."))
    if not may_upload(actor):
        raise PermissionDenied(_("You may not attach files."))
    if not type(target)._default_manager.visible_to(actor).filter(pk=target.pk).exists():
        raise PermissionDenied(_("You may not attach files to this record."))


def _check_requirement(target: models.Model, requirement: str) -> None:
    """A dossier item: on a write-off request, one its reason calls for; elsewhere, one some reason calls for."""
    if not requirement:
        return
    from evidence.dossier import required_items
    from evidence.policy import write_off_policy

    policy = write_off_policy()
    if target._meta.label_lower == "collections_app.caserequest":
        allowed = set(required_items(getattr(target, "write_off_reason", ""), policy))
    else:
        allowed = {item for items in policy.write_off_evidence.values() for item in items}
    if requirement not in allowed:
        raise ValidationError({"requirement": _("This write-off's reason does not call for this item.")})


def _store(stream: IO[bytes], *, branch_id: int, extension: str) -> str:
    # A name of our own: the original name is kept in the row, never used as a path.
    name = f"evidence/{branch_id}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"
    stream.seek(0)
    return evidence_storage().save(name, File(stream))


@transaction.atomic
def evidence_upload(
    *,
    actor: User | None,
    target: models.Model,
    upload: Any,
    kind: str,
    description: str = "",
    requirement: str = "",
    original_name: str | None = None,
    check_scope: bool = True,
) -> EvidenceFile:
    """Keep `upload` (an UploadedFile, or any file object with a `name`) as evidence about `target`.

    `check_scope=False` only for the system's own files (a generated document, written by a service
    that has checked its actor already)."""
    if check_scope:
        _require_in_scope(target, actor)
    if kind not in EvidenceFile.Kind.values:
        raise ValidationError({"kind": _("Choose a kind of evidence.")})
    _check_requirement(target, requirement)
    detected = evidence_check(upload)
    case, loan, branch = registry.scope_of(target)
    if branch is None:
        raise ValidationError(_("Files cannot be attached to this record."))
    name = (original_name or getattr(upload, "name", "") or "file").replace("\\", "/").rsplit("/", 1)[-1][:255]
    digest = sha256_of(upload)
    size = getattr(upload, "size", None) or _size(upload)
    stored = _store(upload, branch_id=branch.pk, extension=detected.extension)
    try:
        return _keep(
            actor=actor,
            target=target,
            stored=stored,
            case=case,
            loan=loan,
            branch=branch,
            kind=kind,
            requirement=requirement,
            description=description,
            name=name,
            detected=detected,
            size=size,
            digest=digest,
        )
    except Exception:
        # Nothing half-written: bytes no row names are removed (a rollback of an outer transaction
        # after this returns can still leave such bytes: harmless, no row and no URL reach them).
        evidence_storage().delete(stored)
        raise


def _keep(
    *, actor, target, stored, case, loan, branch, kind, requirement, description, name, detected, size, digest
) -> EvidenceFile:
    evidence = EvidenceFile(
        target_type=_content_type(target),
        target_id=target.pk,
        branch=branch,
        loan=loan,
        case=case,
        kind=kind,
        requirement=requirement,
        description=description.strip(),
        original_name=name,
        content_type=detected.mime,
        extension=detected.extension,
        size=size,
        sha256=digest,
        file=stored,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    evidence.full_clean()
    evidence.save()
    audit_record(
        actor=actor,
        event_type="evidence.uploaded",
        subject=evidence,
        branch_id=branch.pk,
        new={
            "target": f"{evidence.target_type.app_label}.{evidence.target_type.model}#{target.pk}",
            "case": case.pk if case else None,
            "kind": kind,
            "requirement": requirement,
            "file_name": name,
            "file_type": detected.mime,
            "file_size": size,
            "sha256": digest,
        },
    )
    return evidence


@transaction.atomic
def evidence_supersede(
    *, actor: User, evidence: EvidenceFile, upload: Any, reason: str, description: str = ""
) -> EvidenceFile:
    """A newer file replaces `evidence` on the same record; the old one is kept, marked superseded."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    old = EvidenceFile.objects.select_for_update().get(pk=evidence.pk)
    if old.superseded_by_id is not None:
        raise ValidationError(_("This file is already superseded by a newer one."))
    target = old.target_type.get_object_for_this_type(pk=old.target_id)
    new = evidence_upload(
        actor=actor,
        target=target,
        upload=upload,
        kind=old.kind,
        requirement=old.requirement,
        description=description or old.description,
    )
    old.superseded_by = new
    old.superseded_at = timezone.now()
    old.save(update_fields=["superseded_by", "superseded_at"])
    audit_record(
        actor=actor,
        event_type="evidence.superseded",
        subject=old,
        branch_id=old.branch_id,
        old={"superseded_by": None},
        new={"superseded_by": new.pk},
        reason=reason.strip(),
    )
    return new


@transaction.atomic
def evidence_download_record(*, actor: User, evidence: EvidenceFile) -> None:
    """The audit row of one download (the view has checked the scope)."""
    audit_record(
        actor=actor,
        event_type="evidence.downloaded",
        subject=evidence,
        branch_id=evidence.branch_id,
        new={"file_name": evidence.original_name, "sha256": evidence.sha256},
    )


def _content_type(obj: models.Model):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj, for_concrete_model=True)


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size
