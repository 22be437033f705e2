"""Issue 12 item 5: the amount lost with released guarantees shows on the dashboard, per scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from legal.models import GuaranteeRelease
from legal.selectors import guarantee_amount_lost
from tests.factories import GuaranteeFactory, LoanFactory

pytestmark = pytest.mark.django_db


def _released(branch, officer, amount: str, loan_no: str) -> None:
    loan = LoanFactory(loan_no=loan_no, branch=branch, responsible_officer=officer, issuing_officer=officer)
    guarantee = GuaranteeFactory(loan=loan, amount=Decimal(amount))
    GuaranteeRelease.objects.create(
        guarantee=guarantee,
        loan=loan,
        branch=branch,
        period_ended_on=date(2026, 3, 31),
        released_on=date(2026, 4, 1),
        amount_lost=Decimal(amount),
    )


@pytest.fixture
def book(branch, outlet, other_branch, officer, outlet_officer, outsider) -> None:
    # Hand-computed: branch 30,000.00; its outlet 20,000.00; another branch 70,000.00.
    _released(branch, officer, "30000.00", "GAP-1")
    _released(outlet, outlet_officer, "20000.00", "GAP-2")
    _released(other_branch, outsider, "70000.00", "GAP-3")


@pytest.mark.parametrize(
    ("who", "released", "lost"),
    [
        ("head_manager", 3, "120000.00"),  # head office sees every branch
        ("manager", 2, "50000.00"),  # a branch manager: the branch and its outlet
        ("officer", 1, "30000.00"),  # an officer: the own branch only
        ("outsider", 1, "70000.00"),  # the other branch's officer: only its own
    ],
)
def test_the_amount_lost_is_scoped(request, book, client, who, released, lost):
    user = request.getfixturevalue(who)
    assert guarantee_amount_lost(user=user) == {"released": released, "amount_lost": Decimal(lost)}
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["panel_figures"]["headline"]["guarantees_lost"] == {
        "released": released,
        "amount_lost": Decimal(lost),
    }
    html = response.content.decode()
    card = html[html.index('id="guarantees-lost"') :][:600]
    assert f"{int(Decimal(lost)):,}" in card and f"{released} guarantee" in card


def test_the_amount_lost_follows_the_dashboards_filters(book, client, manager, outlet, outlet_officer):
    """Drilled down to the outlet, the manager's card counts the outlet's release alone (it counted
    his whole scope, 50,000.00, whatever the subtree, officer or product shown)."""
    client.force_login(manager)
    for params, released, lost in (
        ({"branch": outlet.pk}, 1, "20000.00"),
        ({"officer": outlet_officer.pk}, 1, "20000.00"),
        ({"product": "no such product"}, 0, "0.00"),
        ({}, 2, "50000.00"),
    ):
        response = client.get(reverse("dashboard"), params)
        assert response.status_code == 200
        assert response.context["panel_figures"]["headline"]["guarantees_lost"] == {
            "released": released,
            "amount_lost": Decimal(lost),
        }, params


def test_the_dashboard_shows_zero_without_releases(client, manager):
    client.force_login(manager)
    response = client.get(reverse("dashboard"))
    assert response.context["panel_figures"]["headline"]["guarantees_lost"] == {
        "released": 0,
        "amount_lost": Decimal("0.00"),
    }
    assert 'id="guarantees-lost"' in response.content.decode()


def test_the_loan_page_shows_each_guarantees_kind(client, branch, officer):
    loan = LoanFactory(loan_no="GAP-KIND", branch=branch, responsible_officer=officer, issuing_officer=officer)
    GuaranteeFactory(loan=loan, amount=Decimal("1000"), liability="general")
    client.force_login(officer)
    html = client.get(reverse("loans:loan_detail", args=[loan.pk])).content.decode()
    assert "General guarantee" in html and "Joint liability" not in html
