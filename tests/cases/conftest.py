"""Fixtures for the collection case stories: a non-performing loan in Riverside and its case."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from collections_app.models import CollectionCase
from collections_app.services import case_open
from loans.models import Borrower
from tests.factories import BorrowerFactory, LoanFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    # Every persona gets a password; the default hasher makes that the slowest part of these tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def make_npl(branch, officer, today):
    """A loan more than 90 days past due, classified substandard (or as asked)."""

    def make(**kwargs):
        kwargs.setdefault("branch", branch)
        kwargs.setdefault("responsible_officer", officer)
        kwargs.setdefault("issuing_officer", kwargs["responsible_officer"])
        kwargs.setdefault("overdue_since", today - timedelta(days=200))
        kwargs.setdefault("five_level_class", "substandard")
        kwargs.setdefault("four_level_class", "overdue")
        return LoanFactory(**kwargs)

    return make


@pytest.fixture
def npl_loan(make_npl):
    return make_npl(
        loan_no="RIV-NPL-1",
        borrower=BorrowerFactory(name="Wang Wei", kind=Borrower.Kind.INDIVIDUAL),
        outstanding_principal=Decimal("80000.00"),
        interest_on_balance=Decimal("1000.00"),
        interest_off_balance=Decimal("500.00"),
    )


@pytest.fixture
def case(npl_loan, officer, today) -> CollectionCase:
    return case_open(loan=npl_loan, actor=officer, as_of=today, reason="Borrower stopped paying")
