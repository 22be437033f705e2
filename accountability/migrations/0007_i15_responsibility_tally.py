"""Issue 15: kept per-officer figures for the accountability board (ResponsibilityTally).

On PostgreSQL, statement-level triggers (with transition tables, so a set-based write of 200,000
shares costs one grouped INSERT) add a signed row per (branch, officer, time limit) to the tally
whenever a statement moves shares in or out of "current share of an open case". The tally is then
filled from the tables as they are. SQLite has no tally: the board aggregates directly.
"""

from django.db import migrations, models

TALLY = "accountability_responsibilitytally"
SHARE = "accountability_responsibilityshare"
ASSIGNMENT = "accountability_responsibilityassignment"
CASE = "collections_app_collectioncase"

CREATE = f"""
-- A share inserted, deleted or moved (officer or division changed).
CREATE OR REPLACE FUNCTION accountability_tally_shares() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {TALLY} (branch_id, officer_id, recovery_deadline, shares)
        SELECT a.branch_id, n.officer_id, a.recovery_deadline, count(*)
          FROM new_rows n
          JOIN {ASSIGNMENT} a ON a.id = n.assignment_id AND a.ended_on IS NULL
          JOIN {CASE} c ON c.id = a.case_id AND c.is_open
         GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO {TALLY} (branch_id, officer_id, recovery_deadline, shares)
        SELECT a.branch_id, o.officer_id, a.recovery_deadline, -count(*)
          FROM old_rows o
          JOIN {ASSIGNMENT} a ON a.id = o.assignment_id AND a.ended_on IS NULL
          JOIN {CASE} c ON c.id = a.case_id AND c.is_open
         GROUP BY 1, 2, 3;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accountability_tally_shares_moved() RETURNS trigger AS $$
BEGIN
    INSERT INTO {TALLY} (branch_id, officer_id, recovery_deadline, shares)
    SELECT a.branch_id, d.officer_id, a.recovery_deadline, sum(d.delta)
      FROM (
        SELECT x.officer_id, x.assignment_id, x.delta
          FROM old_rows o JOIN new_rows n ON n.id = o.id
         CROSS JOIN LATERAL (VALUES (o.officer_id, o.assignment_id, -1), (n.officer_id, n.assignment_id, 1))
               AS x(officer_id, assignment_id, delta)
         WHERE (o.officer_id, o.assignment_id) IS DISTINCT FROM (n.officer_id, n.assignment_id)
      ) d
      JOIN {ASSIGNMENT} a ON a.id = d.assignment_id AND a.ended_on IS NULL
      JOIN {CASE} c ON c.id = a.case_id AND c.is_open
     GROUP BY 1, 2, 3
    HAVING sum(d.delta) <> 0;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- A division ended (or reopened), re-dated or moved to another branch or case.
CREATE OR REPLACE FUNCTION accountability_tally_assignments() RETURNS trigger AS $$
BEGIN
    INSERT INTO {TALLY} (branch_id, officer_id, recovery_deadline, shares)
    SELECT d.branch_id, s.officer_id, d.recovery_deadline, sum(d.delta)
      FROM (
        SELECT x.*
          FROM old_rows o JOIN new_rows n ON n.id = o.id
         CROSS JOIN LATERAL (VALUES
               (o.id, o.branch_id, o.recovery_deadline, o.case_id, o.ended_on IS NULL, -1),
               (n.id, n.branch_id, n.recovery_deadline, n.case_id, n.ended_on IS NULL, 1))
               AS x(assignment_id, branch_id, recovery_deadline, case_id, is_current, delta)
         WHERE (o.branch_id, o.recovery_deadline, o.case_id, o.ended_on IS NULL)
               IS DISTINCT FROM (n.branch_id, n.recovery_deadline, n.case_id, n.ended_on IS NULL)
      ) d
      JOIN {SHARE} s ON s.assignment_id = d.assignment_id
      JOIN {CASE} c ON c.id = d.case_id AND c.is_open
     WHERE d.is_current
     GROUP BY 1, 2, 3
    HAVING sum(d.delta) <> 0;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- A case closed or reopened.
CREATE OR REPLACE FUNCTION accountability_tally_cases() RETURNS trigger AS $$
BEGIN
    INSERT INTO {TALLY} (branch_id, officer_id, recovery_deadline, shares)
    SELECT a.branch_id, s.officer_id, a.recovery_deadline, sum(CASE WHEN n.is_open THEN 1 ELSE -1 END)
      FROM old_rows o JOIN new_rows n ON n.id = o.id AND o.is_open IS DISTINCT FROM n.is_open
      JOIN {ASSIGNMENT} a ON a.case_id = n.id AND a.ended_on IS NULL
      JOIN {SHARE} s ON s.assignment_id = a.id
     GROUP BY 1, 2, 3
    HAVING sum(CASE WHEN n.is_open THEN 1 ELSE -1 END) <> 0;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Fold the signed rows into one per key (the daily run calls it after the first divisions).
-- Inserting writers never wait for it; a second compaction at the same time returns at once.
CREATE OR REPLACE FUNCTION responsibility_tally_compact() RETURNS integer AS $$
DECLARE
    kept integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('responsibility_tally_compact')) THEN
        RETURN -1;
    END IF;
    WITH gone AS (
        DELETE FROM {TALLY} RETURNING branch_id, officer_id, recovery_deadline, shares
    )
    INSERT INTO {TALLY} (branch_id, officer_id, recovery_deadline, shares)
    SELECT branch_id, officer_id, recovery_deadline, sum(shares) FROM gone
     GROUP BY 1, 2, 3 HAVING sum(shares) <> 0;
    GET DIAGNOSTICS kept = ROW_COUNT;
    RETURN kept;
END
$$ LANGUAGE plpgsql;

-- Refill from the tables (the migration; a repair). Locks out writers of shares, divisions and
-- cases while it runs, so nothing slips between the DELETE and the INSERT.
CREATE OR REPLACE FUNCTION responsibility_tally_rebuild() RETURNS integer AS $$
DECLARE
    kept integer;
BEGIN
    LOCK TABLE {SHARE}, {ASSIGNMENT}, {CASE} IN SHARE MODE;
    DELETE FROM {TALLY};
    INSERT INTO {TALLY} (branch_id, officer_id, recovery_deadline, shares)
    SELECT a.branch_id, s.officer_id, a.recovery_deadline, count(*)
      FROM {SHARE} s
      JOIN {ASSIGNMENT} a ON a.id = s.assignment_id AND a.ended_on IS NULL
      JOIN {CASE} c ON c.id = a.case_id AND c.is_open
     GROUP BY 1, 2, 3;
    GET DIAGNOSTICS kept = ROW_COUNT;
    RETURN kept;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER responsibility_tally_share_insert AFTER INSERT ON {SHARE}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION accountability_tally_shares();
CREATE TRIGGER responsibility_tally_share_delete AFTER DELETE ON {SHARE}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION accountability_tally_shares();
CREATE TRIGGER responsibility_tally_share_update AFTER UPDATE ON {SHARE}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accountability_tally_shares_moved();
CREATE TRIGGER responsibility_tally_assignment_update AFTER UPDATE ON {ASSIGNMENT}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accountability_tally_assignments();
CREATE TRIGGER responsibility_tally_case_update AFTER UPDATE ON {CASE}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accountability_tally_cases();

SELECT responsibility_tally_rebuild();
"""

