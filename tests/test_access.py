"""Scoping: every role sees exactly its branches; another branch's id is a 404."""

import pytest
from django.urls import reverse

from loans.models import Borrower, Loan
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(branch, outlet, other_branch, head_office):
    return {
        "branch": LoanFactory(branch=branch),
        "outlet": LoanFactory(branch=outlet),
        "other": LoanFactory(branch=other_branch),
        "head": LoanFactory(branch=head_office),
    }


def visible(user) -> set[str]:
    return set(Loan.objects.visible_to(user).values_list("loan_no", flat=True))


def test_officer_sees_own_branch_only(book, officer):
    assert visible(officer) == {book["branch"].loan_no}


def test_outlet_officer_sees_the_outlet_only(book, outlet_officer):
    assert visible(outlet_officer) == {book["outlet"].loan_no}


def test_manager_sees_branch_and_the_branches_below(book, manager):
    assert visible(manager) == {book["branch"].loan_no, book["outlet"].loan_no}


def test_head_office_manager_admin_and_auditor_see_everything(book, head_manager, admin_user, auditor):
    everything = {x.loan_no for x in book.values()}
    assert visible(head_manager) == everything
    assert visible(admin_user) == everything
    assert visible(auditor) == everything


def test_anonymous_and_inactive_users_see_nothing(book, officer):
    from django.contrib.auth.models import AnonymousUser

    assert visible(AnonymousUser()) == set()
    officer.is_active = False
    assert visible(officer) == set()


def test_user_without_a_branch_sees_nothing(book):
    from tests.factories import UserFactory

    assert visible(UserFactory(username="nobranch", branch=None)) == set()


def test_borrowers_are_scoped_through_their_loans(branch, other_branch, officer):
    mine = BorrowerFactory()
    theirs = BorrowerFactory()
    LoanFactory(branch=branch, borrower=mine)
    LoanFactory(branch=other_branch, borrower=theirs)
    assert list(Borrower.objects.visible_to(officer)) == [mine]


def test_officer_who_guesses_another_branch_loan_id_gets_404(book, officer, client):
    client.force_login(officer)
    assert client.get(reverse("loans:loan_detail", args=[book["branch"].pk])).status_code == 200
    assert client.get(reverse("loans:loan_detail", args=[book["other"].pk])).status_code == 404
    assert client.get(reverse("loans:loan_detail", args=[999999])).status_code == 404


def test_manager_cannot_classify_another_branch_loan_by_url(book, manager, client):
    client.force_login(manager)
    url = reverse("loans:loan_classify_manual", args=[book["other"].pk])
    response = client.post(url, {"five_level_class": "loss", "reason": "x"})
    assert response.status_code == 404


def test_loan_list_shows_only_the_scope(book, officer, client):
    client.force_login(officer)
    html = client.get(reverse("loans:loan_list")).content.decode()
    assert book["branch"].loan_no in html
    assert book["other"].loan_no not in html and book["outlet"].loan_no not in html


