"""The ledger's posting API: one entry per change, the loan follows, the sums explain the balance."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.utils import DatabaseError

from ledger.models import LedgerEntry
from ledger.selectors import invariant_breaches
from ledger.services import BookChange, ledger_open_loans, ledger_post, ledger_post_book_changes
from loans.models import Loan
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 30)


def test_factory_loan_has_its_opening_balance_and_no_breach():
    loan = LoanFactory()
    entry = LedgerEntry.objects.get(loan=loan)
    assert entry.kind == LedgerEntry.Kind.OPENING_BALANCE
    assert (entry.principal, entry.interest_on_balance, entry.interest_off_balance) == (
        Decimal("80000.00"),
        Decimal("1000.00"),
        Decimal("500.00"),
    )
    assert not invariant_breaches().exists()


def test_post_changes_the_loan_and_keeps_the_invariant():
    loan = LoanFactory()
    entry = ledger_post(
        loan=loan,
        kind=LedgerEntry.Kind.CASH_RECOVERY,
        principal=Decimal("-100"),
        interest_on=Decimal("-1000"),
        interest_off=Decimal("0"),
        value_date=date(2026, 6, 29),
        actor=None,
        as_of=AS_OF,
        source="receipt 1",
    )
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("79900.00")
    assert loan.interest_on_balance == Decimal("0.00")
    assert entry.amount == Decimal("1100.00") and entry.counts_as_recovery and entry.form == "cash"
    assert entry.approval == LedgerEntry.Approval.NOT_NEEDED
    assert not invariant_breaches().exists()


def test_a_balance_changed_behind_the_ledger_is_a_breach():
    loan = LoanFactory()
    Loan.objects.filter(pk=loan.pk).update(interest_off_balance=Decimal("1.00"))
    breach = invariant_breaches().get()
    assert breach.pk == loan.pk and breach.ledger_interest_off == Decimal("500.00")


@pytest.mark.parametrize("value_date", [date(1, 1, 1), date(2022, 1, 9)])
def test_value_date_before_disbursal_is_refused(value_date):
    loan = LoanFactory()
    with pytest.raises(ValidationError) as exc:
        ledger_post(
            loan=loan,
            kind=LedgerEntry.Kind.CASH_RECOVERY,
            principal=Decimal("-1"),
            interest_on=0,
            interest_off=0,
            value_date=value_date,
            actor=None,
            as_of=AS_OF,
        )
    assert "value_date" in exc.value.message_dict
    assert LedgerEntry.objects.filter(loan=loan).count() == 1


def test_more_than_owed_is_refused_naming_the_component():
    loan = LoanFactory()
    with pytest.raises(ValidationError) as exc:
        ledger_post(
            loan=loan,
            kind=LedgerEntry.Kind.WRITE_OFF,
            principal=0,
            interest_on=Decimal("-1000.01"),
            interest_off=0,
            value_date=AS_OF,
            actor=None,
            as_of=AS_OF,
        )
    assert "interest_on" in exc.value.message_dict


def test_backdated_recovery_awaits_approval():
    loan = LoanFactory()
    entry = ledger_post(
        loan=loan,
        kind=LedgerEntry.Kind.GUARANTOR_PAYMENT,
        principal=Decimal("-10"),
        interest_on=0,
        interest_off=0,
        value_date=date(2026, 6, 22),
        actor=None,
        as_of=AS_OF,
    )
    assert entry.approval == LedgerEntry.Approval.AWAITING
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("79990.00")


def test_book_changes_set_based():
    loans = [LoanFactory() for _ in range(3)]
    entries = ledger_post_book_changes(
        changes=[
            BookChange(loans[0].pk, Decimal("70000"), Decimal("1000"), Decimal("500")),
            BookChange(loans[1].pk, Decimal("80000"), Decimal("1000"), Decimal("500")),
            BookChange(loans[2].pk, Decimal("80000"), Decimal("1200"), Decimal("500")),
        ],
        actor=None,
        as_of=AS_OF,
        source="batch 7",
    )
    assert [(e.loan_id, e.kind) for e in entries] == [
        (loans[0].pk, LedgerEntry.Kind.BOOK_REPORTED),
        (loans[2].pk, LedgerEntry.Kind.BOOK_CORRECTION),
    ]
    assert all(e.pk for e in entries)
    assert Loan.objects.get(pk=loans[0].pk).outstanding_principal == Decimal("70000.00")
    assert not invariant_breaches().exists()


def test_open_loans_set_based_skips_loans_with_entries():
    opened = LoanFactory()
    bare = LoanFactory(ledger=False)
    assert invariant_breaches().get().pk == bare.pk
    assert ledger_open_loans(actor=None, as_of=AS_OF) == 1
    assert LedgerEntry.objects.filter(loan=opened).count() == 1
    assert not invariant_breaches().exists()


def test_entries_are_append_only():
    entry = LedgerEntry.objects.get(loan=LoanFactory())
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_trigger_refuses_update_and_delete_behind_the_model():
    loan = LoanFactory()
    with pytest.raises(DatabaseError):
        LedgerEntry.objects.filter(loan=loan).update(principal=Decimal("1"))
