"""Plan the shares trigger's two look-ups for each call.

The deferred trigger fires once per share row at commit. With PL/pgSQL's cached generic plan, made
while the tables were small, a commit of 200,000 first divisions scanned the whole shares table
per row (7 minutes); planned per call, each look-up uses its index (25 s for the same commit).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER FUNCTION accountability_shares_add_up() SET plan_cache_mode = force_custom_plan", params=None
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER FUNCTION accountability_shares_add_up() RESET plan_cache_mode", params=None)


class Migration(migrations.Migration):
    dependencies = [("accountability", "0003_loans_by_loans_per_loan_pair")]

    operations = [migrations.RunPython(forwards, backwards)]
