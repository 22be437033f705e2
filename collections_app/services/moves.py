"""Moving a case between the six measures and to its end states (the transitions' services)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from collections_app.case_rules import MEASURE_LABELS, Measure, entry_refusal, move_refusal, needs_manager, sources_of
from collections_app.models import CaseRequest, CollectionCase, MeasureChange
from collections_app.services._common import CaseChanged, _audit
from loans.models import User


def _perform_move(
    *, case: CollectionCase, target: Measure, actor: User, as_of: date, reason: str, request: CaseRequest | None = None
) -> None:
    """Check, transition, save, record. `case` is the instance the user acted on (its state is checked)."""
    refusal = entry_refusal(target, case.entry_facts())
    if refusal:
        raise ValidationError(refusal)
    role_refusal = move_refusal(target, case.actor_facts(actor))
    if role_refusal:
        raise PermissionDenied(role_refusal)
    old = case.measure
    try:
        case.transition_method(target.value)(on=as_of)
    except TransitionNotAllowed as exc:
        raise ValidationError(
            _("%(target)s is not possible from %(measure)s.")
            % {"target": target.label, "measure": MEASURE_LABELS[Measure(old)].lower()}
        ) from exc
    try:
        # ConcurrentTransitionMixin: UPDATE ... WHERE measure = <the state this instance was read in>.
        with transaction.atomic():  # a savepoint, so the state can still be read after a lost race
            case.save(update_fields=["measure", "measure_since", "ended_on", "is_open", "updated_at"])
    except ConcurrentTransition as exc:
        now = CollectionCase.objects.filter(pk=case.pk).values_list("measure", flat=True).first()
        raise CaseChanged(now) from exc
    MeasureChange.objects.create(
        case=case,
        from_measure=old,
        to_measure=target.value,
        changed_on=as_of,
        actor=actor,
        request=request,
        reason=reason,
    )
    # Requests the case has moved past can no longer be approved.
    lapsed = [t.value for t in Measure if Measure(case.measure) not in sources_of(t)]
    pending = CaseRequest.objects.filter(case=case, status=CaseRequest.Status.REQUESTED, target__in=lapsed)
    if request is not None:
        pending = pending.exclude(pk=request.pk)
    pending.update(
        status=CaseRequest.Status.LAPSED,
        decided_at=timezone.now(),
        # The page says why in words from the status (the timeline: "the case moved past it").
        decision_reason="",
    )
    _audit(case, actor, "case.moved", old={"measure": old}, new={"measure": target.value}, reason=reason)


def _check_seen(case: CollectionCase, seen_measure: str | None) -> None:
    """Lock the row; the state the user saw (and this instance holds) must still be the state."""
    current = (
        CollectionCase.objects.select_for_update(of=("self",))
        .filter(pk=case.pk)
        .values_list("measure", flat=True)
        .get()
    )
    if seen_measure is not None and seen_measure != case.measure:
        raise CaseChanged(case.measure)
    if seen_measure is not None and current != seen_measure:
        raise CaseChanged(current)


@transaction.atomic
def case_move(
    *,
    case: CollectionCase,
    target: str,
    actor: User,
    as_of: date,
    reason: str = "",
    seen_measure: str | None = None,
) -> CollectionCase:
    """Move a case now, for the moves an officer may make (collaborative, pressure, recovered).

    `seen_measure` is the measure the user saw when they chose the move; if the case has moved
    since, or moves while this runs, CaseChanged is raised and nothing is written.
    """
    target = Measure(target)
    if needs_manager(target):
        raise ValidationError(_("%(measure)s needs a manager's approval: request it.") % {"measure": target.label})
    _check_seen(case, seen_measure)
    _perform_move(case=case, target=target, actor=actor, as_of=as_of, reason=reason.strip())
    return case
