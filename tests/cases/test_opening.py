"""Opening cases: by hand, automatically for every non-performing loan, once per loan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from collections_app.models import CollectionCase
from collections_app.services import case_open, cases_open_for_non_performing
from loans.services import loans_reclassify
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


def test_officer_opens_a_case_for_a_non_performing_loan(npl_loan, officer, today):
    case = case_open(loan=npl_loan, actor=officer, as_of=today, reason="Borrower stopped paying")
    assert case.measure == "responsibility" and case.is_open
    assert case.officer == officer and case.branch == npl_loan.branch
    assert case.recovery_deadline == today + timedelta(days=180)
    assert case.limitation_starts_on == npl_loan.overdue_since
    assert case.limitation_expires_on == npl_loan.overdue_since.replace(year=npl_loan.overdue_since.year + 3)
    assert case.urgency_on == min(case.recovery_deadline, case.limitation_expires_on)
    event = AuditEvent.objects.get(event_type="case.opened", subject_id=case.pk)
    assert event.actor == officer and event.reason == "Borrower stopped paying"


def test_a_second_open_case_for_the_same_loan_is_refused(case, officer, today):
    with pytest.raises(ValidationError, match="already has an open case"):
        case_open(loan=case.loan, actor=officer, as_of=today, reason="again")


def test_the_database_itself_refuses_a_second_open_case(case):
    duplicate = CollectionCase(
        loan=case.loan,
        branch=case.branch,
        recovery_deadline=case.recovery_deadline,
        opened_on=case.opened_on,
        measure_since=case.opened_on,
        urgency_on=case.urgency_on,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_a_performing_loan_gets_no_case_by_hand(branch, officer, today):
    loan = LoanFactory(branch=branch, five_level_class="special_mention")
    with pytest.raises(ValidationError, match="non-performing"):
        case_open(loan=loan, actor=officer, as_of=today, reason="early")


@pytest.mark.parametrize("persona", ["auditor", "admin_user", "outsider"])
def test_only_officers_and_managers_of_the_branch_open_cases(request, persona, npl_loan, today):
    with pytest.raises(PermissionDenied):
        case_open(loan=npl_loan, actor=request.getfixturevalue(persona), as_of=today, reason="x")


def test_opening_needs_a_reason(npl_loan, officer, today):
    with pytest.raises(ValidationError):
        case_open(loan=npl_loan, actor=officer, as_of=today, reason="  ")


def test_every_non_performing_loan_gets_one_case_and_a_second_run_adds_none(make_npl, branch, outlet, today):
    npls = [make_npl(), make_npl(branch=outlet), make_npl(five_level_class="loss")]
    LoanFactory(branch=branch)  # performing
    make_npl(outstanding_principal=0, interest_on_balance=0, interest_off_balance=0)  # nothing owed
    assert cases_open_for_non_performing(as_of=today) == 3
    assert set(CollectionCase.objects.values_list("loan_id", flat=True)) == {loan.pk for loan in npls}
    assert AuditEvent.objects.filter(event_type="case.opened").count() == 3
    assert cases_open_for_non_performing(as_of=today) == 0
    case = CollectionCase.objects.get(loan=npls[0])
    assert case.officer == npls[0].responsible_officer
    assert case.limitation_starts_on == npls[0].overdue_since


def test_the_opener_can_be_limited_to_some_loans(make_npl, today):
    a, b = make_npl(), make_npl()
    assert cases_open_for_non_performing(as_of=today, loan_ids=[a.pk]) == 1
    assert not CollectionCase.objects.filter(loan=b).exists()
    assert cases_open_for_non_performing(as_of=today, loan_ids=[]) == 0


def test_a_loan_that_becomes_non_performing_gets_its_case_on_commit(
    branch, officer, today, django_capture_on_commit_callbacks
):
    loan = LoanFactory(branch=branch, responsible_officer=officer, overdue_since=today - timedelta(days=120))
    with django_capture_on_commit_callbacks(execute=True):
        loans_reclassify(as_of=today)
    case = CollectionCase.objects.get(loan=loan)
    assert case.is_open and case.officer == officer and case.opened_on == today


def test_closed_and_revitalised_loans_are_not_reopened(make_npl, today):
    closed = make_npl(five_level_class="loss", written_off_on=today)
    CollectionCase.objects.bulk_create(
        [
            CollectionCase(
                loan=closed,
                branch=closed.branch,
                measure="closed",
                is_open=False,
                recovery_deadline=today,
                opened_on=today,
                measure_since=today,
                urgency_on=today,
            )
        ]
    )
    make_npl(restructured_on=today - timedelta(days=10), overdue_since=None)
    assert cases_open_for_non_performing(as_of=today) == 0
