"""Staff and branches: user and branch administration. The Django admin calls these.

Each service checks that the actor is an administrator, validates with the model's own rules
(fields, clean(), unique fields, check constraints), writes in one transaction and records an
AuditEvent with the old and new values (never a password or its hash).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from loans.models import Branch, User
from loans.permissions import role_allows
from loans.services._fields import apply_changes

USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "employee_no",
    "phone",
    "role",
    "branch",
    "is_active",
    "is_staff",
    "is_superuser",
)
BRANCH_FIELDS = ("code", "name", "kind", "parent")


def _require_admin(actor: Any) -> None:
    if not role_allows(actor, "loans.manage_staff"):
        raise PermissionDenied(_("Only an administrator manages users and branches."))


def _require_superuser_for(actor: Any, new: dict) -> None:
    """Only a superuser makes (or unmakes) a superuser: an administrator cannot raise their own powers."""
    if "is_superuser" in new and not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("Only a superuser may grant or remove superuser status."))


def _names(items: Iterable[Any]) -> list[str]:
    return sorted(
        f"{item.content_type.app_label}.{item.codename}" if isinstance(item, Permission) else item.name
        for item in items
    )


def _set_many(user: User, name: str, items: Iterable[Any] | None, old: dict, new: dict) -> None:
    """Groups and single permissions: a many-to-many set, audited by name."""
    if items is None:
        return
    manager = getattr(user, name)
    before, after = list(manager.all()), list(items)
    if {i.pk for i in before} != {i.pk for i in after}:
        manager.set(after)
        old[name], new[name] = _names(before), _names(after)


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str | None,
    role: str,
    branch: Branch | None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    employee_no: str = "",
    phone: str = "",
    is_active: bool = True,
    is_staff: bool = False,
    is_superuser: bool = False,
    groups: Iterable[Group] = (),
    reason: str = "",
) -> User:
    """A new member of staff. `password` None: no password login (e.g. the bank's directory)."""
    _require_admin(actor)
    values = {
        "username": username,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "employee_no": employee_no,
        "phone": phone,
        "role": role,
        "branch": branch,
        "is_active": is_active,
        "is_staff": is_staff,
        "is_superuser": is_superuser,
    }
    user = User(**values)
    if is_superuser:
        _require_superuser_for(actor, {"is_superuser": True})
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    new = {**values, "usable_password": user.has_usable_password()}
    if groups:
        user.groups.set(groups)
        new["groups"] = _names(groups)
    audit_record(actor=actor, event_type="user.created", subject=user, branch_id=user.branch_id, new=new, reason=reason)
    return user


@transaction.atomic
def user_update(
    *,
    user: User,
    actor: Any,
    reason: str = "",
    groups: Iterable[Group] | None = None,
    user_permissions: Iterable[Permission] | None = None,
    **changes: Any,
) -> User:
    """Change a user's details, role, branch, access (is_active, is_staff, is_superuser), groups
    or single permissions. Only what differs is written and audited; nothing differs, nothing is."""
    _require_admin(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    old, new = apply_changes(user, changes, USER_FIELDS)
    _require_superuser_for(actor, new)
    if old:
        user.full_clean(exclude=["password"])
        user.save(update_fields=list(new))
    _set_many(user, "groups", groups, old, new)
    _set_many(user, "user_permissions", user_permissions, old, new)
    if new:
        audit_record(
            actor=actor,
            event_type="user.updated",
            subject=user,
            branch_id=user.branch_id,
            old=old,
            new=new,
            reason=reason,
        )
    return user


@transaction.atomic
def user_set_password(*, user: User, actor: Any, password: str | None, reason: str = "") -> User:
    """An administrator sets someone's password (None: password login turned off for them)."""
    _require_admin(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    had_password = user.has_usable_password()
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_record(
        actor=actor,
        event_type="user.password_set",
        subject=user,
        branch_id=user.branch_id,
        old={"usable_password": had_password},
        new={"usable_password": user.has_usable_password(), "password": "changed"},
        reason=reason,
    )
    return user


@transaction.atomic
def user_unlock(*, user: User, actor: Any, reason: str = "") -> int:
    """Clear a user's failed login attempts (the lockout). Returns how many were cleared."""
    _require_admin(actor)
    cleared = axes_reset(username=user.get_username())
    if cleared:
        audit_record(
            actor=actor,
            event_type="user.unlocked",
            subject=user,
            branch_id=user.branch_id,
            old={"failed_login_records": cleared},
            new={"failed_login_records": 0},
            reason=reason,
        )
    return cleared


@transaction.atomic
def branch_create(*, actor: Any, code: str, name: str, kind: str, parent: Branch | None, reason: str = "") -> Branch:
    """A new branch, outlet or credit cooperative under `parent` (only the head office has none)."""
    _require_admin(actor)
    branch = Branch(code=code, name=name, kind=kind, parent=parent)
    branch.path = branch.compute_path()
    branch.full_clean()
    branch.save()
    audit_record(
        actor=actor,
        event_type="branch.created",
        subject=branch,
        branch_id=branch.pk,
        new={"code": code, "name": name, "kind": kind, "parent": parent},
        reason=reason,
    )
    return branch


@transaction.atomic
def branch_update(*, branch: Branch, actor: Any, reason: str = "", **changes: Any) -> Branch:
    """Rename, recode or move a branch (its sub-branches move with it)."""
    _require_admin(actor)
    branch = Branch.objects.select_for_update().get(pk=branch.pk)
    old, new = apply_changes(branch, changes, BRANCH_FIELDS)
    if not new:
        return branch
    branch.full_clean()
    branch.save()
    audit_record(
        actor=actor, event_type="branch.updated", subject=branch, branch_id=branch.pk, old=old, new=new, reason=reason
    )
    return branch


def user_language_set(*, user: User, language: str, actor: User) -> User:
    """A user's interface language, remembered on their account (the header's switch)."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("This language is not offered.")})
    old = user.language
    if old != language:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(language=language)
            user.language = language
            audit_record(
                actor=actor,
                event_type="user.language_set",
                subject=user,
                branch_id=user.branch_id,
                old={"language": old},
                new={"language": language},
            )
    return user
