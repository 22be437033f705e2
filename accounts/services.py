"""Writes of a user's own account: password, two-factor device, and what the directory says.

Keyword-only, the acting user required, one transaction, an AuditEvent each (never a password or
a secret in it).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.two_factor import code_matches
from audit.services import audit_record
from loans.models import Branch, Role, User


@transaction.atomic
def password_change(*, actor: User, old_password: str, new_password: str) -> User:
    """The user changes their own password. The session hash changes with it, so every other
    session of theirs is logged out at its next request (the view keeps the current one)."""
    if not actor.has_usable_password():
        raise ValidationError(_("Your password is kept by the bank's directory: change it there."))
    if not actor.check_password(old_password):
        raise ValidationError({"old_password": _("Your current password was entered wrongly.")})
    try:
        validate_password(new_password, user=actor)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from exc
    actor.set_password(new_password)
    actor.save(update_fields=["password"])
    audit_record(actor=actor, event_type="user.password_changed", subject=actor, branch_id=actor.branch_id)
    return actor


WRONG_CODE = gettext_lazy("That code is not right, or it has expired: enter the code your app shows now.")


@transaction.atomic
def totp_enrol(*, actor: User, key: str, token: str) -> TOTPDevice:
    """Enrol an authenticator app: the key it was shown (as a QR code) and the code it gives now."""
    device = TOTPDevice(user=actor, key=key, name=_("Authenticator app"), confirmed=True)
    if not code_matches(device, token):
        raise ValidationError(
            {"token": _("That code is not right, or it has expired: enter the code your app shows now.")}
        )
    TOTPDevice.objects.filter(user=actor).delete()
    device.save()
    audit_record(
        actor=actor,
        event_type="user.two_factor_enrolled",
        subject=actor,
        branch_id=actor.branch_id,
        new={"device": device.pk},
    )
    return device


def totp_verify(*, actor: User, token: str) -> TOTPDevice | None:
    """The user's device whose current code this is, or None (django-otp's throttling
    slows down guessing: each wrong code doubles the wait before the next is checked)."""
    for device in TOTPDevice.objects.devices_for_user(actor, confirmed=True):
        if device.verify_token(token):
            return device
    return None


@transaction.atomic
def user_sync_from_directory(*, user: User, role: str, branch_code: str | None, actor: Any = None) -> User:
    """What the bank's directory says of a user who logs in through LDAP: their role and branch.

    The directory is the actor (None) unless a person runs the sync. Changes are audited.
    """
    branch = Branch.objects.filter(code=branch_code).first() if branch_code else None
    old = {"role": user.role, "branch": user.branch_id, "is_staff": user.is_staff}
    user.role = role
    user.branch = branch
    user.is_staff = role == Role.ADMIN
    new = {"role": user.role, "branch": user.branch_id, "is_staff": user.is_staff}
    user.save(update_fields=["role", "branch", "is_staff"])
    if old != new:
        audit_record(
            actor=actor,
            event_type="user.directory_synced",
            subject=user,
            branch_id=user.branch_id,
            old=old,
            new=new,
        )
    return user


@transaction.atomic
def totp_reset(*, user: User, actor: User) -> int:
    """Forget a user's authenticator (a lost phone): they enrol again at their next login."""
    removed, _by_model = TOTPDevice.objects.filter(user=user).delete()
    if removed:
        audit_record(
            actor=actor,
            event_type="user.two_factor_reset",
            subject=user,
            branch_id=user.branch_id,
            old={"devices": removed},
            new={"devices": 0},
        )
    return removed
