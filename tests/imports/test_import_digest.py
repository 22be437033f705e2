"""Issue 15 (import): a row the book already holds as it is costs little more than reading it.

Each loan keeps the digest of the file row an import wrote it from; the next import of the same row
stages it unchanged without converting and checking it again. What can differ from that import is
still checked (the branch and officer it names, the as-of date's check and warning), and on
PostgreSQL a trigger forgets the digest when anything else changes the loan's file columns, so a
change made in the app since is never hidden.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from collections_app.models import CollectionCase
from collections_app.services import recovery_record
from ledger.models import LedgerEntry
from loans.importing.validation import LoanChecker
from loans.models import ImportRow, Loan, User
from tests.imports.conftest import AS_OF, book_state, csv_bytes, loan_row, run_import, three_loans

pytestmark = pytest.mark.django_db


@pytest.fixture
def checked_in_full(monkeypatch) -> list[int]:
    """The row numbers that go through the full row checks (LoanChecker.rules)."""
    seen: list[int] = []
    rules = LoanChecker.rules

    def spy(self, values, row_nos):
        seen.extend(row_nos)
        return rules(self, values, row_nos)

    monkeypatch.setattr(LoanChecker, "rules", spy)
    return seen


def _outcomes(batch) -> dict[str, str]:
    return dict(ImportRow.objects.filter(batch=batch, sheet="loans").values_list("key", "outcome"))


def test_the_same_file_again_is_staged_unchanged_without_checking_its_rows(
    require_postgres, bank, admin_user, checked_in_full
):
    content = csv_bytes(three_loans())
    first = run_import(content, actor=admin_user)
    assert first.created == 3 and checked_in_full == [2, 3, 4]
    assert Loan.objects.filter(import_digest__isnull=True).count() == 0
    before = book_state()

    checked_in_full.clear()
    again = run_import(content, actor=admin_user)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert checked_in_full == []  # nothing converted and checked again
    assert _outcomes(again.batch) == {"L-0001": "unchanged", "L-0002": "unchanged", "L-0003": "unchanged"}
    assert book_state()["loans"] == before["loans"]

    dry = run_import(content, actor=admin_user, dry_run=True)
    assert (dry.created, dry.updated, dry.unchanged) == (0, 0, 3)
    assert checked_in_full == []


def test_a_changed_row_and_a_new_row_are_read_in_full(require_postgres, bank, admin_user, checked_in_full):
    rows = three_loans()
    run_import(csv_bytes(rows), actor=admin_user)
    rows[1]["outstanding_principal"] = "400,000.00"
    rows.append(loan_row(loan_no="L-0004", borrower_name="Wang Fang", borrower_id_no="330101197001013456"))
    checked_in_full.clear()
    outcome = run_import(csv_bytes(rows), actor=admin_user)
    assert (outcome.created, outcome.updated, outcome.unchanged) == (1, 1, 2)
    assert sorted(checked_in_full) == [3, 5]
    assert Loan.objects.get(loan_no="L-0002").outstanding_principal == Decimal("400000.00")


def test_a_recovery_between_two_imports_of_the_same_file_is_not_hidden(
    require_postgres, bank, admin_user, officer, django_capture_on_commit_callbacks, checked_in_full
):
    """The recovery lowers the balance in the app; the same file imported again says the book has
    the old balance: the row is read in full, the loan is set back to the file's figures (a
    correction from the book in the ledger), as without digests."""
    content = csv_bytes(three_loans())
    with django_capture_on_commit_callbacks(execute=True):
        run_import(content, actor=admin_user)
    case = CollectionCase.objects.get(loan__loan_no="L-0002")
    recovery_record(case=case, actor=officer, received_on=AS_OF, amount=Decimal("50000.00"), as_of=AS_OF)
    loan = Loan.objects.get(loan_no="L-0002")
    assert loan.outstanding_principal + loan.interest_on_balance + loan.interest_off_balance < Decimal("451500.50")
    assert loan.import_digest is None  # the trigger forgot it

    checked_in_full.clear()
    outcome = run_import(content, actor=admin_user)
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 2)
    assert checked_in_full == [3]
    assert _outcomes(outcome.batch)["L-0002"] == "updated"
    loan.refresh_from_db()
    assert (loan.outstanding_principal, loan.interest_on_balance, loan.interest_off_balance) == (
        Decimal("450000.50"),
        Decimal("1000.00"),
        Decimal("500.00"),
    )
    assert loan.import_digest is not None
    assert LedgerEntry.objects.filter(loan=loan, kind="book_correction", import_batch=outcome.batch).exists()

    # Written back from the file, the row is skipped the time after.
    checked_in_full.clear()
    assert run_import(content, actor=admin_user).unchanged == 3
    assert checked_in_full == []


def test_an_officer_changed_in_the_app_is_not_hidden(require_postgres, bank, admin_user, officer, checked_in_full):
    content = csv_bytes(three_loans())
    run_import(content, actor=admin_user)
    Loan.objects.filter(loan_no="L-0001").update(responsible_officer=User.objects.get(username="outlet_officer"))
    assert Loan.objects.get(loan_no="L-0001").import_digest is None
    # A write that leaves the file's columns alone keeps the digest.
    Loan.objects.filter(loan_no="L-0002").update(five_level_class="loss")
    assert Loan.objects.get(loan_no="L-0002").import_digest is not None

    checked_in_full.clear()
    outcome = run_import(content, actor=admin_user)
    assert checked_in_full == [2]
    assert _outcomes(outcome.batch)["L-0001"] == "updated"
    assert Loan.objects.get(loan_no="L-0001").responsible_officer == officer


def test_what_may_differ_from_the_last_import_is_still_checked(require_postgres, bank, admin_user, checked_in_full):
    content = csv_bytes(three_loans())
    run_import(content, actor=admin_user)

    # The officer left since: the row is refused as it would be read in full.
    User.objects.filter(username="outlet_officer").update(is_active=False)
    refused = run_import(content, actor=admin_user)
    assert not refused.ok
    assert refused.errors == ["row 4, column officer_username: user “outlet_officer” is no longer active"]
    User.objects.filter(username="outlet_officer").update(is_active=True)

    # An as-of date before the overdue date the book holds (2026-06-01).
    early = run_import(content, actor=admin_user, as_of=date(2026, 5, 1))
    assert early.errors == ["row 4, column overdue_since: 2026-06-01 is later than the as-of date 2026-05-01"]


def test_a_skipped_row_keeps_its_past_maturity_warning(require_postgres, bank, admin_user, checked_in_full):
    matured = loan_row(
        loan_no="L-0009",
        principal="1,000,000.00",
        outstanding_principal="800000.00",
        disbursed_on="2023-01-15",
        maturity_on="2026-01-15",
        overdue_since="",
    )
    content = csv_bytes([loan_row(), matured])
    first = run_import(content, actor=admin_user)
    again = run_import(content, actor=admin_user)
    assert again.unchanged == 2
    assert (
        again.batch.warnings
        == first.batch.warnings
        == [
            "row 3, column overdue_since: is empty, but the loan matured on 2026-01-15 and “800000.00” is still "
            "outstanding: it is classified as overdue from 2026-01-16"
        ]
    )


def test_the_same_values_in_other_columns_are_skipped_and_other_columns_read_in_full(
    require_postgres, bank, admin_user, checked_in_full
):
    rows = three_loans()
    run_import(csv_bytes(rows), actor=admin_user)
    # The digest is of each field's cell, whatever the column's place.
    checked_in_full.clear()
    assert run_import(csv_bytes(rows, header=list(reversed(list(rows[0])))), actor=admin_user).unchanged == 3
    assert checked_in_full == []
    # Without the product column the loans keep their product: another set of columns is read in full.
    header = [h for h in rows[0] if h != "product"]
    outcome = run_import(csv_bytes(rows, header=header), actor=admin_user)
    assert outcome.unchanged == 3 and checked_in_full == [2, 3, 4]
    checked_in_full.clear()
    assert run_import(csv_bytes(rows, header=header), actor=admin_user).unchanged == 3
    assert checked_in_full == []
