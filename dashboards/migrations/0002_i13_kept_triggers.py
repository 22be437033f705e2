"""The kept cells are made current by database triggers (dashboards/triggers.py): PostgreSQL
statement triggers with transition tables, SQLite row triggers. The cells of an existing database
are first computed from the sources (the same definition, in SQL)."""

from django.db import migrations

from dashboards.triggers import fill_sql, install_sql, uninstall_sql


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        return
    for statement in [*install_sql(vendor), *fill_sql(vendor)]:
        schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        return
    for statement in uninstall_sql(vendor):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_initial"),
        ("loans", "0009_i12_gaps_guarantee_liability"),
        ("ledger", "0002_i11_ledger_append_only_opening"),
        ("collections_app", "0008_merge_issues_11_12_15"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
