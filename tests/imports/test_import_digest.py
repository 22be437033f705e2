"""Issue 15 (import): a row the book already holds as it is costs little more than reading it.

Each loan keeps the digest of the file row an import wrote it from; the next import of the same row
stages it unchanged without converting and checking it again. What can differ from that import is
still checked (the branch and officer it names, the as-of date's check and warning), and on
PostgreSQL a trigger forgets the digest when anything else changes the loan's file columns, so a
change made in the app since is never hidden.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from collections_app.models import CollectionCase
from collections_app.services import recovery_record
from ledger.models import LedgerEntry
from loans.importing.validation import LoanChecker
from loans.models import ImportRow, Loan, User
from tests.imports.conftest import (
    AS_OF,
    LOAN_HEADER,
    book_state,
    csv_bytes,
    loan_row,
    row_outcomes,
    run_import,
    three_loans,
)

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
    return {key: outcome for _, key, outcome in row_outcomes(batch)}


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


# --- PostgreSQL reads the CSV itself (COPY) and stages the unchanged rows in SQL -------------------


@pytest.fixture
def staged_in_sql(monkeypatch) -> list[int]:
    """How many rows each import staged unchanged in SQL (PostgresStage.stage_unchanged_loans)."""
    from loans.importing.staging import PostgresStage

    counts: list[int] = []
    stage = PostgresStage.stage_unchanged_loans

    def spy(self, probe):
        counts.append(stage(self, probe))
        return counts[-1]

    monkeypatch.setattr(PostgresStage, "stage_unchanged_loans", spy)
    return counts


def test_postgresql_stages_the_unchanged_rows_and_hands_back_only_the_others(
    require_postgres, bank, admin_user, checked_in_full, staged_in_sql
):
    rows = three_loans()
    first = run_import(csv_bytes(rows), actor=admin_user)
    assert first.ok and staged_in_sql == []  # a new book: nothing to compare, the file is not copied
    rows[1]["outstanding_principal"] = "400,000.00"
    rows.append(loan_row(loan_no="L-0004", borrower_name="Wang Fang", borrower_id_no="330101197001013456"))
    checked_in_full.clear()
    outcome = run_import(csv_bytes(rows, chinese=True), actor=admin_user)  # the template's 2nd header line
    assert outcome.ok and (outcome.created, outcome.updated, outcome.unchanged) == (1, 1, 2)
    assert staged_in_sql == [2] and checked_in_full == [4, 6]  # rows 3 and 5 never came back to Python
    assert _outcomes(outcome.batch) == {
        "L-0001": "unchanged", "L-0002": "updated", "L-0003": "unchanged", "L-0004": "created",
    }  # fmt: skip

    checked_in_full.clear()
    again = run_import(csv_bytes(rows), actor=admin_user)
    assert staged_in_sql == [2, 4] and checked_in_full == [] and again.unchanged == 4


def test_the_digest_postgresql_computes_is_the_one_python_computes(require_postgres, bank, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loans.importing.columns import LOANS, find_header, map_headers
    from loans.importing.readers import open_sheets
    from loans.importing.services import _lookups
    from loans.importing.staging import RAW_LOANS, stage_for
    from loans.importing.validation import ErrorLog, NewLoanClasses
    from loans.policy import classification_policy

    tricky = [
        loan_row(loan_no="L-0101", borrower_name='张伟, “大” "quoted" name', product=""),
        loan_row(loan_no="L-0102", borrower_name="Two\nlines", product="  spaced  "),
        loan_row(loan_no="L-0103", borrower_name="Ünïcödé ✓ 𠀀", interest_off_balance=""),
    ]
    content = csv_bytes(tricky).replace(b",,", b',"",', 1)  # a quoted empty cell beside empty ones
    opened = open_sheets(io.BytesIO(content), default=LOANS)
    reader = opened.sheets["loans"]
    (header_row, header_cells), rows = find_header(LOANS, reader.rows)
    header_map, _ = map_headers(LOANS, header_row, header_cells)
    classes = NewLoanClasses(as_of=AS_OF, policy=classification_policy())
    checker = LoanChecker(header_map, ErrorLog(), lookups=_lookups(), as_of=AS_OF, classes=classes)
    stage = stage_for()
    stage.create()
    with CaptureQueriesContext(connection) as queries:
        assert stage.copy_raw(reader.csv, len(header_cells)) == 3  # records, one of them on two lines
    assert not [q for q in queries.captured_queries if "count(" in q["sql"]]  # COPY's own count, not a re-read
    python = checker.row_digests([cells for _, cells in rows])
    digest, params = checker.digest_sql(lambda i: f"c{i}")
    database = [d for (d,) in stage.rows(f"SELECT {digest} FROM {RAW_LOANS} ORDER BY ord", params)]
    stage.drop()
    opened.close()
    assert database == python and len(set(python)) == 3


def test_a_file_with_a_byte_order_mark_and_semicolons_is_compared_in_the_database(
    require_postgres, bank, admin_user, checked_in_full, staged_in_sql
):
    """What spreadsheet programs write ("CSV UTF-8" from Excel, a European list separator)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(LOAN_HEADER)
    rows = three_loans()
    rows[0]["product"] = "Working capital; seasonal"
    writer.writerows([row[h] for h in LOAN_HEADER] for row in rows)
    content = "\ufeff".encode() + out.getvalue().encode()
    assert b'"Working capital; seasonal"' in content
    first = run_import(content, actor=admin_user)
    assert first.ok, first.errors
    checked_in_full.clear()
    again = run_import(content, actor=admin_user)
    assert again.unchanged == 3 and staged_in_sql == [3] and checked_in_full == []


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda b: b.replace(b"no\r\n", b"no,extra\r\n", 1), id="a row wider than the header"),
        pytest.param(lambda b: b.replace(b"Working capital", b"C:\\.", 1), id="a backslash-period"),
        pytest.param(lambda b: b.decode().encode("gb18030"), id="GB18030"),
        pytest.param(lambda b: b + b"\r\n", id="a blank line at the end"),
    ],
)
def test_a_file_copy_would_read_otherwise_is_compared_in_python(
    require_postgres, bank, admin_user, checked_in_full, staged_in_sql, spoil
):
    rows = three_loans()
    rows[0]["borrower_name"] = "张伟"  # not the same bytes in GB18030
    content = spoil(csv_bytes(rows))
    first = run_import(content, actor=admin_user)
    assert first.ok, first.errors
    checked_in_full.clear()
    again = run_import(content, actor=admin_user)
    assert again.ok and again.unchanged == 3 and checked_in_full == []  # each chunk compared as it is read
    assert staged_in_sql == []