DROP = f"""
DROP TRIGGER IF EXISTS responsibility_tally_share_insert ON {SHARE};
DROP TRIGGER IF EXISTS responsibility_tally_share_delete ON {SHARE};
DROP TRIGGER IF EXISTS responsibility_tally_share_update ON {SHARE};
DROP TRIGGER IF EXISTS responsibility_tally_assignment_update ON {ASSIGNMENT};
DROP TRIGGER IF EXISTS responsibility_tally_case_update ON {CASE};
DROP FUNCTION IF EXISTS accountability_tally_shares();
DROP FUNCTION IF EXISTS accountability_tally_shares_moved();
DROP FUNCTION IF EXISTS accountability_tally_assignments();
DROP FUNCTION IF EXISTS accountability_tally_cases();
DROP FUNCTION IF EXISTS responsibility_tally_compact();
DROP FUNCTION IF EXISTS responsibility_tally_rebuild();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accountability", "0006_merge_issues_11_12_15"),
        ("collections_app", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ResponsibilityTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("branch_id", models.BigIntegerField()),
                ("officer_id", models.BigIntegerField()),
                ("recovery_deadline", models.DateField()),
                ("shares", models.IntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["officer_id", "recovery_deadline"], include=("shares",), name="resp_tally_officer"
                    ),
                    models.Index(fields=["branch_id", "officer_id"], include=("shares",), name="resp_tally_branch"),
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
