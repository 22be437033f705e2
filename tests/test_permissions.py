"""Who may: every role check is loans/permissions.py, and the menu, the pages and the templates agree."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser

from accountability.services import record_propose
from loans import permissions
from loans.models import Role
from loans.permissions import role_allows
from npl_recovery.navigation import items_for
from tests.factories import LoanFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent

# Every role permission and who holds it (a superuser holds what an administrator holds).
MATRIX = {
    "loans.classify_loan": {"manager", "admin"},
    "loans.import_loans": {"admin"},
    "loans.view_import_batches": {"admin", "auditor"},
    "loans.export_loans": {"manager", "admin", "auditor"},
    "loans.correct_book": {"admin"},
    "loans.manage_staff": {"admin"},
    "collections_app.open_case": {"officer", "manager"},
    "collections_app.decide_requests": {"manager"},
    "accountability.view_board": {"manager", "admin", "auditor"},
    "accountability.carry_responsibility": {"officer", "manager"},
    "accountability.divide_responsibility": {"manager"},
    "accountability.propose_record": {"manager"},
    "accountability.review_flag": {"manager"},
}


@pytest.fixture
def personas(branch):
    return {role.value: UserFactory(username=f"p_{role.value}", role=role, branch=branch) for role in Role}


def test_each_role_holds_exactly_its_permissions(personas):
    for perm, holders in MATRIX.items():
        for role, user in personas.items():
            assert role_allows(user, perm) is (role in holders), (perm, role)


def test_nobody_logged_out_or_inactive_holds_a_permission(personas):
    personas["manager"].is_active = False
    for perm in MATRIX:
        assert not role_allows(AnonymousUser(), perm)
        assert not role_allows(personas["manager"], perm)


def test_a_superuser_holds_what_an_administrator_holds(branch):
    superuser = UserFactory(username="root", role=Role.OFFICER, branch=branch, is_superuser=True)
    admin_only = {perm for perm, holders in MATRIX.items() if "admin" in holders}
    assert {perm for perm in MATRIX if role_allows(superuser, perm)} >= admin_only


def test_the_user_role_properties_are_the_predicates(personas):
    for role, user in personas.items():
        assert (user.is_officer, user.is_manager, user.is_bank_admin, user.is_auditor) == (
            permissions.is_officer(user),
            permissions.is_manager(user),
            permissions.is_bank_admin(user),
            permissions.is_auditor(user),
        )
        assert [user.is_officer, user.is_manager, user.is_bank_admin, user.is_auditor].count(True) == 1, role


def test_no_template_compares_roles_itself():
    """Templates ask `user|can:"..."` (loans/templatetags/permissions.py), never the role string."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if re.search(r"user\.role\b|\.is_superuser\b", path.read_text())
    ]
    assert offenders == []


def _board_everywhere(client, user, record) -> tuple[bool, bool, bool]:
    """(menu entry, board page, Board link on a record) for one user."""
    in_menu = "Accountability" in [e["label"] for e in items_for(user, "/")]
    client.force_login(user)
    page = client.get("/accountability/board/").status_code
    assert page in (200, 403)
    link = 'href="/accountability/board/">Board</a>' in client.get(record.get_absolute_url()).content.decode()
    return in_menu, page == 200, link


def test_menu_page_and_record_link_agree_on_who_sees_the_board(client, branch, personas, head_office):
    record = record_propose(
        officer=personas["officer"],
        record_type="wage_stop",
        reason="Three months without contact",
        actor=personas["manager"],
        as_of=date(2026, 3, 2),
    )
    # A superuser without a bank role: the record page had its own list of roles and hid the Board
    # link that the menu and the board page give them.
    root = UserFactory(username="root", role="", branch=head_office, is_superuser=True)
    for user in [*personas.values(), root]:
        expected = role_allows(user, "accountability.view_board")
        if user.role == Role.OFFICER and not user.is_superuser:
            continue  # an officer sees records about themselves only; the menu and page say no
        assert _board_everywhere(client, user, record) == (expected, expected, expected), user.username


def test_the_open_case_button_is_for_officers_and_managers_only(client, branch, head_office):
    loan = LoanFactory(branch=branch, five_level_class="substandard")
    # A role that is no role: the template's substring test ("" in "officer manager") offered it.
    nobody = UserFactory(username="nobody", role="", branch=head_office, is_superuser=True)
    shown = {}
    for user in [
        UserFactory(username="o", role=Role.OFFICER, branch=branch),
        UserFactory(username="m", role=Role.MANAGER, branch=branch),
        UserFactory(username="a", role=Role.AUDITOR, branch=head_office),
        nobody,
    ]:
        client.force_login(user)
        shown[user.username] = "Open the case" in client.get(loan.get_absolute_url()).content.decode()
    assert shown == {"o": True, "m": True, "a": False, "nobody": False}
