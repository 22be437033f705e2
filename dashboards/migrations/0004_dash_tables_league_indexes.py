"""Indexes the officer league and the time limits list read (PostgreSQL only; SQLite's demo book is small).

- ledger_cell_cash_recovery: the league's cash recovered per officer reads only the cells that count as
  cash recovery, by month, without visiting the table (index-only: the filters' columns included).
- case_open_deadline_cover: open cases by time limit with the columns the league's "time limits missed"
  per officer and the list's count of time limits due read (officer, branch, measure, loan), so
  both are index-only scans instead of a heap visit per case.

Created with RunPython so that the models' state (and makemigrations) does not carry PostgreSQL-only
INCLUDE columns."""

from django.db import migrations

INDEXES = {
    "ledger_cell_cash_recovery": (
        "CREATE INDEX IF NOT EXISTS ledger_cell_cash_recovery ON dashboards_ledgercell (month) "
        "INCLUDE (officer_id, branch_id, product, borrower_kind, amount) "
        "WHERE counting AND counts_as_recovery AND form = 'cash'"
    ),
    "case_open_deadline_cover": (
        "CREATE INDEX IF NOT EXISTS case_open_deadline_cover ON collections_app_collectioncase "
        "(recovery_deadline) INCLUDE (officer_id, branch_id, measure, loan_id) WHERE is_open"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in INDEXES.values():
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0003_merge_issue_13_15"),
        ("collections_app", "0010_merge_issue_13_15"),
    ]

    operations = [migrations.RunPython(create, drop)]
