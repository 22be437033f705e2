"""Issue 15 (import): each loan keeps the digest of the file row an import wrote it from, so that
a re-import stages rows the book already holds as they are without converting and checking them.

On PostgreSQL a row trigger forgets the digest whenever a write other than an import's changes a
column the file sets (a recovery lowering the balance, an officer reassigned, a correction in the
admin): the next import then reads that row in full and sets the loan back to what the file says.
The import itself writes a new digest with new values, which the trigger leaves alone. SQLite has
no trigger and the importer never skips rows there.
"""

from django.db import migrations, models

# The loan columns an import sets (loans.importing.staging.LOAN_FIELDS).
FILE_COLUMNS = (
    "borrower_id",
    "branch_id",
    "responsible_officer_id",
    "product",
    "principal",
    "outstanding_principal",
    "interest_on_balance",
    "interest_off_balance",
    "disbursed_on",
    "maturity_on",
    "overdue_since",
    "business_ceased",
    "government_directed",
)
OLD = ", ".join(f"OLD.{c}" for c in FILE_COLUMNS)
NEW = ", ".join(f"NEW.{c}" for c in FILE_COLUMNS)

CREATE = f"""
CREATE OR REPLACE FUNCTION loans_loan_forget_import_digest() RETURNS trigger AS $$
BEGIN
    NEW.import_digest := NULL;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER loans_loan_forget_import_digest
    BEFORE UPDATE ON loans_loan
    FOR EACH ROW
    WHEN (OLD.import_digest IS NOT NULL
          AND NEW.import_digest IS NOT DISTINCT FROM OLD.import_digest
          AND ROW({OLD}) IS DISTINCT FROM ROW({NEW}))
    EXECUTE FUNCTION loans_loan_forget_import_digest();
"""

DROP = """
DROP TRIGGER IF EXISTS loans_loan_forget_import_digest ON loans_loan;
DROP FUNCTION IF EXISTS loans_loan_forget_import_digest();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0010_i13_lists_loan_maturity"),
    ]

    operations = [
        migrations.AddField(
            model_name="loan",
            name="import_digest",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