def test_a_borrower_renamed_since_is_read_in_full_and_named_as_the_file_says(
    require_postgres, bank, admin_user, checked_in_full, staged_in_sql
):
    from loans.models import Borrower

    content = csv_bytes(three_loans())
    run_import(content, actor=admin_user)
    Borrower.objects.filter(id_no="220101198505052345").update(name="Li Na (renamed in the app)")
    assert Loan.objects.get(loan_no="L-0002").import_digest is None  # the trigger forgot it
    assert Loan.objects.get(loan_no="L-0001").import_digest is not None

    checked_in_full.clear()
    outcome = run_import(content, actor=admin_user)
    assert staged_in_sql == [2] and checked_in_full == [3]
    assert Borrower.objects.get(id_no="220101198505052345").name == "Li Na"
    assert outcome.batch.counts["borrowers"] == {"created": 0, "updated": 1, "unchanged": 2}


def test_an_unchanged_row_twice_is_a_duplicate(require_postgres, bank, admin_user, staged_in_sql):
    rows = three_loans()
    run_import(csv_bytes(rows), actor=admin_user)
    outcome = run_import(csv_bytes([*rows, rows[0]]), actor=admin_user)
    assert staged_in_sql == [4]
    assert outcome.errors == ["row 5, column loan_no: loan number “L-0001” is also in row 2"]


def test_both_ways_of_comparing_give_the_same_import(require_postgres, bank, admin_user, monkeypatch):
    """The same re-import compared in SQL and compared chunk by chunk in Python: the same outcomes,
    problems, warnings and book."""
    from django.db import connection, transaction

    from loans.importing.staging import PostgresStage

    rows = three_loans()
    rows.append(
        loan_row(loan_no="L-0009", principal="1,000,000.00", outstanding_principal="800000.00",
                 disbursed_on="2023-01-15", maturity_on="2026-01-15")
    )  # fmt: skip
    run_import(csv_bytes(rows), actor=admin_user)
    rows[0]["outstanding_principal"] = "70000"
    rows[2]["branch_code"] = "o11"  # the same branch, written otherwise
    rows.append(loan_row(loan_no="L-0010", borrower_name="Zhang Wei", borrower_id_no="110101199001011234"))
    rows.append(loan_row(loan_no="L-0011", borrower_name="Li Na (another name)", borrower_id_no="220101198505052345"))
    content = csv_bytes(rows)

    def run() -> tuple:
        with transaction.atomic():
            outcome = run_import(content, actor=admin_user)
            batch = outcome.batch
            seen = (
                sorted(ImportRow.objects.filter(batch=batch).values_list("row_no", "key", "outcome")),
                batch.errors,
                batch.warnings,
                (outcome.created, outcome.updated, outcome.unchanged),
                book_state()["loans"],
            )
            with connection.cursor() as cursor:  # the comparison's planner setting did not outlive it
                cursor.execute("SELECT current_setting('enable_nestloop')")
                assert cursor.fetchone()[0] == "on"
            transaction.set_rollback(True)
        return seen

    in_sql = run()
    monkeypatch.setattr(PostgresStage, "copy_raw", lambda self, source, width: None)
    in_python = run()
    assert in_sql == in_python
    assert in_sql[1] == [
        "row 7, column borrower_name: the same borrower (ID number in row 3) has the name “Li Na” there but "
        "“Li Na (another name)” here"
    ]


def test_the_batch_says_it_compares_the_file_with_the_book_while_the_database_does(
    require_postgres, bank, admin_user, monkeypatch
):
    """A million-row file takes PostgreSQL seconds to read and compare before the first row is
    counted: the progress says what is going on meanwhile, then goes back to reading."""
    from loans.importing.staging import PostgresStage
    from loans.models import ImportBatch

    content = csv_bytes(three_loans())
    run_import(content, actor=admin_user)
    seen: list[str] = []
    stage = PostgresStage.stage_unchanged_loans

    def spy(self, probe):
        seen.append(ImportBatch.objects.order_by("-pk").values_list("phase", flat=True).first())
        return stage(self, probe)

    monkeypatch.setattr(PostgresStage, "stage_unchanged_loans", spy)
    outcome = run_import(content, actor=admin_user)
    assert seen == ["comparing"] and outcome.unchanged == 3
    assert ImportBatch.Phase("comparing").label == "Comparing the file with the loan book"
