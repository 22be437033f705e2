"""Reactions to other apps' events."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django_fsm.signals import post_transition

from accountability.services import responsibility_assign_defaults
from accountability.tasks import case_recovered as case_recovered_task
from collections_app.case_rules import Measure
from collections_app.models import CollectionCase
from ledger.signals import entry_decided

log = logging.getLogger(__name__)


@receiver(post_transition, sender=CollectionCase, dispatch_uid="accountability_case_recovered")
def case_recovered(sender: Any, instance: CollectionCase, target: str, **kwargs: Any) -> None:
    """Recovered within the time limit -> rewards proposed and sanctions to be lifted, without delay:
    queued when the move commits (the daily check `recovered_in_time` catches anything missed)."""
    if target != Measure.RECOVERED:
        return
    case_id = instance.pk
    as_of = (instance.ended_on or timezone.localdate()).isoformat()
    transaction.on_commit(lambda: _queue(case_id, as_of))


@receiver(entry_decided, dispatch_uid="accountability_ledger_entry_decided")
def ledger_entry_decided(sender: Any, entry: Any, **kwargs: Any) -> None:
    """A backdated recovery approved: a recovered case may now count as recovered in time."""
    if entry.case_id is None or entry.approval != "approved":
        return
    case = CollectionCase.objects.filter(pk=entry.case_id).only("measure", "ended_on").first()
    if case is None or case.measure != Measure.RECOVERED:
        return
    case_id, as_of = case.pk, timezone.localdate().isoformat()
    transaction.on_commit(lambda: _queue(case_id, as_of))


@receiver(post_save, sender=CollectionCase, dispatch_uid="accountability_case_opened")
def case_opened(sender: Any, instance: CollectionCase, created: bool, **kwargs: Any) -> None:
    """A case opened by hand gets its first division of responsibility when it commits."""
    if not created:
        return
    case_id = instance.pk
    transaction.on_commit(lambda: responsibility_assign_defaults(as_of=timezone.localdate(), case_ids=[case_id]))


def _queue(case_id: int, as_of: str) -> None:
    try:
        case_recovered_task.delay(case_id, as_of)
    except Exception:  # the daily check catches up; the move itself is committed
        log.warning("could not queue rewards for case %s", case_id, exc_info=True)
