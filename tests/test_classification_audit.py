"""Every reclassification run that changed something leaves one audit row pointing to its history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from audit.models import AuditEvent
from loans.models import ClassificationChange, ClassificationRun
from loans.services import loan_classify, loans_reclassify
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def _overdue(days: int, branch):
    return LoanFactory(branch=branch, overdue_since=AS_OF - timedelta(days=days))


def test_the_daily_run_is_audited_once_with_the_system_as_actor_and_its_history_rows(branch):
    loans = [_overdue(days, branch) for days in (10, 100, 300, 400)]
    result = loans_reclassify(as_of=AS_OF, batch_size=2)
    run = ClassificationRun.objects.get()
    event = AuditEvent.objects.get()
    assert (event.event_type, event.actor, event.subject_type, event.subject_id) == (
        "system.loans.reclassified",
        None,
        "loans.classificationrun",
        run.pk,
    )
    changes = ClassificationChange.objects.filter(loan__in=loans)
    ids = sorted(changes.values_list("pk", flat=True))
    assert event.new_values == {
        "classification_run": run.pk,
        "as_of": "2026-06-30",
        "whole_book": True,
        "loans_examined": 4,
        "loans_changed": result.changed,
        "became_non_performing": 3,
        "left_non_performing": 0,
        "classification_changes": len(ids),
        "first_classification_change_id": ids[0],
        "last_classification_change_id": ids[-1],
    }


def test_a_run_that_changes_nothing_writes_no_audit_row(branch):
    _overdue(100, branch)
    loans_reclassify(as_of=AS_OF)
    loans_reclassify(as_of=AS_OF)
    assert AuditEvent.objects.count() == 1 and ClassificationRun.objects.count() == 2


def test_a_run_on_demand_by_a_person_is_a_run_audited_with_that_person(branch, manager):
    loan = _overdue(100, branch)
    loan_classify(loan=loan, as_of=AS_OF, actor=manager)
    run = ClassificationRun.objects.get()
    event = AuditEvent.objects.get()
    assert (run.whole_book, run.loans_examined, run.loans_changed) == (False, 1, 1)
    assert (event.event_type, event.actor, event.subject_id) == ("loans.reclassified", manager, run.pk)
    assert event.new_values["classification_changes"] == ClassificationChange.objects.filter(loan=loan).count() == 2
    loan_classify(loan=loan, as_of=AS_OF, actor=manager)  # nothing changes: no run, no audit row
    assert ClassificationRun.objects.count() == 1 and AuditEvent.objects.count() == 1
