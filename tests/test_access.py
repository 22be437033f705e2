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
