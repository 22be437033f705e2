"""Divisions of responsibility: shares add up to 100%, a new division keeps the old one as history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accountability.models import ResponsibilityAssignment, ResponsibilityShare
from accountability.services import responsibility_assign, responsibility_assign_defaults
from audit.models import AuditEvent
from collections_app.models import CollectionCase
from notifications.models import Notification
from tests.accountability.conftest import OPENED, divide

pytestmark = pytest.mark.django_db

DEADLINE = date(2026, 9, 30)


def test_a_new_case_gets_its_officer_at_100_percent_with_the_case_time_limit(npl_case, officer):
    (division,) = ResponsibilityAssignment.objects.filter(case=npl_case)
    assert division.lead_officer == officer and division.starts_on == OPENED
    assert division.recovery_deadline == npl_case.recovery_deadline
    assert list(division.shares.values_list("officer", "share")) == [(officer.pk, Decimal("100.00"))]
    assert responsibility_assign_defaults(as_of=OPENED) == 0  # idempotent


def test_manager_divides_a_loan_between_two_officers(npl_case, manager, officer, officer2):
    first = ResponsibilityAssignment.objects.get(case=npl_case)
    new = divide(
        npl_case,
        manager,
        [(officer2, Decimal("70")), (officer, Decimal("30"))],
        DEADLINE,
        as_of=date(2026, 2, 1),
        reason="Officer 2 knows the borrower",
    )
    first.refresh_from_db()
    assert first.ended_on == date(2026, 2, 1) and first.end_reason == "Officer 2 knows the borrower"
    assert (new.ended_on, new.starts_on, new.lead_officer) == (None, date(2026, 2, 1), officer2)
    # The case and the loan follow the lead officer and the new time limit.
    case = CollectionCase.objects.select_related("loan").get(pk=npl_case.pk)
    assert (case.officer, case.recovery_deadline, case.loan.responsible_officer) == (officer2, DEADLINE, officer2)
    event = AuditEvent.objects.get(event_type="responsibility.assigned")
    assert event.actor == manager and event.old_values["shares"] == {str(officer.pk): "100.00"}
    assert event.new_values["shares"] == {str(officer2.pk): "70.00", str(officer.pk): "30.00"}
    assert Notification.objects.filter(recipient=officer2, kind="responsibility.assigned").exists()
    assert ResponsibilityAssignment.objects.filter(case=npl_case).count() == 2  # history stays


def test_an_officer_dropped_from_the_division_is_told(npl_case, manager, officer, officer2):
    divide(npl_case, manager, [(officer2, Decimal("100"))], DEADLINE)
    assert Notification.objects.filter(recipient=officer, kind="responsibility.ended").count() == 1


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([("officer", "60"), ("officer2", "30")], "add up to 90%"),
        ([("officer", "60"), ("officer2", "50")], "add up to 110%"),
        ([("officer", "100"), ("officer2", "0")], "more than 0%"),
        ([], "at least one"),
        ([("officer", "50"), ("officer", "50")], "each officer once"),
    ],
)
def test_shares_that_do_not_add_up_are_refused(request, npl_case, manager, shares, message):
    pairs = [(request.getfixturevalue(name), Decimal(s)) for name, s in shares]
    with pytest.raises(ValidationError, match=message):
        divide(npl_case, manager, pairs, DEADLINE)
    assert ResponsibilityAssignment.objects.filter(case=npl_case).count() == 1


@pytest.mark.parametrize("persona", ["officer", "auditor", "admin_user", "outside_manager"])
def test_only_a_manager_of_the_branch_divides_responsibility(request, npl_case, officer, persona):
    with pytest.raises(PermissionDenied):
        divide(npl_case, request.getfixturevalue(persona), [(officer, Decimal("100"))], DEADLINE)


def test_an_officer_of_another_branch_cannot_be_made_responsible(npl_case, manager, outsider):
    with pytest.raises(ValidationError, match="does not work in the case's branch"):
        divide(npl_case, manager, [(outsider, Decimal("100"))], DEADLINE)


def test_a_time_limit_in_the_past_is_refused(npl_case, manager, officer):
    with pytest.raises(ValidationError, match="cannot be in the past"):
        divide(npl_case, manager, [(officer, Decimal("100"))], OPENED - timedelta(days=1))


def test_a_division_needs_a_reason(npl_case, manager, officer):
    with pytest.raises(ValidationError, match="Give a reason"):
        responsibility_assign(
            case=npl_case,
            shares=[(officer, Decimal("100"))],
            recovery_deadline=DEADLINE,
            reason=" ",
            actor=manager,
            as_of=OPENED,
        )


def test_the_database_keeps_one_current_division_per_case(npl_case):
    current = ResponsibilityAssignment.objects.get(case=npl_case)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponsibilityAssignment.objects.create(
            case=npl_case,
            loan=npl_case.loan,
            branch=npl_case.branch,
            lead_officer=current.lead_officer,
            recovery_deadline=DEADLINE,
            starts_on=OPENED,
        )


def test_the_database_refuses_a_share_above_100_percent(npl_case, officer2):
    current = ResponsibilityAssignment.objects.get(case=npl_case)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponsibilityShare.objects.create(assignment=current, officer=officer2, share=Decimal("120"))


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_shares_that_do_not_add_up_at_commit(require_postgres, branch, officer, officer2):
    from tests.accountability.conftest import open_npl_case

    case = open_npl_case(branch=branch, officer=officer)
    current = ResponsibilityAssignment.objects.get(case=case)
    with pytest.raises(IntegrityError, match="add up to 140"), transaction.atomic():
        ResponsibilityShare.objects.create(assignment=current, officer=officer2, share=Decimal("40"))
    assert current.shares.count() == 1
    # Moving shares around inside one transaction is fine as long as the end result adds up.
    with transaction.atomic():
        current.shares.update(share=Decimal("50"))
        ResponsibilityShare.objects.create(assignment=current, officer=officer2, share=Decimal("50"))
    assert sum(current.shares.values_list("share", flat=True)) == 100


def test_a_written_off_case_is_no_longer_divided(npl_case, manager, officer):
    CollectionCase.objects.filter(pk=npl_case.pk).update(measure="written_off")
    with pytest.raises(ValidationError, match="written off"):
        divide(npl_case, manager, [(officer, Decimal("100"))], DEADLINE)


@pytest.mark.django_db(transaction=True)
def test_a_case_opened_by_hand_gets_its_division_when_it_commits(branch, officer, manager):
    from collections_app.services import case_open
    from tests.factories import LoanFactory

    loan = LoanFactory(
        branch=branch, responsible_officer=officer, overdue_since=date(2026, 1, 1), five_level_class="substandard"
    )
    case = case_open(loan=loan, actor=officer, as_of=date(2026, 6, 30), reason="Stopped paying")
    assert ResponsibilityAssignment.objects.get(case=case).lead_officer == officer
