"""Writes of the dashboards app: the yearly recovery targets (issue 13, item 2).

`target_set` is the one place a target is set or changed: the targets page, the admin (read-only)
and any command call it. Audited with the old and new values."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from dashboards.models import RecoveryTarget
from loans.access import sees_everything
from loans.models import Branch, User
from loans.permissions import is_manager

TARGET_SET_EVENT = "dashboards.target_set"
CENT = Decimal("0.01")
# Years a target may be set for: a typo (20266) is refused, not stored.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def can_set_targets(user: Any) -> bool:
    """Managers set targets (head-office managers for the whole bank); officers, administrators
    and auditors read them."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and is_manager(user))


def target_branches(user: Any):
    """The branches whose targets `user` may set (and read): the manager's subtree."""
    if sees_everything(user):
        return Branch.objects.all()
    if user.branch_id is None:
        return Branch.objects.none()
    return Branch.objects.filter(path__startswith=user.branch.path)


def target_officers(branch: Branch):
    """Who may be given a target of `branch`: the active staff who carry responsibility for cases
    (officers and managers) working in the branch or below it."""
    return User.objects.filter(
        is_active=True, role__in=[User.Role.OFFICER, User.Role.MANAGER], branch__path__startswith=branch.path
    )


def _money(value: Any, field: str) -> Decimal:
    if value in (None, ""):
        raise ValidationError({field: _("Enter an amount of money.")})
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationError({field: _("Enter an amount of money.")}) from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: _("A target cannot be negative.")})
    if amount >= Decimal("1e16"):
        raise ValidationError({field: _("This amount is too large.")})
    return amount


def _values(target: RecoveryTarget) -> dict[str, Any]:
    return {
        "year": target.year,
        "branch": target.branch_id,
        "officer": target.officer_id,
        "npl_reduction": target.npl_reduction,
        "cash_recovered": target.cash_recovered,
    }


def target_set(
    *,
    actor: User,
    year: int,
    branch: Branch,
    officer: User | None,
    npl_reduction: Decimal | str,
    cash_recovered: Decimal | str,
    reason: str,
) -> RecoveryTarget:
    """Set (or change) the year's targets of `branch` (officer None: the branch's own) or of one
    officer of it. Only a manager, within his subtree; the officer must work in the branch's
    subtree; amounts are money, zero or more; a reason is required. Errors name the field."""
    if not can_set_targets(actor):
        raise PermissionDenied(_("Only a manager sets recovery targets."))
    if not target_branches(actor).filter(pk=branch.pk).exists():
        raise PermissionDenied(_("This branch is outside your branches."))
    try:
        year = int(year)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"year": _("Enter a year.")}) from exc
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            {"year": _("Enter a year between %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}}
        )
    if officer is not None and not target_officers(branch).filter(pk=officer.pk).exists():
        raise ValidationError({"officer": _("This person is not an officer of the branch or the branches below it.")})
    errors: dict[str, list[str]] = {}
    amounts: dict[str, Decimal] = {}
    for field, value in (("npl_reduction", npl_reduction), ("cash_recovered", cash_recovered)):
        try:
            amounts[field] = _money(value, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not reason or not str(reason).strip():
        errors["reason"] = [_("Give a reason.")]
    if errors:
        raise ValidationError(errors)
    reason = str(reason).strip()
    lookup = {"year": year, "branch": branch, "officer": officer}
    with transaction.atomic():
        target = RecoveryTarget.objects.select_for_update().filter(**lookup).order_by("pk").first()
        old: dict[str, Any] = {}
        if target is None:
            try:
                with transaction.atomic():
                    target = RecoveryTarget.objects.create(
                        **lookup, **amounts, set_by=actor, set_at=timezone.now(), reason=reason
                    )
            except IntegrityError:
                # Someone set the same target at the same moment: change theirs.
                target = RecoveryTarget.objects.select_for_update().order_by().get(**lookup)
                old = _values(target)
        else:
            old = _values(target)
        if old:
            target.npl_reduction = amounts["npl_reduction"]
            target.cash_recovered = amounts["cash_recovered"]
            target.set_by = actor
            target.set_at = timezone.now()
            target.reason = reason
            target.save()
        audit_record(
            actor=actor,
            event_type=TARGET_SET_EVENT,
            subject=target,
            branch_id=branch.pk,
            old=old,
            new=_values(target),
            reason=reason,
        )
    return target
