"""Fixtures of the accountability stories: a Riverside NPL with its case and its division."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accountability.models import ResponsibilityAssignment
from accountability.services import responsibility_assign, responsibility_assign_defaults
from collections_app.models import CollectionCase
from collections_app.services import cases_open_for_non_performing
from loans.services import loans_reclassify
from tests.factories import BorrowerFactory, LoanFactory

# The business date the stories start on (a case opened on it gets the 180-day default time limit).
OPENED = date(2026, 1, 5)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_celery():
    """Run tasks queued with .delay() in-process (for side effects queued on commit)."""
    from npl_recovery.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


def open_npl_case(
    *, branch, officer, opened_on: date = OPENED, dpd: int = 120, loan_no: str | None = None, **loan_fields
) -> CollectionCase:
    """A loan `dpd` days past due on `opened_on`, classified, its case opened and first division given."""
    kwargs = {
        "branch": branch,
        "responsible_officer": officer,
        "issuing_officer": officer,
        "overdue_since": opened_on - timedelta(days=dpd),
        "outstanding_principal": Decimal("80000.00"),
        "interest_on_balance": Decimal("1000.00"),
        "interest_off_balance": Decimal("500.00"),
        **loan_fields,
    }
    if loan_no:
        kwargs["loan_no"] = loan_no
    loan = LoanFactory(**kwargs)
    loans_reclassify(as_of=opened_on, loan_ids=[loan.pk])
    cases_open_for_non_performing(as_of=opened_on, loan_ids=[loan.pk])
    case = CollectionCase.objects.get(loan=loan, is_open=True)
    responsibility_assign_defaults(as_of=opened_on, case_ids=[case.pk])
    return case


def divide(
    case, manager, shares, deadline: date, as_of: date = OPENED, reason="New division"
) -> ResponsibilityAssignment:
    return responsibility_assign(
        case=case, shares=shares, recovery_deadline=deadline, reason=reason, actor=manager, as_of=as_of
    )


@pytest.fixture
def npl_case(branch, officer):
    return open_npl_case(branch=branch, officer=officer, loan_no="RIV-NPL-1", borrower=BorrowerFactory(name="Wang Wei"))


__all__ = ["OPENED", "divide", "open_npl_case"]
