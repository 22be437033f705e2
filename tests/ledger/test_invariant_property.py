"""The ledger invariant under random sequences of book changes (imports), recoveries, court
deductions, write-offs and refinancings: for every loan, the sum of its entries (the opening balance
is one) equals its balance, per component. Runs on the test database (PostgreSQL in CI; run it on
SQLite too)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_app import services
from collections_app.models import CollectionCase
from ledger.models import LedgerEntry
from ledger.selectors import invariant_breach_rows, invariant_breaches
from ledger.services import BookChange, ledger_open_loans, ledger_post_book_changes
from loans.models import Loan
from tests.accountability.conftest import OPENED, open_npl_case
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = pytest.mark.django_db

CENTS = st.integers(min_value=1, max_value=3_000_000).map(lambda c: Decimal(c) / 100)
STEP = st.one_of(
    st.tuples(st.just("import"), st.integers(0, 2), CENTS, CENTS, CENTS),
    st.tuples(st.just("new_loan"), st.just(0), CENTS, CENTS, CENTS),
    st.tuples(st.just("recovery"), st.integers(0, 2), CENTS, st.sampled_from(["borrower", "guarantor"]), st.just(0)),
    st.tuples(st.just("deduct"), st.integers(0, 2), CENTS, st.just(0), st.just(0)),
    st.tuples(st.just("write_off"), st.integers(0, 2), st.just(0), st.just(0), st.just(0)),
    st.tuples(st.just("refinance"), st.integers(0, 2), CENTS, st.just(0), st.just(0)),
)


def _apply(step, cases, officer, manager, day, counter):
    what, i, a, b, c = step
    case = CollectionCase.objects.get(pk=cases[i % len(cases)].pk)
    if what == "import":
        loan = case.loan
        # The book reports new balances (up or down), within the principal.
        principal = min(a * 10, loan.principal)
        ledger_post_book_changes(changes=[BookChange(loan.pk, principal, b, c)], actor=None, as_of=day)
    elif what == "new_loan":
        counter[0] += 1
        LoanFactory(
            loan_no=f"HYP-NEW-{counter[0]}",
            outstanding_principal=min(a * 10, Decimal("100000")),
            interest_on_balance=b,
            interest_off_balance=c,
            ledger=False,
        )
        ledger_open_loans(actor=None, as_of=day)
    elif not case.is_open:
        return
    elif what == "recovery":
        services.recovery_record(case=case, actor=officer, received_on=day, amount=a, paid_by=b, as_of=day)
    elif what == "deduct":
        proceeding = case.proceedings.first() or services.legal_proceeding_file(
            case=case, actor=officer, court="Court", case_number=f"C{case.pk}", filed_on=OPENED
        )
        services.legal_step_record(proceeding=proceeding, actor=officer, kind="deduct", taken_on=day, amount=a)
    elif what == "write_off":
        Loan.objects.filter(pk=case.loan_id).update(five_level_class="loss")
        asked = services.case_request_create(case=case, target="written_off", actor=officer, as_of=day, reason="x")
        services.case_request_approve(request=asked, actor=manager, as_of=day)
    elif what == "refinance":
        services.refinancing_record(case=case, actor=officer, value_date=day, as_of=day, amount=a)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=8))
def test_the_balance_is_always_the_sum_of_the_entries(branch, officer, manager, steps):
    with transaction.atomic():
        cases = [
            open_npl_case(branch=branch, officer=officer, borrower=BorrowerFactory(), loan_no=f"HYP-{n}")
            for n in range(3)
        ]
        counter = [0]
        for n, step in enumerate(steps):
            day = OPENED + timedelta(days=n + 1)
            try:
                with transaction.atomic():
                    _apply(step, cases, officer, manager, day, counter)
            except ValidationError:
                pass  # refused as a whole (more than owed, out of bounds...): nothing half-written
            assert not invariant_breaches().exists()
            assert invariant_breach_rows() == []
        assert LedgerEntry.objects.filter(kind="opening_balance").count() == Loan.objects.count()
        transaction.set_rollback(True)
