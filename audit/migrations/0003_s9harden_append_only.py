"""The audit trail is append-only in PostgreSQL itself (security review, finding 6): a trigger
refuses every UPDATE and DELETE on audit_auditevent, from the ORM, raw SQL or psql alike.
TRUNCATE (the test suite's flush, a database reset) is a table-level statement that row triggers
do not see. SQLite, the embedded development database, relies on the model's save/delete guards.

Also: the index behind the per-user export limit (loans/exporting.py)."""

from django.conf import settings
from django.db import migrations, models

CREATE = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit trail is append-only: % of audit_auditevent row % refused.', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor", "event_type", "created_at"], name="audit_actor_event"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
