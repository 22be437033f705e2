"""Issue 15 (import): what the import spends outside the rows themselves, on PostgreSQL.

- The planner's statistics of the book's tables are refreshed after a write only when it changed
  more than a tenth of a table (autovacuum's own rule, applied at once): an ANALYZE of a large loans
  table costs seconds, and a tenth of it rewritten barely moves its statistics.
- The staging tables are analysed on a small sample, and the session's settings are as they were
  after the import (statistics target, JIT, working memory).
- A re-import that creates no loan does not gather the window's earlier falls, which only the
  loans it created are compared with.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loans.importing import staging
from npl_recovery import db
from tests.imports.conftest import csv_bytes, loan_row, run_import, three_loans

pytestmark = [pytest.mark.django_db]


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


def _analyse(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def test_a_write_of_a_tenth_of_a_table_or_less_leaves_its_statistics(require_postgres, bank, monkeypatch):
    monkeypatch.setattr(db, "BULK_ANALYZE_THRESHOLD", 1)
    rows = [loan_row(loan_no=f"LN-S{i:03d}", borrower_id_no=f"ID-S{i:03d}") for i in range(20)]
    assert run_import(csv_bytes(rows)).ok
    _analyse("loans_loan")
    assert db.analyze_after_bulk_write("loans_loan", rows=2) is False  # 2 of 20: a tenth
    assert db.analyze_after_bulk_write("loans_loan", rows=3) is True
    assert db.analyze_after_bulk_write("loans_loan", rows=0) is False  # under the threshold


def test_an_import_analyses_only_the_tables_it_changed_by_more_than_a_tenth(require_postgres, bank, monkeypatch):
    monkeypatch.setattr(db, "BULK_ANALYZE_THRESHOLD", 1)
    rows = [loan_row(loan_no=f"LN-T{i:03d}", borrower_id_no=f"ID-T{i:03d}") for i in range(20)]
    assert run_import(csv_bytes(rows)).ok
    _analyse("loans_loan")
    _analyse("loans_borrower")
    analysed: list[tuple] = []
    real = db.analyze_after_bulk_write

    def spy(*tables, rows):
        ran = real(*tables, rows=rows)
        analysed.append((tables, rows, ran))
        return ran

    monkeypatch.setattr("loans.importing.services.analyze_after_bulk_write", spy)
    rows[0]["outstanding_principal"] = "1.00"
    outcome = run_import(csv_bytes(rows))
    assert outcome.ok and outcome.updated == 1, outcome.batch.errors
    # One loan of 20 updated, no borrower written: each table is weighed on its own rows.
    assert ((("loans_loan",), 1, False) in analysed) and ((("loans_borrower",), 0, False) in analysed)


def test_the_import_leaves_the_session_as_it_found_it(require_postgres, bank):
    before = {name: _setting(name) for name in ("default_statistics_target", "jit", "work_mem")}
    assert run_import(csv_bytes(three_loans())).ok
    assert {name: _setting(name) for name in before} == before


def test_the_staging_tables_are_analysed_on_a_small_sample_without_jit(require_postgres, bank, monkeypatch):
    seen: dict[str, object] = {}
    real = staging.Stage.analyze

    def spy(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT attstattarget FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                [staging.LOANS],
            )
            seen["statistics"] = [target for (target,) in cursor.fetchall()]
        seen["jit"] = _setting("jit")
        return real(self)

    monkeypatch.setattr(staging.Stage, "analyze", spy)
    assert run_import(csv_bytes(three_loans())).ok
    assert seen == {"statistics": [staging.PostgresStage.STAGE_STATISTICS], "jit": "off"}


def test_a_reimport_that_creates_no_loan_reads_no_earlier_falls(require_postgres, bank):
    content = csv_bytes(three_loans())
    assert run_import(content).ok
    with CaptureQueriesContext(connection) as queries:
        outcome = run_import(content)
    assert outcome.ok and outcome.created == 0
    statements = " ".join(q["sql"] for q in queries.captured_queries)
    assert "npl_prevention_falls" in statements
    assert "npl_prevention_recent" not in statements


def _borrower_locked(id_no: str) -> bool:
    """Whether a transaction has locked or updated the borrower's row since it was written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmax::text::bigint <> 0 FROM loans_borrower WHERE id_no = %s", [id_no])
        return cursor.fetchone()[0]


def test_a_reimport_leaves_the_borrowers_it_does_not_change_untouched(require_postgres, bank):
    rows = three_loans()
    assert run_import(csv_bytes(rows)).ok
    id_no = rows[0]["borrower_id_no"]
    assert not _borrower_locked(id_no)
    rows[0]["outstanding_principal"] = "70000"  # the loan changes, its borrower does not
    outcome = run_import(csv_bytes(rows))
    assert outcome.ok and outcome.updated == 1, outcome.batch.errors
    assert not _borrower_locked(id_no)
    rows[0]["borrower_name"] = "Zhang Wei Jr"
    assert run_import(csv_bytes(rows)).ok
    assert _borrower_locked(id_no)
