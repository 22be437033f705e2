"""On PostgreSQL, the shares of a division of responsibility must add up to 100% at commit.

A check constraint sees one row; this deferred constraint trigger sees the whole division once the
transaction that wrote it commits (the services also check it, with a readable message). SQLite,
the embedded development database, relies on the services.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accountability_shares_add_up() RETURNS trigger AS $$
DECLARE
    a_id bigint;
    total numeric;
BEGIN
    IF TG_OP = 'DELETE' THEN
        a_id := OLD.assignment_id;
    ELSE
        a_id := NEW.assignment_id;
    END IF;
    -- The division itself was deleted with its shares: nothing to check.
    IF NOT EXISTS (SELECT 1 FROM accountability_responsibilityassignment WHERE id = a_id) THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(sum(share), 0) INTO total FROM accountability_responsibilityshare WHERE assignment_id = a_id;
    IF total <> 100 THEN
        RAISE EXCEPTION 'The shares of responsibility assignment % add up to % percent, not 100.', a_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER responsibility_shares_add_up
    AFTER INSERT OR UPDATE OR DELETE ON accountability_responsibilityshare
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accountability_shares_add_up();
"""

DROP = """
DROP TRIGGER IF EXISTS responsibility_shares_add_up ON accountability_responsibilityshare;
DROP FUNCTION IF EXISTS accountability_shares_add_up();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accountability", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