def test_pages_need_a_login(client, book):
    for url in [
        reverse("home"),
        reverse("loans:loan_list"),
        reverse("loans:loan_detail", args=[book["branch"].pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


# --- an officer sees what he answers for, wherever its branch (issue 10 §2) ------------------------


@pytest.fixture
def sibling_outlet(branch):
    from loans.models import Branch
    from tests.factories import BranchFactory

    return BranchFactory(code="O12", name="Riverside East", kind=Branch.Kind.OUTLET, parent=branch)


@pytest.fixture
def answered_case(sibling_outlet, outlet_officer, manager):
    """A non-performing loan of the sibling outlet Y whose officer is the officer of outlet X."""
    from datetime import timedelta

    from django.utils import timezone

    from collections_app.services import case_open

    today = timezone.localdate()
    loan = LoanFactory(
        branch=sibling_outlet,
        loan_no="EAST-1",
        responsible_officer=outlet_officer,
        issuing_officer=outlet_officer,
        overdue_since=today - timedelta(days=198),
        five_level_class="substandard",
        four_level_class="overdue",
    )
    from accountability.services import responsibility_assign_defaults

    case = case_open(loan=loan, actor=manager, as_of=today, reason="Borrower stopped paying")
    responsibility_assign_defaults(as_of=today, case_ids=[case.pk])
    return case


def test_officer_sees_the_loan_and_case_he_answers_for_in_a_sibling_outlet(answered_case, outlet_officer, client):
    from accountability.models import ResponsibilityShare
    from accountability.selectors import my_responsibilities, my_summary
    from collections_app.models import CollectionCase
    from collections_app.selectors import case_queue

    assert answered_case.officer_id == outlet_officer.pk
    loan = answered_case.loan
    assert loan.loan_no in visible(outlet_officer)
    assert CollectionCase.objects.visible_to(outlet_officer).filter(pk=answered_case.pk).exists()
    assert answered_case in case_queue(user=outlet_officer)
    client.force_login(outlet_officer)
    assert client.get(reverse("loans:loan_detail", args=[loan.pk])).status_code == 200
    assert client.get(reverse("collections_app:case_detail", args=[answered_case.pk])).status_code == 200
    assert loan.loan_no in client.get(reverse("loans:loan_list")).content.decode()
    assert loan.loan_no in client.get(reverse("collections_app:case_list")).content.decode()
    assert loan.loan_no in client.get(reverse("loans:loan_list"), {"q": loan.loan_no}).content.decode()
    # "My responsibilities" and the board count the same shares.
    shares = ResponsibilityShare.objects.filter(officer=outlet_officer, assignment__ended_on__isnull=True)
    assert shares.count() == 1
    assert list(my_responsibilities(user=outlet_officer)) == list(shares)
    from django.utils import timezone

    assert my_summary(user=outlet_officer, as_of=timezone.localdate()).cases == 1


def test_officer_sees_a_case_he_is_a_team_member_or_has_a_share_of(answered_case, officer, outlet_officer):
    from collections_app.models import CollectionCase

    assert not CollectionCase.objects.visible_to(officer).filter(pk=answered_case.pk).exists()
    answered_case.team_members.add(officer)
    assert CollectionCase.objects.visible_to(officer).filter(pk=answered_case.pk).exists()
    assert answered_case.loan.loan_no in visible(officer)
    answered_case.team_members.remove(officer)
    assert answered_case.loan.loan_no not in visible(officer)


def test_officer_sees_a_case_he_holds_a_share_of(answered_case, officer, outlet_officer, manager):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from accountability.services import responsibility_assign
    from collections_app.models import CollectionCase

    today = timezone.localdate()
    answered_case.team_members.add(officer)  # the division takes officers who see the case
    responsibility_assign(
        case=answered_case,
        shares=[(outlet_officer, Decimal("60")), (officer, Decimal("40"))],
        recovery_deadline=today + timedelta(days=90),
        reason="Two officers",
        actor=manager,
        as_of=today,
    )
    answered_case.team_members.remove(officer)
    assert CollectionCase.objects.visible_to(officer).filter(pk=answered_case.pk).exists()
    assert answered_case.loan.loan_no in visible(officer)


def test_officer_of_another_branch_still_sees_nothing_of_it(answered_case, outsider, client):
    from collections_app.models import CollectionCase

    assert not CollectionCase.objects.visible_to(outsider).exists()
    client.force_login(outsider)
    assert client.get(reverse("collections_app:case_detail", args=[answered_case.pk])).status_code == 404


def test_officer_scope_is_one_query(answered_case, outlet_officer, django_assert_num_queries):
    """The widened scope stays one query (indexed subqueries OR-ed), not one per loan or case."""
    with django_assert_num_queries(1):
        assert [loan.loan_no for loan in Loan.objects.visible_to(outlet_officer)] == ["EAST-1"]
