"""Issue 15: the board's per-officer summary reads kept figures (ResponsibilityTally, maintained by
PostgreSQL triggers in the transaction of each change) that always equal the direct aggregate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accountability.models import ResponsibilityAssignment, ResponsibilityShare, ResponsibilityTally
from accountability.selectors import officer_case_counts, officer_case_counts_direct, records_by_officer
from accountability.services import responsibility_assign_defaults, responsibility_tally_compact
from collections_app import services as cases
from collections_app.models import CollectionCase
from loans.models import Role, User
from tests.accountability.conftest import OPENED, divide, open_npl_case
from tests.factories import BorrowerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

AS_OF = date(2026, 3, 1)
EARLY, LATE = date(2026, 2, 1), date(2026, 9, 30)  # before and after AS_OF


def _same(*users) -> dict:
    """The kept figures equal the direct aggregate for every user given; the first user's figures."""
    figures = []
    for user in users:
        kept = officer_case_counts(user=user, as_of=AS_OF)
        direct = officer_case_counts_direct(user=user, as_of=AS_OF)
        assert kept == direct, (user.username, kept, direct)
        figures.append(kept)
    return figures[0]


@pytest.fixture
def book(branch, outlet, other_branch, officer, officer2, outlet_officer):
    made = [open_npl_case(branch=branch, officer=officer, borrower=BorrowerFactory()) for _ in range(3)]
    made.append(open_npl_case(branch=outlet, officer=outlet_officer, borrower=BorrowerFactory()))
    outsider = User.objects.create_user("far_officer", role=Role.OFFICER, branch=other_branch)
    made.append(open_npl_case(branch=other_branch, officer=outsider, borrower=BorrowerFactory()))
    return made


@pytest.fixture
def readers(manager, head_manager, auditor, outside_manager):
    return [manager, head_manager, auditor, outside_manager]


def test_first_divisions_are_kept(book, readers, officer, outlet_officer):
    figures = _same(*readers)
    assert figures[officer.pk] == {"cases": 3, "past": 0}
    assert figures[outlet_officer.pk]["cases"] == 1  # the outlet is under the manager's branch
    assert len(officer_case_counts(user=readers[1], as_of=AS_OF)) == 3  # the head office: everyone


def test_a_new_division_moves_the_shares_and_the_time_limit(book, readers, manager, officer, officer2):
    divide(book[0], manager, [(officer2, Decimal("60")), (officer, Decimal("40"))], EARLY)
    divide(book[1], manager, [(officer2, Decimal("100"))], LATE)
    figures = _same(*readers)
    assert figures[officer.pk] == {"cases": 2, "past": 1}
    assert figures[officer2.pk] == {"cases": 2, "past": 1}


def test_a_closed_and_a_reopened_case_leave_and_rejoin(book, readers, manager, officer):
    case = book[0]
    CollectionCase.objects.filter(pk=case.pk).update(is_open=False, measure="refinanced", ended_on=AS_OF)
    assert _same(*readers)[officer.pk]["cases"] == 2
    CollectionCase.objects.filter(pk=case.pk).update(is_open=True, measure="responsibility", ended_on=None)
    assert _same(*readers)[officer.pk]["cases"] == 3


def test_a_refinancing_closes_the_case_through_the_service(book, readers, officer):
    case = CollectionCase.objects.get(pk=book[0].pk)
    cases.refinancing_record(case=case, actor=officer, value_date=AS_OF, as_of=AS_OF, source="loan NEW-1")
    assert not CollectionCase.objects.get(pk=case.pk).is_open
    assert _same(*readers)[officer.pk]["cases"] == 2


def test_a_division_ended_redated_moved_and_shares_changed_or_deleted(book, readers, branch, outlet, officer, officer2):
    division = ResponsibilityAssignment.objects.get(case=book[0], ended_on__isnull=True)
    ResponsibilityAssignment.objects.filter(pk=division.pk).update(recovery_deadline=EARLY)
    assert _same(*readers)[officer.pk] == {"cases": 3, "past": 1}
    ResponsibilityAssignment.objects.filter(pk=division.pk).update(branch=outlet)
    _same(*readers)
    with transaction.atomic():  # the shares must add up to 100% at commit: one officer for another
        ResponsibilityShare.objects.filter(assignment=division).update(officer=officer2)
    assert _same(*readers)[officer2.pk] == {"cases": 1, "past": 1}
    ResponsibilityAssignment.objects.filter(pk=division.pk).update(ended_on=AS_OF)
    assert officer2.pk not in _same(*readers)
    ResponsibilityAssignment.objects.filter(pk=division.pk).update(ended_on=None)
    assert _same(*readers)[officer2.pk] == {"cases": 1, "past": 1}
    ResponsibilityShare.objects.filter(assignment=division).delete()
    ResponsibilityAssignment.objects.filter(pk=division.pk).delete()
    assert officer2.pk not in _same(*readers)


def test_an_officer_answering_for_a_loan_elsewhere_is_on_his_managers_board(book, readers, officer, other_branch):
    # The Riverside manager answers for a loan of another branch: its officers join his board.
    far = book[-1]
    manager = readers[0]
    far.loan.responsible_officer = manager
    far.loan.save(update_fields=["responsible_officer"])
    figures = _same(manager)
    assert far.officer_id in figures


def test_compaction_folds_the_rows_and_keeps_the_figures(book, readers, manager, officer, officer2):
    for _ in range(3):
        divide(book[0], manager, [(officer2, Decimal("50")), (officer, Decimal("50"))], LATE)
        divide(book[0], manager, [(officer, Decimal("100"))], EARLY)
    before = _same(*readers)
    rows = ResponsibilityTally.objects.count()
    kept = responsibility_tally_compact()
    assert 0 < kept == ResponsibilityTally.objects.count() < rows
    assert not ResponsibilityTally.objects.filter(shares=0).exists()
    assert _same(*readers) == before


def test_the_daily_first_divisions_compact_on_commit(
    book, readers, manager, officer, officer2, django_capture_on_commit_callbacks
):
    divide(book[0], manager, [(officer2, Decimal("100"))], LATE)
    rows = ResponsibilityTally.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        responsibility_assign_defaults(as_of=OPENED)
    assert ResponsibilityTally.objects.count() < rows
    _same(*readers)


def test_the_board_reads_one_small_query_for_the_case_counts(book, manager, django_assert_num_queries):
    # Records per officer, case counts (kept), the officers' names.
    with django_assert_num_queries(3):
        rows = records_by_officer(user=manager, as_of=AS_OF)
    assert {r.officer_id for r in rows}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accountability_responsibilitytally")
        assert cursor.fetchone()[0] == ResponsibilityTally.objects.count()
