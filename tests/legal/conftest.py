"""Fixtures of the legal stories: a Riverside NPL with its case, filed in court."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from collections_app.models import CollectionCase, LegalProceeding
from collections_app.services import case_open, legal_proceeding_file
from loans.models import Borrower
from tests.factories import BorrowerFactory, LoanFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def npl_loan(branch, officer, today):
    return LoanFactory(
        loan_no="RIV-LEGAL-1",
        branch=branch,
        responsible_officer=officer,
        issuing_officer=officer,
        borrower=BorrowerFactory(name="Zhao Lei", kind=Borrower.Kind.INDIVIDUAL),
        overdue_since=today - timedelta(days=400),
        maturity_on=today - timedelta(days=400),
        five_level_class="doubtful",
        four_level_class="overdue",
        outstanding_principal=Decimal("80000.00"),
        interest_on_balance=Decimal("1000.00"),
        interest_off_balance=Decimal("500.00"),
    )


@pytest.fixture
def case(npl_loan, officer, today) -> CollectionCase:
    return case_open(loan=npl_loan, actor=officer, as_of=today, reason="Borrower stopped paying")


@pytest.fixture
def filed_on(today) -> date:
    return today - timedelta(days=100)


@pytest.fixture
def proceeding(case, officer, filed_on) -> LegalProceeding:
    return legal_proceeding_file(
        case=case,
        actor=officer,
        court="Riverside District People's Court",
        case_number="(2026) Riv 0102 Min Chu 88",
        filed_on=filed_on,
        cause="Loan contract dispute",
        claim_principal=Decimal("80000"),
        claim_interest=Decimal("1500"),
        lawyer="Heng Tai Law Firm",
    )
