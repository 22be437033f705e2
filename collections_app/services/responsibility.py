"""The case's responsible officer, its recovery time limit and its special team."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from collections_app.models import CollectionCase
from collections_app.services._common import _audit, _lock, _require_reason, _require_work
from collections_app.services.dates import _refresh_dates
from loans.models import User
from loans.permissions import role_allows


@transaction.atomic
def case_set_responsibility(
    *, case: CollectionCase, officer: User, recovery_deadline: date, actor: User | None, reason: str
) -> CollectionCase:
    """Set the case's lead responsible officer and recovery time limit.

    Called by the accountability app when it records a new division of responsibility (it keeps
    the history and the shares); `actor` is the manager deciding, or None for the system.
    """
    case = _lock(case)
    if actor is not None:
        facts = case.actor_facts(actor)
        if facts.role != "manager" or not facts.in_scope:
            raise PermissionDenied(_("Only a manager of the case's branches assigns its officer and time limit."))
    reason = _require_reason(reason)
    if not role_allows(officer, "accountability.carry_responsibility"):
        raise ValidationError(
            {"officer": _("%(name)s is not an active officer or manager.") % {"name": officer.display_name}}
        )
    if not CollectionCase.objects.visible_to(officer).filter(pk=case.pk).exists():
        raise ValidationError(
            {"officer": _("%(name)s does not work in the case's branch.") % {"name": officer.display_name}}
        )
    if recovery_deadline < case.opened_on:
        raise ValidationError({"recovery_deadline": _("The time limit cannot be before the case was opened.")})
    old = {"officer": case.officer_id, "recovery_deadline": case.recovery_deadline}
    CollectionCase.objects.filter(pk=case.pk).update(
        officer=officer, recovery_deadline=recovery_deadline, updated_at=timezone.now()
    )
    _refresh_dates(case)
    _audit(
        case,
        actor,
        "case.responsibility_set",
        old=old,
        new={"officer": officer.pk, "recovery_deadline": recovery_deadline},
        reason=reason,
    )
    case.refresh_from_db()
    return case


@transaction.atomic
def case_team_set(*, case: CollectionCase, members: Iterable[User], actor: User, reason: str) -> CollectionCase:
    """Name the special team (the entry condition of measure 4 needs at least two members)."""
    case = _lock(case)
    _require_work(case, actor)
    reason = _require_reason(reason)
    members = list(members)
    for member in members:
        if not member.is_active or not CollectionCase.objects.visible_to(member).filter(pk=case.pk).exists():
            raise ValidationError(
                {"members": _("%(name)s does not work in the case's branch.") % {"name": member.display_name}}
            )
    old = sorted(case.team_members.values_list("pk", flat=True))
    case.team_members.set(members)
    _audit(case, actor, "case.team_set", old={"team": old}, new={"team": sorted(m.pk for m in members)}, reason=reason)
    return case
