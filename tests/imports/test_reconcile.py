"""Issue 11, item 2: a re-import that lowers a balance is a ledger entry "reported by the book" that
the loan's officer classifies; a new loan to a related borrower near the fall is "loans by loans"
and counts as no recovery until a manager clears the flag. Item 9: "first pay off, then increase"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from accountability.models import LoansByLoansFlag
from accountability.services import loans_by_loans_review
from collections_app.models import CollectionCase, Recovery
from ledger.models import LedgerEntry
from ledger.selectors import invariant_breaches
from loans.models import ImportBatch, Loan
from reconciliation.models import ReportedFall
from reconciliation.services import reported_fall_classify
from tests.imports.conftest import AS_OF, GUARANTEE_HEADER, book_state, csv_bytes, loan_row, run_import, three_loans

pytestmark = pytest.mark.django_db

NPL = "L-0002"  # Li Na's loss loan (450,000.50, overdue since 2025-01-20)
LATER = AS_OF + timedelta(days=31)


def _refinancing_book(**changes) -> list[dict]:
    """The next month's book: Li Na's NPL lowered to zero, and a new 1.4M loan to her."""
    rows = three_loans()
    rows[1].update({"outstanding_principal": "0", "interest_on_balance": "0", "interest_off_balance": "0", **changes})
    rows.append(
        loan_row(
            loan_no="L-0009",
            borrower_name="Li Na",
            borrower_id_no="220101198505052345",
            principal="1400000",
            outstanding_principal="1400000",
            interest_on_balance="0",
            interest_off_balance="0",
            disbursed_on=(LATER - timedelta(days=3)).isoformat(),
            maturity_on="2029-07-01",
        )
    )
    return rows


@pytest.fixture
def imported(bank, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the collection app opens the NPLs' cases
        run_import(csv_bytes(three_loans()), actor=admin_user)
    return CollectionCase.objects.get(loan__loan_no=NPL)


def _cash_recovered() -> Decimal:
    return LedgerEntry.objects.filter(counts_as_recovery=True, form="cash").aggregate(s=Sum("amount"))["s"] or Decimal(
        "0.00"
    )


def test_a_new_book_opens_each_loans_ledger_and_the_invariant_holds(imported):
    assert LedgerEntry.objects.filter(kind="opening_balance").count() == 3
    assert not invariant_breaches().exists()


def test_npl_lowered_to_zero_while_a_new_loan_goes_to_the_same_borrower_is_loans_by_loans(imported, admin_user):
    """The issue's DEMO00350: no ledger row, no flag, recovered with 0.00 cash. Now: all three."""
    outcome = run_import(csv_bytes(_refinancing_book()), actor=admin_user, as_of=LATER)
    assert outcome.ok, outcome.errors
    loan = Loan.objects.get(loan_no=NPL)
    fall = LedgerEntry.objects.get(loan=loan, kind="book_reported")
    assert (fall.principal, fall.interest_on_balance, fall.interest_off_balance) == (
        Decimal("-450000.50"),
        Decimal("-1000.00"),
        Decimal("-500.00"),
    )
    assert fall.value_date == LATER and fall.import_batch == outcome.batch and fall.case == imported
    assert not fall.counts_as_recovery
    flag = LoansByLoansFlag.objects.get(overdue_loan=loan)
    assert (flag.kind, flag.relation, flag.new_loan.loan_no) == ("loans_by_loans", "same_borrower", "L-0009")
    assert flag.ledger_entry == fall and flag.repaid_amount == Decimal("451500.50") and flag.status == "open"
    assert flag.import_batch == outcome.batch and flag.row_no == 3
    # The import report says so, with the row.
    assert any("row 3" in w and "loans by loans" in w for w in outcome.batch.warnings), outcome.batch.warnings
    # No recovery counted, and the officer's "To classify" list has it.
    assert _cash_recovered() == Decimal("0.00") and not Recovery.objects.exists()
    reported = ReportedFall.objects.get(entry=fall)
    assert reported.status == "to_classify" and reported.officer == imported.officer
    assert reported.amount == Decimal("451500.50")
    assert not invariant_breaches().exists()


def test_a_flagged_fall_cannot_count_as_cash_until_a_manager_clears_the_flag(imported, admin_user, officer, manager):
    run_import(csv_bytes(_refinancing_book()), actor=admin_user, as_of=LATER)
    reported = ReportedFall.objects.get()
    with pytest.raises(ValidationError) as refused:
        reported_fall_classify(fall=reported, outcome="cash_repayment", value_date=LATER, actor=officer, as_of=LATER)
    assert "outcome" in refused.value.message_dict
    assert _cash_recovered() == Decimal("0.00")
    flag = LoansByLoansFlag.objects.get()
    loans_by_loans_review(flag=flag, status="cleared", note="Paid from the sale of a flat", actor=manager)
    reported_fall_classify(fall=reported, outcome="cash_repayment", value_date=LATER, actor=officer, as_of=LATER)
    assert _cash_recovered() == Decimal("451500.50")
    assert Recovery.objects.get().amount == Decimal("451500.50")
    assert Loan.objects.get(loan_no=NPL).outstanding_principal == Decimal("0.00")
    assert not invariant_breaches().exists()
    imported.refresh_from_db()
    assert imported.measure == "recovered"  # nothing owed, and money paid it


