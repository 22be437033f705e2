"""The ledger is append-only in PostgreSQL itself: a trigger refuses DELETE, and UPDATE of anything
but the approval of a backdated entry. SQLite relies on the model's save/delete guards.

And the opening balances of the loans that exist already: one entry per loan with its balances as
they stand (value date: the disbursal), set-based, so the invariant (sum of entries = balance) holds
on an existing database."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'The ledger is append-only: DELETE of ledger_ledgerentry row % refused.', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.id, NEW.loan_id, NEW.case_id, NEW.kind, NEW.principal, NEW.interest_on_balance,
        NEW.interest_off_balance, NEW.amount, NEW.form, NEW.counts_as_recovery, NEW.value_date,
        NEW.recorded_on, NEW.recorded_at, NEW.recorded_by_id, NEW.source, NEW.note, NEW.recovery_id,
        NEW.asset_id, NEW.import_batch_id)
       IS DISTINCT FROM
       (OLD.id, OLD.loan_id, OLD.case_id, OLD.kind, OLD.principal, OLD.interest_on_balance,
        OLD.interest_off_balance, OLD.amount, OLD.form, OLD.counts_as_recovery, OLD.value_date,
        OLD.recorded_on, OLD.recorded_at, OLD.recorded_by_id, OLD.source, OLD.note, OLD.recovery_id,
        OLD.asset_id, OLD.import_batch_id) THEN
        RAISE EXCEPTION 'The ledger is append-only: only the approval of row % may change.', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_append_only
    BEFORE UPDATE OR DELETE ON ledger_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_append_only ON ledger_ledgerentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""

OPENING = """
INSERT INTO ledger_ledgerentry (loan_id, kind, principal, interest_on_balance, interest_off_balance,
    amount, form, counts_as_recovery, value_date, recorded_on, recorded_at, source, note, approval,
    approval_reason)
SELECT l.id, 'opening_balance', l.outstanding_principal, l.interest_on_balance, l.interest_off_balance,
    0, 'none', %s, l.disbursed_on, CURRENT_DATE, CURRENT_TIMESTAMP, 'migration', '', 'not_needed', ''
FROM loans_loan l
WHERE NOT EXISTS (SELECT 1 FROM ledger_ledgerentry e WHERE e.loan_id = l.id)
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)
    schema_editor.execute(OPENING, params=[False])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_i11_ledger_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
