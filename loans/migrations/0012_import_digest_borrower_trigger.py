"""Issue 15 (import): a re-import stages the rows the book holds as they are with their borrower as
the book has him (loans.importing.staging.PostgresStage.stage_unchanged_loans). That is what the row
says only while the borrower is as that import left him, so on PostgreSQL a trigger forgets the
digests of a borrower's loans when his name, kind or ID number changes (an edit in the admin, another
loan's row in a later file): the next import reads those rows in full.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION loans_borrower_forget_import_digests() RETURNS trigger AS $$
BEGIN
    UPDATE loans_loan SET import_digest = NULL WHERE borrower_id = NEW.id AND import_digest IS NOT NULL;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER loans_borrower_forget_import_digests
    AFTER UPDATE ON loans_borrower
    FOR EACH ROW
    WHEN (ROW(OLD.name, OLD.kind, OLD.id_no) IS DISTINCT FROM ROW(NEW.name, NEW.kind, NEW.id_no))
    EXECUTE FUNCTION loans_borrower_forget_import_digests();
"""

DROP = """
DROP TRIGGER IF EXISTS loans_borrower_forget_import_digests ON loans_borrower;
DROP FUNCTION IF EXISTS loans_borrower_forget_import_digests();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0011_import_fast_row_digest"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