def test_a_balance_that_rises_on_an_npl_is_a_correction_from_the_book(imported, admin_user):
    rows = three_loans()
    rows[1]["interest_off_balance"] = "9500"
    run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    rise = LedgerEntry.objects.get(kind="book_correction")
    assert rise.interest_off_balance == Decimal("9000.00") and rise.principal == Decimal("0.00")
    assert not ReportedFall.objects.exists() and not invariant_breaches().exists()


def test_only_interest_fell_is_interest_by_loans(imported, admin_user):
    rows = _refinancing_book(outstanding_principal="450,000.50")
    run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    assert LoansByLoansFlag.objects.get().kind == "interest_by_loans"


def test_a_guarantor_who_is_a_borrower_gets_the_new_loan(imported, admin_user):
    # Zhang Wei (L-0001's borrower) guarantees Li Na's NPL; the new loan goes to him.
    guarantees = csv_bytes([[NPL, "Zhang Wei", "110101199001011234", "", "1000", ""]], GUARANTEE_HEADER)
    rows = _refinancing_book()
    rows[3].update(borrower_name="Zhang Wei", borrower_id_no="110101199001011234")
    run_import(csv_bytes(rows), actor=admin_user, as_of=LATER, guarantees=guarantees)
    flag = LoansByLoansFlag.objects.get(kind="loans_by_loans")
    assert flag.relation == "guarantor" and flag.new_loan.loan_no == "L-0009"


def test_a_fall_with_no_new_loan_is_only_to_classify(imported, admin_user, officer):
    rows = three_loans()
    rows[1]["outstanding_principal"] = "400000"
    run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    assert not LoansByLoansFlag.objects.exists()
    reported = ReportedFall.objects.get()
    reported_fall_classify(fall=reported, outcome="refinancing", actor=officer, as_of=LATER)
    assert LedgerEntry.objects.filter(kind="refinancing", principal=Decimal("-50000.50")).exists()
    assert _cash_recovered() == Decimal("0.00") and not invariant_breaches().exists()


def test_a_new_loan_to_a_borrower_with_an_npl_is_first_pay_off_then_increase(imported, admin_user):
    rows = three_loans()
    rows.append(
        loan_row(
            loan_no="L-0010",
            borrower_name="Li Na",
            borrower_id_no="220101198505052345",
            principal="200000",
            outstanding_principal="200000",
            disbursed_on=(LATER - timedelta(days=1)).isoformat(),
        )
    )
    outcome = run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    assert outcome.ok and Loan.objects.filter(loan_no="L-0010").exists()  # still created
    flag = LoansByLoansFlag.objects.get(kind="first_pay_off")
    assert (flag.relation, flag.overdue_loan.loan_no, flag.row_no) == ("same_borrower", NPL, 5)
    assert any(w.startswith("row 5") and "first pay off" in w for w in outcome.batch.warnings), outcome.batch.warnings


def test_a_failed_import_writes_no_ledger_entry_and_no_flag(imported, admin_user):
    rows = _refinancing_book()
    rows.append(loan_row(loan_no="L-0011", principal="not money"))
    before = book_state(), LedgerEntry.objects.count(), LoansByLoansFlag.objects.count()
    outcome = run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    assert outcome.batch.status == ImportBatch.Status.REJECTED
    assert (book_state(), LedgerEntry.objects.count(), LoansByLoansFlag.objects.count()) == before
    assert not ReportedFall.objects.exists()


def test_first_import_of_a_whole_book_flags_only_recent_loans(bank, admin_user):
    rows = three_loans()
    rows.append(
        loan_row(
            loan_no="L-0012", borrower_name="Li Na", borrower_id_no="220101198505052345", disbursed_on="2024-03-01"
        )
    )
    run_import(csv_bytes(rows), actor=admin_user)
    assert not LoansByLoansFlag.objects.exists()


def test_the_daily_check_reads_falls_in_the_ledger_not_only_recoveries(imported, admin_user, branch, manager):
    """Before: the loans-by-loans check read recorded recoveries only; a fall reported by the book
    followed by a new loan (a later import, or a loan created another way) went unseen."""
    from accountability.daily_checks import check_run
    from tests.factories import LoanFactory

    rows = three_loans()
    rows[1]["outstanding_principal"] = "0"
    run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    assert not LoansByLoansFlag.objects.exists()  # no new loan yet
    npl = Loan.objects.get(loan_no=NPL)
    LoanFactory(
        branch=branch, borrower=npl.borrower, principal=Decimal("1400000"), outstanding_principal=Decimal("1400000"),
        disbursed_on=LATER + timedelta(days=5), maturity_on=date(2029, 1, 1),
    )  # fmt: skip
    counts = check_run(name="loans_by_loans", as_of=LATER + timedelta(days=5)).counts
    assert counts["ledger_flags"] == 1 and counts["managers_told"] >= 1
    flag = LoansByLoansFlag.objects.get()
    assert flag.ledger_entry.kind == "book_reported" and flag.overdue_loan == npl and flag.import_batch is None
    # Idempotent: the next day's run finds the same pair and writes nothing.
    assert check_run(name="loans_by_loans", as_of=LATER + timedelta(days=6)).counts["ledger_flags"] == 0


