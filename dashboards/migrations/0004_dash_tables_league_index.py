"""An index for the officer league's cash recovered (PostgreSQL only; SQLite's demo book is small).

ledger_cell_cash_recovery: the league's cash recovered per officer reads only the cells that count as
cash recovery, by month, without visiting the table (index-only: the filters' columns included),
instead of a sequential scan of every cell (at a million loans: 91,000 of the 142,574 cells).

Created with RunPython so that the models' state (and makemigrations) does not carry PostgreSQL-only
INCLUDE columns."""

from django.db import migrations

INDEXES = {
    "ledger_cell_cash_recovery": (
        "CREATE INDEX IF NOT EXISTS ledger_cell_cash_recovery ON dashboards_ledgercell (month) "
        "INCLUDE (officer_id, branch_id, product, borrower_kind, amount) "
        "WHERE counting AND counts_as_recovery AND form = 'cash'"
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
    ]

    operations = [migrations.RunPython(create, drop)]
