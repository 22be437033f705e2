"""An import keeps its unchanged rows as runs of consecutive rows (loans/importing/outcomes.py), not a
record per row: a daily import of a 100,000-loan book that barely moved wrote 100,000 records to
loans_importrow every day, about a fifth of the time of an unchanged re-import. Created and updated
rows keep a record each; the import page, the admin's preview and the counts read both."""

from __future__ import annotations

import pytest

from loans.importing import outcomes
from loans.importing.outcomes import BatchRows, runs_of
from loans.models import ImportRow, ImportRowRun
from tests.imports.conftest import admin_import, csv_bytes, loan_row, row_outcomes, run_import, three_loans

pytestmark = pytest.mark.django_db


def test_runs_are_cut_at_every_gap_and_in_blocks_of_row_numbers():
    rows = [(2, "a"), (3, "b"), (4, "c"), (6, "d"), (7, "e"), (9, "f")]
    assert list(runs_of(rows, size=500)) == [(2, 4, ["a", "b", "c"]), (6, 7, ["d", "e"]), (9, 9, ["f"])]
    # Blocks of 3 row numbers: 1-3, 4-6, 7-9.
    assert list(runs_of(rows, size=3)) == [
        (2, 3, ["a", "b"]),
        (4, 4, ["c"]),
        (6, 6, ["d"]),
        (7, 7, ["e"]),
        (9, 9, ["f"]),
    ]
    assert list(runs_of([])) == []


def _seven_loans() -> list[dict]:
    rows = three_loans()
    for i in range(4, 8):
        rows.append(
            loan_row(loan_no=f"L-000{i}", borrower_name=f"Borrower {i}", borrower_id_no=f"11010119900101{i:04d}")
        )
    return rows


def test_an_unchanged_re_import_writes_runs_not_a_record_per_row(bank, monkeypatch):
    """Rows 2-8 of the file; row 5 changed. With runs of at most 2 row numbers (1-2, 3-4, 5-6, 7-8),
    whichever stage wrote them (PostgreSQL cuts them in SQL, SQLite in Python)."""
    rows = _seven_loans()
    run_import(csv_bytes(rows))
    rows[3]["outstanding_principal"] = "1000.00"  # L-0004, row 5
    monkeypatch.setattr(outcomes, "RUN_ROWS", 2)
    outcome = run_import(csv_bytes(rows))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 6)
    assert list(ImportRow.objects.filter(batch=outcome.batch).values_list("row_no", "key", "outcome")) == [
        (5, "L-0004", "updated")
    ]
    runs = ImportRowRun.objects.filter(batch=outcome.batch).order_by("first_row_no")
    assert [(r.first_row_no, r.last_row_no) for r in runs] == [(2, 2), (3, 4), (6, 6), (7, 8)]
    assert row_outcomes(outcome.batch) == [
        (2, "L-0001", "unchanged"),
        (3, "L-0002", "unchanged"),
        (4, "L-0003", "unchanged"),
        (5, "L-0004", "updated"),
        (6, "L-0005", "unchanged"),
        (7, "L-0006", "unchanged"),
        (8, "L-0007", "unchanged"),
    ]


def test_a_dry_run_and_the_other_sheets_keep_runs_too(bank):
    rows = three_loans()
    run_import(csv_bytes(rows))
    dry = run_import(csv_bytes(rows), dry_run=True)
    assert dry.batch.status == "checked" and dry.unchanged == 3
    assert not ImportRow.objects.filter(batch=dry.batch).exists()
    assert list(ImportRowRun.objects.filter(batch=dry.batch).values_list("sheet", "first_row_no", "last_row_no")) == [
        ("loans", 2, 4)
    ]


def test_the_batch_page_shows_a_run_as_one_line_with_its_loans(bank, admin_user, client):
    rows = _seven_loans()
    run_import(csv_bytes(rows))
    rows[3]["outstanding_principal"] = "1000.00"
    outcome = run_import(csv_bytes(rows))
    client.force_login(admin_user)
    page = client.get(f"/loans/import/{outcome.batch.pk}/").content.decode()
    assert '<td class="num">2–4</td>' in page and "L-0001 … L-0003 (3 rows)" in page
    assert "L-0001, L-0002, L-0003" in page  # every key of the run, shown when opened
    assert '<td class="num">5</td><td>L-0004</td>' in page
    unchanged = client.get(f"/loans/import/{outcome.batch.pk}/?outcome=unchanged").content.decode()
    assert "L-0004</td>" not in unchanged and "L-0005 … L-0007 (3 rows)" in unchanged
    zh = client.get(f"/loans/import/{outcome.batch.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "L-0001 … L-0003（共 3 行）" in zh


def test_the_pages_of_lines_follow_row_order_across_records_and_runs(bank):
    rows = _seven_loans()
    run_import(csv_bytes(rows))
    rows[3]["outstanding_principal"] = "1000.00"
    outcome = run_import(csv_bytes(rows))
    lines = BatchRows(outcome.batch, "loans")
    assert lines.count() == 3 and lines.rows_total == 7
    assert [(line.row_no, line.last_row_no, line.outcome) for line in lines[1:3]] == [
        (5, 5, "updated"),
        (6, 8, "unchanged"),
    ]
    assert [(line.row_no, line.key) for line in BatchRows(outcome.batch, "loans", "updated")] == [(5, "L-0004")]


def test_the_admins_preview_lists_each_row_of_a_run(bank, admin_user, client):
    run_import(csv_bytes(three_loans()))
    client.force_login(admin_user)
    dry, _ = admin_import(client, csv_bytes(three_loans()), "again.csv", confirm=False)
    result = dry.context["result"]
    assert [(r.diff, r.outcome_label) for r in result.rows] == [
        ([2, "L-0001"], "Unchanged"),
        ([3, "L-0002"], "Unchanged"),
        ([4, "L-0003"], "Unchanged"),
    ]


def test_the_migration_turns_unchanged_records_of_earlier_imports_into_runs(bank):
    """Batches imported before runs were kept hold a record per unchanged row; migration 0016 turns
    them into runs, batch by batch, and leaves created and updated records as they are."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("loans.migrations.0016_compact_unchanged_import_rows")
    rows = _seven_loans()
    run_import(csv_bytes(rows))
    rows[3]["outstanding_principal"] = "1000.00"
    outcome = run_import(csv_bytes(rows))
    before = row_outcomes(outcome.batch)
    # As an import before 0015 left it: every row a record.
    ImportRowRun.objects.filter(batch=outcome.batch).delete()
    ImportRow.objects.bulk_create(
        ImportRow(batch=outcome.batch, sheet="loans", row_no=row_no, key=key, outcome=o)
        for row_no, key, o in before
        if o == "unchanged"
    )
    assert ImportRow.objects.filter(batch=outcome.batch).count() == 7
    assert row_outcomes(outcome.batch) == before  # the page reads records of unchanged rows as well

    migration.compact(apps, SimpleNamespace(connection=connection))
    assert row_outcomes(outcome.batch) == before
    assert list(ImportRow.objects.filter(batch=outcome.batch).values_list("row_no", "outcome")) == [(5, "updated")]
    runs = ImportRowRun.objects.filter(batch=outcome.batch).order_by("first_row_no")
    assert [(r.first_row_no, r.last_row_no) for r in runs] == [(2, 4), (6, 8)]
    migration.compact(apps, SimpleNamespace(connection=connection))  # again: nothing left to do
    assert ImportRowRun.objects.filter(batch=outcome.batch).count() == 2