def _new_loan_to_wang_fang() -> list[dict]:
    return [
        *three_loans(),
        loan_row(
            loan_no="L-0020",
            borrower_name="Wang Fang",
            borrower_id_no="330101199202023456",
            principal="300000",
            outstanding_principal="300000",
            disbursed_on=(LATER - timedelta(days=2)).isoformat(),
        ),
    ]


def test_a_new_loan_to_the_group_of_an_npl_borrower_is_flagged(imported, admin_user):
    from loans.models import Borrower
    from tests.factories import BorrowerFactory

    Borrower.objects.filter(id_no="220101198505052345").update(group_code="G-LI")
    BorrowerFactory(name="Wang Fang", id_no="330101199202023456", group_code="G-LI")
    outcome = run_import(csv_bytes(_new_loan_to_wang_fang()), actor=admin_user, as_of=LATER)
    flag = LoansByLoansFlag.objects.get(kind="first_pay_off")
    assert (flag.relation, flag.overdue_loan.loan_no) == ("same_group", NPL)
    assert any("goes to a group whose loan L-0002 is non-performing" in w for w in outcome.batch.warnings)


def test_a_new_loan_by_an_officer_with_missed_time_limits_is_flagged(imported, admin_user, branch, officer):
    from tests.accountability.conftest import open_npl_case

    open_npl_case(branch=branch, officer=officer, opened_on=LATER - timedelta(days=400), loan_no="OLD-1")
    outcome = run_import(csv_bytes(_new_loan_to_wang_fang()), actor=admin_user, as_of=LATER)
    flag = LoansByLoansFlag.objects.get(kind="first_pay_off")
    assert (flag.relation, flag.overdue_loan, flag.lending_officer) == ("officer_missed", None, officer)
    assert any("lent by an officer with missed time limits" in w for w in outcome.batch.warnings)


def test_a_new_loan_of_a_branch_with_missed_time_limits_is_flagged(imported, admin_user, branch, officer2):
    from tests.accountability.conftest import open_npl_case

    open_npl_case(branch=branch, officer=officer2, opened_on=LATER - timedelta(days=400), loan_no="OLD-2")
    run_import(csv_bytes(_new_loan_to_wang_fang()), actor=admin_user, as_of=LATER)
    assert LoansByLoansFlag.objects.get(kind="first_pay_off").relation == "branch_missed"


def test_a_new_loan_with_no_reason_is_not_flagged(imported, admin_user):
    outcome = run_import(csv_bytes(_new_loan_to_wang_fang()), actor=admin_user, as_of=LATER)
    assert outcome.ok and not LoansByLoansFlag.objects.exists() and outcome.batch.warnings == []


def test_the_branch_managers_are_told_of_an_imports_flags(
    imported, admin_user, manager, django_capture_on_commit_callbacks
):
    from notifications.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        run_import(csv_bytes(_refinancing_book()), actor=admin_user, as_of=LATER)
    note = Notification.objects.get(recipient=manager, kind="loans_by_loans.flag")
    assert note.title.startswith("1 new loan(s) of an import flagged") and "prevention" in note.url


def test_a_new_loan_is_compared_only_with_the_earlier_falls_of_related_loans(imported, admin_user, monkeypatch):
    """An import that creates loans gathers the window's earlier falls to compare with them: only the
    falls of loans related to the new loans' borrowers (before: every fall of the window, which grows
    with every import of the book)."""
    from accountability import prevention

    rows = three_loans()
    rows[1]["outstanding_principal"] = "400000"  # Li Na's NPL falls
    rows[2]["outstanding_principal"] = "40000"  # so does Riverside Textiles' overdue loan
    run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    assert LedgerEntry.objects.filter(kind="book_reported").count() == 2
    assert not LoansByLoansFlag.objects.exists()

    gathered: dict[str, int] = {}
    real = prevention._temporary

    def spy(table, select, params):
        real(table, select, params)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            gathered[table] = cursor.fetchone()[0]

    monkeypatch.setattr(prevention, "_temporary", spy)
    rows.append(_refinancing_book()[3])  # the next day, a new loan to Li Na
    outcome = run_import(csv_bytes(rows), actor=admin_user, as_of=LATER + timedelta(days=1))
    assert outcome.ok and outcome.created == 1, outcome.errors
    flag = LoansByLoansFlag.objects.get(kind="loans_by_loans")
    assert (flag.overdue_loan.loan_no, flag.new_loan.loan_no, flag.relation) == (NPL, "L-0009", "same_borrower")
    assert gathered["npl_prevention_recent"] == 1  # Li Na's fall, not Riverside Textiles'
