"""The staging tables of one import and the set-based statements that check and merge them.

Checked rows go into temporary tables (private to the database session). Checks across rows are
queries on those tables, and the merge into the book is a handful of INSERT ... SELECT / ON
CONFLICT statements, so the database does the work and memory does not grow with the file.

`stage_for(connection)` picks one of two stages behind the same interface (`Stage`):

- `PostgresStage` fills the tables with COPY and merges the loans with one statement:
  INSERT ... ON CONFLICT (loan_no) DO UPDATE ... WHERE (something changed) RETURNING, where
  `xmax = 0` tells an inserted row from an updated one, and rows it does not return were unchanged.
- `PortableStage` (SQLite, the embedded default) fills them with executemany, first records each
  row's outcome by comparing with the book, then updates and inserts. It is plain SQL that
  PostgreSQL runs too, so a test compares the two stages on the same data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg
from django.db import DatabaseError, transaction
from django.db import connection as default_connection

from loans.classification import NON_PERFORMING_FIVE_CODES
from loans.importing.outcomes import runs_of, runs_sql, unchanged_in_runs
from loans.importing.readers import CsvSource, is_blank_row
from npl_recovery.db import advisory_xact_lock

if TYPE_CHECKING:
    from loans.importing.validation import UnchangedProbe

LOANS = "npl_stage_loans"
# A CSV loan book as PostgreSQL's COPY read it (PostgresStage.copy_raw), and the branch and officer
# cells it holds with what the full check makes of them.
RAW_LOANS = "npl_stage_raw_loans"
RAW_BRANCHES = "npl_stage_raw_branches"
RAW_OFFICERS = "npl_stage_raw_officers"
GUARANTEES = "npl_stage_guarantees"
COLLATERAL = "npl_stage_collateral"
CLASSES = "npl_stage_classes"
# Each existing loan's change of balance per component (the book's figure minus the loan's), taken
# just before the merge: the ledger entries of the import are written from it.
BALANCES = "npl_stage_balances"
LEDGER = "ledger_ledgerentry"
BALANCE_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("outstanding_principal", None),
    ("interest_on_balance", "interest_on_balance"),
    ("interest_off_balance", "interest_off_balance"),
)

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    LOANS: (
        ("row_no", "int"),
        ("loan_no", "varchar(40)"),
        ("borrower_name", "varchar(200)"),
        ("borrower_id_no", "varchar(50)"),
        ("borrower_kind", "varchar(30)"),
        ("branch_id", "bigint"),
        ("officer_id", "bigint"),
        ("product", "varchar(100)"),
        ("principal", "money"),
        ("outstanding_principal", "money"),
        ("interest_on_balance", "money"),
        ("interest_off_balance", "money"),
        ("disbursed_on", "date"),
        ("maturity_on", "date"),
        ("overdue_since", "date"),
        ("business_ceased", "bool"),
        ("government_directed", "bool"),
        ("class_key", "int"),
        ("specific_provision", "money"),
        # The digest of the row's cells as read, kept on the loan (validation.LoanChecker.row_digests);
        # unchanged: the row was found as the book holds it and only its borrower columns were read.
        ("import_digest", "bigint"),
        ("unchanged", "bool"),
    ),
    GUARANTEES: (
        ("row_no", "int"),
        ("loan_no", "varchar(40)"),
        ("guarantor_name", "varchar(200)"),
        ("guarantor_id_no", "varchar(50)"),
        ("guarantor_kind", "varchar(30)"),
        ("amount", "money"),
        ("signed_on", "date"),
    ),
    COLLATERAL: (
        ("row_no", "int"),
        ("loan_no", "varchar(40)"),
        ("kind", "varchar(30)"),
        ("description", "varchar(300)"),
        ("appraised_value", "money"),
        ("appraised_on", "date"),
        ("lien_status", "varchar(20)"),
    ),
    CLASSES: (
        ("class_key", "int"),
        ("five_level_class", "varchar(20)"),
        ("four_level_class", "varchar(20)"),
        ("five_level_rule", "varchar(40)"),
        ("four_level_rule", "varchar(40)"),
        ("five_level_reason", "varchar(500)"),
        ("four_level_reason", "varchar(500)"),
    ),
}

NON_PERFORMING = NON_PERFORMING_FIVE_CODES
# New loans announced to the case opener (issue 11, full caliber): non-performing under five levels, or
# not normal under four levels; the opener (collections_app.selectors.loans_needing_a_case) keeps those
# in the case classes.

# The loan columns an import sets, with the staged expression and the file column that
# controls it (None: always in the file). An optional column absent from the file leaves the
# loan's value alone on update.
LOAN_FIELDS: tuple[tuple[str, str, str | None], ...] = (
    ("borrower_id", "b.id", None),
    ("branch_id", "s.branch_id", None),
    ("responsible_officer_id", "s.officer_id", "officer_username"),
    ("product", "s.product", "product"),
    ("principal", "s.principal", None),
    ("outstanding_principal", "s.outstanding_principal", None),
    ("interest_on_balance", "s.interest_on_balance", "interest_on_balance"),
    ("interest_off_balance", "s.interest_off_balance", "interest_off_balance"),
    ("disbursed_on", "s.disbursed_on", None),
    ("maturity_on", "s.maturity_on", None),
    ("overdue_since", "s.overdue_since", "overdue_since"),
    ("business_ceased", "s.business_ceased", "business_ceased"),
    ("government_directed", "s.government_directed", "government_directed"),
)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


class Stage:
    """What both stages share: the tables, the checks across rows, the outcomes and the merges of
    guarantees and collateral. A subclass says how rows get in, how "changed" is spelled, and how
    borrowers and loans are merged."""

    # Column kinds of TABLES -> this stage's SQL types.
    TYPES: dict[str, str] = {}
    # Whether rows the book already holds as they are may be staged unchanged without being checked
    # again (imported_loans): only where a trigger forgets a loan's digest when its file columns change.
    skips_unchanged = False

    def __init__(self, connection=None) -> None:
        self.connection = connection or default_connection

    # --- tables ------------------------------------------------------------------------------

    def create(self) -> None:
        self.drop()
        for table, columns in TABLES.items():
            self.execute(f"CREATE TEMPORARY TABLE {table} ({self._columns(columns)})")

    def _columns(self, columns: Sequence[tuple[str, str]]) -> str:
        return ", ".join(f"{name} {self._type(kind)}" for name, kind in columns)

    def _type(self, kind: str) -> str:
        return kind if kind.startswith("varchar") else self.TYPES[kind]

    def tune(self) -> None:
        """Session settings for the checks and the merge (reset by `untune`)."""

    def untune(self) -> None:
        pass

    def lock_writes(self) -> None:
        """Inside the write's transaction: one import writes at a time."""

    def analyze(self) -> None:
        """Statistics for the planner: it knows nothing about a freshly filled temporary table."""
        for table in (LOANS, GUARANTEES, COLLATERAL):
            self.execute(f"ANALYZE {table}")

    def drop(self) -> None:
        for table in (*TABLES, BALANCES, RAW_LOANS, RAW_BRANCHES, RAW_OFFICERS):
            self.execute(f"DROP TABLE IF EXISTS {table}")

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)

    def rows(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def iterate(self, sql: str, params: Sequence[Any] | dict | None = None, *, batch: int = 2000) -> Iterator[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(batch):
                yield from rows

    def write(self, table: str, rows: Sequence[tuple]) -> None:
        """Append checked rows (tuples in the table's column order)."""
        raise NotImplementedError

    def count(self, table: str) -> int:
        return self.rows(f"SELECT count(*) FROM {table}")[0][0]

    # --- checks across rows ----------------------------------------------------------------

    def duplicates(self, table: str, key: Sequence[str]) -> Iterator[tuple[tuple, int, int]]:
        """(key, row, first row with that key) for every row whose key an earlier row already has,
        in row order (a window, no self-join)."""
        cols = ", ".join(key)
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in key)
        # The keys held twice first (one hashed count), so only their rows are sorted: a file without
        # duplicates sorts nothing.
        sql = f"""
            SELECT {cols}, row_no, first_row FROM (
                SELECT {cols}, row_no, min(row_no) OVER (PARTITION BY {cols}) AS first_row
                  FROM {table}
                 WHERE {not_null}
                   AND ({cols}) IN (SELECT {cols} FROM {table} WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1)
            ) x
             WHERE row_no <> first_row
             ORDER BY row_no
        """
        for *values, row_no, first in self.iterate(sql):
            yield tuple(values), row_no, first

    def inconsistent(self, table: str, key: str, attributes: Sequence[str]) -> Iterator[tuple[int, dict, int, dict]]:
        """Rows that give the same person (by ID number) another name or kind than the first row does:
        (row, its attributes, first row, the first row's attributes)."""
        firsts = ", ".join(f"first_value({a}) OVER w AS first_{a}" for a in attributes)
        differs = " OR ".join(f"{a} <> first_{a}" for a in attributes)
        cols = ", ".join(attributes) + ", " + ", ".join(f"first_{a}" for a in attributes)
        narrow = _not_only_unchanged(table, key)
        sql = f"""
            SELECT row_no, first_row, {cols} FROM (
                SELECT row_no, {", ".join(attributes)}, first_value(row_no) OVER w AS first_row, {firsts}
                  FROM {table} WHERE {key} IS NOT NULL {narrow}
                WINDOW w AS (PARTITION BY {key} ORDER BY row_no)
            ) x
             WHERE row_no <> first_row AND ({differs})
             ORDER BY row_no
        """
        n = len(attributes)
        for row_no, first_row, *values in self.iterate(sql):
            yield (
                row_no,
                dict(zip(attributes, values[:n], strict=True)),
                first_row,
                dict(zip(attributes, values[n:], strict=True)),
            )

    def unknown_loans(self, table: str) -> Iterator[tuple[int, str]]:
        """Rows of a guarantees/collateral sheet naming a loan neither in the loans sheet nor in the book."""
        return self.iterate(
            f"""
            SELECT s.row_no, s.loan_no FROM {table} s
             WHERE s.loan_no IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM {LOANS} x WHERE x.loan_no = s.loan_no)
               AND NOT EXISTS (SELECT 1 FROM loans_loan l WHERE l.loan_no = s.loan_no)
             ORDER BY s.row_no
            """
        )

    # --- comparing with the book -----------------------------------------------------------

    def changed(self, pairs: Iterable[tuple[str, str]]) -> str:
        """SQL that is true when any left value differs from its right value (NULLs compared as values)."""
        raise NotImplementedError

    def loan_pairs(self, present: set[str], left: str = "l") -> list[tuple[str, str]]:
        return [
            (f"{left}.{col}", expr) for col, expr, controlled_by in LOAN_FIELDS if controlled_by in (None, *present)
        ]

    def _person_counts(self, table: str, id_col: str, target: str, attributes: dict[str, str]) -> Counts:
        """How many distinct people (borrowers, guarantors) of the sheet are new, changed or the same."""
        changed = self.changed((f"p.{col}", f"s.{staged}") for col, staged in attributes.items())
        created, updated, total = self.rows(
            f"""
            SELECT COALESCE(SUM(CASE WHEN p.id IS NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN p.id IS NOT NULL AND {changed} THEN 1 ELSE 0 END), 0),
                   count(*)
              FROM {table} s LEFT JOIN {target} p ON p.id_no = s.{id_col}
             WHERE s.row_no IN (SELECT min(row_no) FROM {table} GROUP BY {id_col})
            """
        )[0]
        return Counts(int(created), int(updated), int(total) - int(created) - int(updated))

    def _people_upsert_sql(self, table: str, id_col: str, target: str, attributes: dict[str, str]) -> str:
        """Insert the sheet's new people (first row per ID number wins; the checks made sure the
        rows agree) and update the name/kind of known ones where the file says otherwise."""
        prefix = "borrower" if target == "loans_borrower" else "guarantor"
        if target == "loans_borrower":
            insert = {"group_code": "''", "phone": "''", "address": "''", "created_at": "%(now)s"}
            joins, link, link_changed = "", "", ""
        else:
            insert = {"borrower_id": "pb.id", "phone": "''"}
            joins = f"LEFT JOIN loans_borrower pb ON pb.id_no = s.{id_col}"
            # A guarantor who is also a borrower is a related party (the loans-by-loans detector).
            link = f", borrower_id = COALESCE({target}.borrower_id, excluded.borrower_id)"
            link_changed = f" OR ({target}.borrower_id IS NULL AND excluded.borrower_id IS NOT NULL)"
        columns = {"name": f"s.{prefix}_name", "kind": f"s.{prefix}_kind", "id_no": f"s.{id_col}", **insert}
        # Each person's first row among the rows read in full: the people named only in rows staged
        # unchanged are the book's already, and the checks made sure a person's rows agree.
        first = f"SELECT min(row_no) FROM {table} WHERE {_read_in_full(table)} GROUP BY {id_col}"
        sets = ", ".join(f"{c} = excluded.{c}" for c in attributes)
        changed = self.changed((f"{target}.{c}", f"excluded.{c}") for c in attributes)
        # People the book already holds as the file gives them are left out before the upsert: ON
        # CONFLICT locks (and so writes) every row it meets, changed or not. Its own WHERE still
        # guards against a person changed since.
        differs = self.changed((f"e.{c}", columns[c]) for c in attributes)
        if link:
            differs += " OR (e.borrower_id IS NULL AND pb.id IS NOT NULL)"
        return f"""
            INSERT INTO {target} ({", ".join(columns)})
            SELECT {", ".join(columns.values())}
              FROM {table} s {joins}
              LEFT JOIN {target} e ON e.id_no = s.{id_col}
             WHERE s.row_no IN ({first}) AND (e.id IS NULL OR {differs})
            ON CONFLICT (id_no) DO UPDATE SET {sets}{link} WHERE {changed}{link_changed}
        """

    def _people_upsert(self, table: str, id_col: str, target: str, attributes: dict[str, str], now: datetime) -> None:
        self.execute(self._people_upsert_sql(table, id_col, target, attributes), {"now": now})

    def _people_merge(self, table: str, id_col: str, target: str, attributes: dict[str, str], now: datetime) -> Counts:
        """Upsert the sheet's people and say how many were new, changed or the same (counted first)."""
        counts = self._person_counts(table, id_col, target, attributes)
        self._people_upsert(table, id_col, target, attributes, now)
        return counts

    # --- loans -------------------------------------------------------------------------------

    def borrower_attributes(self, present: set[str]) -> dict[str, str]:
        attributes = {"name": "borrower_name"}
        if "borrower_kind" in present:
            attributes["kind"] = "borrower_kind"
        return attributes

    def borrower_counts(self, present: set[str]) -> Counts:
        return self._person_counts(LOANS, "borrower_id_no", "loans_borrower", self.borrower_attributes(present))

    def write_classes(self, classes: Sequence[Any]) -> None:
        self.write(
            CLASSES,
            [
                (
                    key,
                    c.five_level.value,
                    c.four_level.value,
                    c.five_level_rule,
                    c.four_level_rule,
                    c.five_level_reason[:500],
                    c.four_level_reason[:500],
                )
                for key, c in enumerate(classes)
            ],
        )

    def record_loan_outcomes(self, batch_id: int, present: set[str]) -> Counts:
        """Compare each staged loan with the book and record created / updated / unchanged."""
        changed = self.changed(self.loan_pairs(present))
        self.record_outcomes(
            batch_id,
            "loans",
            f"""
            SELECT s.row_no, s.loan_no AS {_key_col()},
                   CASE WHEN l.id IS NULL THEN 'created' WHEN s.unchanged THEN 'unchanged'
                        WHEN {changed} THEN 'updated' ELSE 'unchanged' END AS outcome
              FROM {LOANS} s
              LEFT JOIN loans_borrower b ON b.id_no = s.borrower_id_no
              LEFT JOIN loans_loan l ON l.loan_no = s.loan_no
            """,
        )
        return self.outcome_counts(batch_id, "loans")

    def record_outcomes(self, batch_id: int, sheet: str, rows_sql: str) -> None:
        """Record each row's outcome from `rows_sql` (columns row_no, key, outcome): created and
        updated rows one by one, unchanged rows as runs (loans/importing/outcomes.py)."""
        self.execute(
            f"""
            INSERT INTO loans_importrow (batch_id, sheet, row_no, {_key_col()}, outcome)
            SELECT %s, %s, o.row_no, o.{_key_col()}, o.outcome FROM ({rows_sql}) o WHERE o.outcome <> 'unchanged'
            """,
            [batch_id, sheet],
        )
        unchanged = self.iterate(
            f"SELECT o.row_no, o.{_key_col()} FROM ({rows_sql}) o WHERE o.outcome = 'unchanged' ORDER BY o.row_no"
        )
        runs = [
            (batch_id, sheet, first, last, json.dumps(keys, ensure_ascii=False))
            for first, last, keys in runs_of(unchanged)
        ]
        if runs:
            self.connection.ensure_connection()
            with self.connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO loans_importrowrun (batch_id, sheet, first_row_no, last_row_no, keys) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    runs,
                )

    def outcome_counts(self, batch_id: int, sheet: str) -> Counts:
        counts = Counts()
        for outcome, n in self.rows(
            "SELECT outcome, count(*) FROM loans_importrow WHERE batch_id = %s AND sheet = %s GROUP BY outcome",
            [batch_id, sheet],
        ):
            setattr(counts, outcome, n)
        counts.unchanged += unchanged_in_runs(batch_id, sheet, using=self.connection.alias)
        return counts

    def merge_loans(
        self, *, batch_id: int, present: set[str], as_of: date, actor_id: int | None, now: datetime
    ) -> tuple[Counts, Counts, list[int], list[int]]:
        """Write the staged loans (and their borrowers) into the book.

        Returns (loan counts, borrower counts, ids of updated loans, ids of new non-performing loans).
        """
        attributes = self.borrower_attributes(present)
        borrowers = self._people_merge(LOANS, "borrower_id_no", "loans_borrower", attributes, now)
        params = {"batch": batch_id, "as_of": as_of, "actor": actor_id, "now": now}
        loans, updated_ids, new_npl_ids = self._merge_loan_rows(batch_id, present, params)
        if loans.unchanged:
            self._remember_digests(present)
        return loans, borrowers, updated_ids, new_npl_ids

    def _remember_digests(self, present: set[str]) -> None:
        """Loans the file leaves as they are but that were read in full (written before digests were
        kept, or from a file laid out otherwise) keep the row's digest, so that the next import of
        the same row stages it unchanged without checking it again."""
        self.execute(
            f"""
            UPDATE loans_loan AS l SET import_digest = s.import_digest
              FROM {LOANS} s JOIN loans_borrower b ON b.id_no = s.borrower_id_no
             WHERE s.loan_no = l.loan_no AND NOT s.unchanged
               AND {self.changed([("l.import_digest", "s.import_digest")])}
               AND NOT {self.changed(self.loan_pairs(present))}
            """
        )

    def _merge_loan_rows(self, batch_id: int, present: set[str], params: dict) -> tuple[Counts, list[int], list[int]]:
        """Upsert the staged loans, record each row's outcome and the new loans' first classes.
        Returns (counts, ids of updated loans, ids of new non-performing loans)."""
        raise NotImplementedError

    _INSERT_COLUMNS = (
        ("loan_no", "s.loan_no"),
        ("borrower_id", "b.id"),
        ("branch_id", "s.branch_id"),
        ("product", "s.product"),
        ("issuing_officer_id", "s.officer_id"),
        ("responsible_officer_id", "s.officer_id"),
        ("principal", "s.principal"),
        ("outstanding_principal", "s.outstanding_principal"),
        ("interest_on_balance", "s.interest_on_balance"),
        ("interest_off_balance", "s.interest_off_balance"),
        ("disbursed_on", "s.disbursed_on"),
        ("maturity_on", "s.maturity_on"),
        ("overdue_since", "s.overdue_since"),
        ("arrears_cleared_on", "NULL"),
        ("business_ceased", "s.business_ceased"),
        ("government_directed", "s.government_directed"),
        ("restructured_on", "NULL"),
        ("written_off_on", "NULL"),
        ("five_level_class", "c.five_level_class"),
        ("four_level_class", "c.four_level_class"),
        ("manual_five_level_class", "''"),
        ("manual_class_reason", "''"),
        ("five_level_rule", "c.five_level_rule"),
        ("four_level_rule", "c.four_level_rule"),
        ("specific_provision", "s.specific_provision"),
        ("import_digest", "s.import_digest"),
        ("created_at", "%(now)s"),
        ("updated_at", "%(now)s"),
    )

    def _update_sets(self, present: set[str], source: str) -> str:
        """SET clause of an update from the staged row; `source` is EXCLUDED (upsert) or the expressions."""
        sets = []
        for col, expr, controlled_by in LOAN_FIELDS:
            if controlled_by in (None, *present):
                sets.append(f"{col} = {source}.{col}" if source else f"{col} = {expr}")
        if "overdue_since" in present:
            # Arrears cleared now: the upgrade wait of a non-performing loan starts today.
            new = f"{source}.overdue_since" if source else "s.overdue_since"
            sets.append(
                f"arrears_cleared_on = CASE WHEN l.overdue_since IS NOT NULL AND {new} IS NULL "
                f"THEN %(as_of)s ELSE l.arrears_cleared_on END"
            )
        sets.append(f"import_digest = {source}.import_digest" if source else "import_digest = s.import_digest")
        sets.append("updated_at = %(now)s")
        return ", ".join(sets)

    # --- the ledger ---------------------------------------------------------------------------

    def capture_balance_changes(self, present: set[str]) -> int:
        """Before the merge: every existing loan whose balances the file changes, with the change per
        component (a component whose column is not in the file is left alone: 0). Returns how many."""
        deltas = [f"ROUND(s.{col} - l.{col}, 2)" if by is None or by in present else "0" for col, by in BALANCE_COLUMNS]
        names = ("principal", "interest_on", "interest_off")
        self.execute(f"DROP TABLE IF EXISTS {BALANCES}")
        self.execute(
            f"""
            CREATE TEMPORARY TABLE {BALANCES} AS
            SELECT loan_id, row_no, {", ".join(names)} FROM (
                SELECT l.id AS loan_id, s.row_no,
                       {", ".join(f"{d} AS {n}" for d, n in zip(deltas, names, strict=True))}
                  FROM {LOANS} s JOIN loans_loan l ON l.loan_no = s.loan_no
                 WHERE NOT s.unchanged
            ) x
             WHERE principal <> 0 OR interest_on <> 0 OR interest_off <> 0
            """
        )
        return self.count(BALANCES)

    def post_ledger_entries(self, *, batch_id: int, as_of: date, actor_id: int | None, now: datetime) -> dict:
        """After the merge, the import's ledger entries, set-based (no row passes through Python):

        - an opening balance for every loan the import created (value date: its disbursal);
        - "reported by the book" for the components that fell (negative changes), to be classified by
          the loan's officer when the loan has an open case (the entry names it);
        - "correction from the book" for the components that rose.
        A loan whose principal fell and interest rose gets both. Returns the counts per kind."""
        params = {"batch": batch_id, "as_of": as_of, "actor": actor_id, "now": now, "source": f"import {batch_id}"}
        columns = (
            "loan_id, case_id, kind, principal, interest_on_balance, interest_off_balance, amount, form, "
            "counts_as_recovery, value_date, recorded_on, recorded_at, recorded_by_id, source, note, approval, "
            "approval_reason, import_batch_id"
        )
        params["false"] = False
        tail = (
            "0, 'none', %(false)s, {value_date}, %(as_of)s, %(now)s, %(actor)s, %(source)s, '', 'not_needed', '', "
            "%(batch)s"
        )
        counts = {}
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {LEDGER} ({columns})
                SELECT l.id, NULL, 'opening_balance', l.outstanding_principal, l.interest_on_balance,
                       l.interest_off_balance, {tail.format(value_date="l.disbursed_on")}
                  FROM loans_importrow r JOIN loans_loan l ON l.loan_no = r.{_key_col()}
                 WHERE r.batch_id = %(batch)s AND r.sheet = 'loans' AND r.outcome = 'created'
                """,
                params,
            )
            counts["opening_balance"] = max(cursor.rowcount, 0)
            open_case = "(SELECT c.id FROM collections_app_collectioncase c WHERE c.loan_id = b.loan_id AND c.is_open)"
            for kind, compare in (("book_reported", "<"), ("book_correction", ">")):
                parts = [
                    f"CASE WHEN b.{n} {compare} 0 THEN b.{n} ELSE 0 END"
                    for n in ("principal", "interest_on", "interest_off")
                ]
                cursor.execute(
                    f"""
                    INSERT INTO {LEDGER} ({columns})
                    SELECT b.loan_id, {open_case}, '{kind}', {", ".join(parts)},
                           {tail.format(value_date="%(as_of)s")}
                      FROM {BALANCES} b
                     WHERE b.principal {compare} 0 OR b.interest_on {compare} 0 OR b.interest_off {compare} 0
                    """,
                    params,
                )
                counts[kind] = max(cursor.rowcount, 0)
        return counts

    # --- guarantees --------------------------------------------------------------------------

    def guarantor_attributes(self, present: set[str]) -> dict[str, str]:
        attributes = {"name": "guarantor_name"}
        if "guarantor_kind" in present:
            attributes["kind"] = "guarantor_kind"
        return attributes

    def guarantee_pairs(self, present: set[str]) -> list[tuple[str, str]]:
        pairs = [("g.amount", "s.amount")]
        if "signed_on" in present:
            pairs.append(("g.signed_on", "s.signed_on"))
        return pairs

    def record_guarantee_outcomes(self, batch_id: int, present: set[str]) -> tuple[Counts, Counts]:
        guarantors = self._person_counts(
            GUARANTEES, "guarantor_id_no", "loans_guarantor", self.guarantor_attributes(present)
        )
        changed = self.changed(self.guarantee_pairs(present))
        self.record_outcomes(
            batch_id,
            "guarantees",
            f"""
            SELECT s.row_no, s.loan_no || ' / ' || s.guarantor_id_no AS {_key_col()},
                   CASE WHEN g.id IS NULL THEN 'created' WHEN {changed} THEN 'updated' ELSE 'unchanged' END AS outcome
              FROM {GUARANTEES} s
              LEFT JOIN loans_loan l ON l.loan_no = s.loan_no
              LEFT JOIN loans_guarantor gr ON gr.id_no = s.guarantor_id_no
              LEFT JOIN loans_guarantee g ON g.loan_id = l.id AND g.guarantor_id = gr.id
            """,
        )
        return self.outcome_counts(batch_id, "guarantees"), guarantors

    def merge_guarantees(self, batch_id: int, present: set[str], now: datetime) -> tuple[Counts, Counts]:
        counts, guarantors = self.record_guarantee_outcomes(batch_id, present)
        self._people_upsert(GUARANTEES, "guarantor_id_no", "loans_guarantor", self.guarantor_attributes(present), now)
        cols = ["amount"] + (["signed_on"] if "signed_on" in present else [])
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
        changed = self.changed((f"loans_guarantee.{c}", f"excluded.{c}") for c in cols)
        self.execute(
            f"""
            INSERT INTO loans_guarantee (guarantor_id, loan_id, amount, signed_on)
            SELECT gr.id, l.id, s.amount, s.signed_on
              FROM {GUARANTEES} s
              JOIN loans_guarantor gr ON gr.id_no = s.guarantor_id_no
              JOIN loans_loan l ON l.loan_no = s.loan_no
             WHERE true
            ON CONFLICT (guarantor_id, loan_id) DO UPDATE SET {sets} WHERE {changed}
            """
        )
        return counts, guarantors

    # --- collateral --------------------------------------------------------------------------

    _MATCH = (
        "m.id = (SELECT min(x.id) FROM loans_collateral x "
        "WHERE x.loan_id = l.id AND x.kind = s.kind AND x.description = s.description)"
    )

    def collateral_pairs(self, present: set[str]) -> list[tuple[str, str]]:
        pairs = [("m.appraised_value", "s.appraised_value")]
        for col in ("appraised_on", "lien_status"):
            if col in present:
                pairs.append((f"m.{col}", f"s.{col}"))
        return pairs

    def record_collateral_outcomes(self, batch_id: int, present: set[str]) -> Counts:
        changed = self.changed(self.collateral_pairs(present))
        self.record_outcomes(
            batch_id,
            "collateral",
            f"""
            SELECT s.row_no, s.loan_no || ' / ' || s.description AS {_key_col()},
                   CASE WHEN m.id IS NULL THEN 'created' WHEN {changed} THEN 'updated' ELSE 'unchanged' END AS outcome
              FROM {COLLATERAL} s
              LEFT JOIN loans_loan l ON l.loan_no = s.loan_no
              LEFT JOIN loans_collateral m ON {self._MATCH}
            """,
        )
        return self.outcome_counts(batch_id, "collateral")

    def merge_collateral(self, batch_id: int, present: set[str]) -> Counts:
        counts = self.record_collateral_outcomes(batch_id, present)
        pairs = self.collateral_pairs(present)
        sets = ", ".join(f"{left.removeprefix('m.')} = {right}" for left, right in pairs)
        self.execute(
            f"""
            UPDATE loans_collateral AS m SET {sets}
              FROM {COLLATERAL} s JOIN loans_loan l ON l.loan_no = s.loan_no
             WHERE {self._MATCH} AND {self.changed(pairs)}
            """
        )
        self.execute(
            f"""
            INSERT INTO loans_collateral (loan_id, kind, description, appraised_value, appraised_on, lien_status)
            SELECT l.id, s.kind, s.description, s.appraised_value, s.appraised_on, s.lien_status
              FROM {COLLATERAL} s JOIN loans_loan l ON l.loan_no = s.loan_no
             WHERE NOT EXISTS (SELECT 1 FROM loans_collateral x
                                WHERE x.loan_id = l.id AND x.kind = s.kind AND x.description = s.description)
            """
        )
        return counts


class PostgresStage(Stage):
    """COPY into the staging tables; borrowers and loans merged by single upserts that return
    what they did."""

    TYPES = {"int": "integer", "bigint": "bigint", "money": "numeric(18,2)", "date": "date", "bool": "boolean"}
    skips_unchanged = True

    # Memory for the sorts and hashes of the checks and the merge: with PostgreSQL's default (4MB)
    # they spill to disk from about a hundred thousand rows. Set for this session, reset after.
    WORK_MEM = "64MB"

    # Statistics target of the staging tables' ANALYZE: a sample of 3,000 rows (PostgreSQL's default,
    # 100, samples 30,000 and sorts every column's values: 0.4 s at 100,000 rows against 0.05 s) is
    # plenty to plan the joins on a table the import itself filled.
    STAGE_STATISTICS = 10

    def tune(self) -> None:
        self.execute(f"SET work_mem = '{self.WORK_MEM}'")
        # No JIT: the dashboards' kept-figure triggers on a 10,000-row update of the loans are planned
        # for their transition tables' sizes and cross its cost threshold, then spend about 0.3 s
        # compiling statements that run in 0.2 s.
        self.execute("SET jit = off")

    def untune(self) -> None:
        self.execute("RESET work_mem")
        self.execute("RESET jit")

    def create(self) -> None:
        super().create()
        # On the tables themselves: nothing of the session's to set and set back.
        for table, columns in TABLES.items():
            alters = ", ".join(f"ALTER COLUMN {name} SET STATISTICS {self.STAGE_STATISTICS}" for name, _ in columns)
            self.execute(f"ALTER TABLE {table} {alters}")

    def lock_writes(self) -> None:
        # A second import waits here rather than interleaving.
        advisory_xact_lock("npl-loan-book-import", using=self.connection.alias)

    def write(self, table: str, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        names = [name for name, _ in TABLES[table]]
        self.connection.ensure_connection()
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def changed(self, pairs: Iterable[tuple[str, str]]) -> str:
        pairs = list(pairs)
        left = ", ".join(a for a, _ in pairs)
        right = ", ".join(b for _, b in pairs)
        return f"ROW({left}) IS DISTINCT FROM ROW({right})"

    def _people_merge(self, table: str, id_col: str, target: str, attributes: dict[str, str], now: datetime) -> Counts:
        # The counts come back with the statement (xmax = 0: inserted).
        upsert = self._people_upsert_sql(table, id_col, target, attributes)
        created, updated, total = self.rows(
            f"""
            WITH up AS ({upsert} RETURNING (xmax = 0) AS inserted)
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
                   (SELECT count(*) FROM (SELECT {id_col} FROM {table} WHERE {id_col} IS NOT NULL GROUP BY {id_col}) p)
              FROM up
            """,
            {"now": now},
        )[0]
        return Counts(created, updated, total - created - updated)

    def record_outcomes(self, batch_id: int, sheet: str, rows_sql: str) -> None:
        """As Stage.record_outcomes, in one statement: the runs are cut in SQL."""
        unchanged = f"SELECT row_no, {_key_col()} FROM o WHERE outcome = 'unchanged'"
        runs = runs_sql(source=unchanged, batch="%(batch)s", sheet="%(sheet)s")
        self.execute(
            f"""
            WITH o AS MATERIALIZED ({rows_sql}), each_row AS (
                INSERT INTO loans_importrow (batch_id, sheet, row_no, {_key_col()}, outcome)
                SELECT %(batch)s, %(sheet)s, row_no, {_key_col()}, outcome FROM o WHERE outcome <> 'unchanged'
            )
            {runs}
            """,
            {"batch": batch_id, "sheet": sheet},
        )

    def _merge_loan_rows(self, batch_id: int, present: set[str], params: dict) -> tuple[Counts, list[int], list[int]]:
        insert_cols = ", ".join(c for c, _ in self._INSERT_COLUMNS)
        insert_vals = ", ".join(e for _, e in self._INSERT_COLUMNS)
        pairs = [(f"l.{col}", f"EXCLUDED.{col}") for col, _, by in LOAN_FIELDS if by in (None, *present)]
        npl = ", ".join(f"'{c}'" for c in NON_PERFORMING)
        history = " UNION ALL ".join(
            f"""SELECT up.id, '{scheme}_level', '', c.{scheme}_level_class, 'rule', c.{scheme}_level_rule,
                       c.{scheme}_level_reason, %(actor)s::bigint, %(as_of)s::date, %(now)s::timestamptz
                  FROM up JOIN {LOANS} s ON s.loan_no = up.loan_no JOIN {CLASSES} c ON c.class_key = s.class_key
                 WHERE up.inserted AND c.{scheme}_level_class <> 'normal'"""
            for scheme in ("five", "four")
        )
        # The rows the upsert leaves (staged unchanged, or equal to the book) are unchanged.
        unchanged_runs = runs_sql(
            source=f"SELECT s.row_no, s.loan_no AS {_key_col()} FROM {LOANS} s "
            "WHERE NOT EXISTS (SELECT 1 FROM up WHERE up.loan_no = s.loan_no)",
            batch="%(batch)s",
            sheet="'loans'",
        )
        # Rows equal to the book are left out before the upsert: ON CONFLICT would lock (and so
        # write) every row it meets, changed or not. The upsert's own WHERE still guards against a
        # row that changed since.
        sql = f"""
            WITH up AS (
                INSERT INTO loans_loan AS l ({insert_cols})
                SELECT {insert_vals}
                  FROM {LOANS} s
                  JOIN loans_borrower b ON b.id_no = s.borrower_id_no
                  JOIN {CLASSES} c ON c.class_key = s.class_key
                  LEFT JOIN loans_loan e ON e.loan_no = s.loan_no
                 WHERE NOT s.unchanged AND (e.id IS NULL OR {self.changed(self.loan_pairs(present, "e"))})
                ON CONFLICT (loan_no) DO UPDATE SET {self._update_sets(present, "EXCLUDED")}
                 WHERE {self.changed(pairs)}
                RETURNING l.id, l.loan_no, (l.xmax = 0) AS inserted, l.five_level_class, l.four_level_class
            ), outcome AS (
                INSERT INTO loans_importrow (batch_id, sheet, row_no, {_key_col()}, outcome)
                SELECT %(batch)s, 'loans', s.row_no, s.loan_no, CASE WHEN up.inserted THEN 'created' ELSE 'updated' END
                  FROM {LOANS} s JOIN up ON up.loan_no = s.loan_no
            ), runs AS ({unchanged_runs}
            ), history AS (
                INSERT INTO loans_classificationchange
                    (loan_id, scheme, from_class, to_class, source, rule, reason, actor_id, as_of, created_at)
                {history}
            )
            SELECT up.id, up.inserted FROM up
             WHERE NOT up.inserted OR up.five_level_class IN ({npl}) OR up.four_level_class <> 'normal'
        """
        updated_ids, new_npl_ids = [], []
        for loan_id, inserted in self.iterate(sql, params, batch=5000):
            (new_npl_ids if inserted else updated_ids).append(loan_id)
        return self.outcome_counts(batch_id, "loans"), updated_ids, new_npl_ids

    # --- a CSV loan book compared in the database --------------------------------------------

    def book_has_digests(self) -> bool:
        """Whether any loan keeps the digest of the row it was imported from (else no row can be unchanged)."""
        return self.rows("SELECT EXISTS (SELECT 1 FROM loans_loan WHERE import_digest IS NOT NULL)")[0][0]

    def copy_raw(self, source: CsvSource, width: int) -> int | None:
        """The CSV file read by PostgreSQL's COPY into a table of text columns c0, c1... with each
        record's place (ord 1: the record after the header row). Returns the rows read, or None when
        COPY cannot read the file as the Python reader does (not UTF-8, a row of another width, a
        backslash-period that COPY could take for the end of the data, a stream that cannot seek):
        the caller then reads it in Python, which names what is wrong. The stream is left where it was."""
        if source.encoding != "utf-8-sig" or len(source.delimiter) != 1:
            return None
        stream = source.stream
        try:
            here = stream.tell()
            stream.seek(0)
        except (AttributeError, OSError, ValueError):
            return None
        columns = ", ".join(f"c{i}" for i in range(width))
        self.execute(f"DROP TABLE IF EXISTS {RAW_LOANS}")
        self.execute(
            f"CREATE TEMPORARY TABLE {RAW_LOANS} (ord bigint GENERATED ALWAYS AS IDENTITY, "
            f"{', '.join(f'c{i} text' for i in range(width))})"
        )
        options = f"FORMAT csv, HEADER true, ENCODING 'UTF8', DELIMITER {_sql_text(source.delimiter)}"
        try:
            with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
                with cursor.copy(f"COPY {RAW_LOANS} ({columns}) FROM STDIN ({options})") as copy:
                    carry = b""
                    while chunk := stream.read(1 << 20):
                        if b"\\." in carry + chunk[:1] or b"\\." in chunk:
                            raise _NotForCopy
                        carry = chunk[-1:]
                        copy.write(chunk)
                # The rows COPY read, from its command tag (a count(*) of the table read it again).
                read = cursor.rowcount
        except (_NotForCopy, DatabaseError, psycopg.Error):
            return None
        finally:
            stream.seek(here)
        return read if read >= 0 else self.count(RAW_LOANS)

    def stage_unchanged_loans(self, probe: UnchangedProbe) -> int:
        """Stage, as unchanged, the rows of RAW_LOANS the book holds as they are (LoanChecker._unchanged
        in SQL: the loan number and the digest of the cells as the import that wrote the loan, the same
        branch and officer as the full check would find, nothing the as-of date's checks would say).
        The borrower columns are the loan's borrower's: a trigger forgets the digests of a borrower's
        loans when his name, kind or ID number changes. Returns how many."""
        self._cell_map(RAW_BRANCHES, probe.branch_at, lambda cell: (True, probe.branch_of(cell)))
        joins = f"JOIN {RAW_BRANCHES} bm ON bm.cell = COALESCE(r.c{probe.branch_at}, '') AND bm.id = l.branch_id"
        officer = "NULL"
        if probe.officer_at is not None:
            self._cell_map(RAW_OFFICERS, probe.officer_at, probe.officer_of)
            joins += (
                f" JOIN {RAW_OFFICERS} om ON om.cell = COALESCE(r.c{probe.officer_at}, '')"
                " AND om.id IS NOT DISTINCT FROM l.responsible_officer_id"
            )
            officer = "l.responsible_officer_id"
        overdue = "l.overdue_since" if probe.overdue_in_file else "NULL::date"
        conditions = [f"({overdue} IS NULL OR {overdue} <= %(as_of)s)"]
        if probe.warn_past_maturity:
            conditions.append(f"NOT (l.maturity_on < %(as_of)s AND l.outstanding_principal > 0 AND {overdue} IS NULL)")
        kind = "b.kind" if probe.kind_in_file else "%(kind)s"
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            # Every row of the file meets a loan: hash joins, not a probe of each index per row (the
            # planner, which cannot guess how many digests match, would pick those). For this
            # statement only: inside a caller's transaction SET LOCAL would outlive it.
            cursor.execute("SELECT current_setting('enable_nestloop')")
            (nestloop,) = cursor.fetchone()
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(
                f"""
                INSERT INTO {LOANS} (row_no, loan_no, borrower_name, borrower_id_no, borrower_kind, branch_id,
                                     officer_id, import_digest, unchanged)
                SELECT r.ord + 1, l.loan_no, b.name, b.id_no, {kind}, l.branch_id, {officer}, l.import_digest, true
                  -- OFFSET 0: each row's digest is computed once (a hash join on it would compute it
                  -- for the hash and again for the match).
                  FROM (SELECT r.*, {probe.digest_sql} AS digest FROM {RAW_LOANS} r OFFSET 0) r
                  JOIN loans_loan l ON l.loan_no = btrim(r.c{probe.loan_at}, ' ') AND l.import_digest = r.digest
                  JOIN loans_borrower b ON b.id = l.borrower_id
                  {joins}
                 WHERE {" AND ".join(conditions)}
                """,
                {"as_of": probe.as_of, "kind": probe.kind_default, **probe.digest_params},
            )
            staged = cursor.rowcount
            cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [nestloop])
            return staged

    def _cell_map(self, table: str, at: int, read: Any) -> None:
        """The distinct cells of column `at` of RAW_LOANS with the id the full check reads in each
        (only those it accepts)."""
        self.execute(f"DROP TABLE IF EXISTS {table}")
        self.execute(f"CREATE TEMPORARY TABLE {table} (cell text PRIMARY KEY, id bigint)")
        cells = [cell for (cell,) in self.rows(f"SELECT DISTINCT COALESCE(c{at}, '') FROM {RAW_LOANS}")]
        rows = [(cell, found) for cell in cells for ok, found in [read(cell)] if ok]
        if rows:
            with self.connection.cursor() as cursor, cursor.copy(f"COPY {table} (cell, id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def raw_loans_left(self, width: int) -> Iterator[tuple[int, list[str]]]:
        """The rows of RAW_LOANS not staged, in file order, as the CSV reader gives them: (row number,
        cells, empty text for an empty cell), blank rows left out. A cursor on the server hands them
        over a chunk at a time (constant memory whatever the file's size)."""
        cells = ", ".join(f"COALESCE(c{i}, '')" for i in range(width))
        self.connection.ensure_connection()
        with self.connection.connection.cursor(name="npl_raw_loans_left", withhold=True) as cursor:
            cursor.itersize = 5000
            cursor.execute(
                f"""
                SELECT r.ord + 1, {cells} FROM {RAW_LOANS} r
                 WHERE NOT EXISTS (SELECT 1 FROM {LOANS} s WHERE s.row_no = r.ord + 1)
                 ORDER BY r.ord
                """
            )
            for row_no, *row in cursor:
                if not is_blank_row(row):
                    yield row_no, row

    def imported_loans(self, loan_nos: list[str | None], digests: list[int], as_of: date) -> dict[tuple, tuple]:
        """The loans written from rows with these digests (and not changed since): (loan number,
        digest) -> (branch id, responsible officer id, overdue since, matured with a balance on as_of).
        Two text parameters: psycopg dumps a list of 5,000 values element by element."""
        pairs = [(n, d) for n, d in zip(loan_nos, digests, strict=True) if n and _SEP not in n]
        if not pairs:
            return {}
        return {
            (loan_no, digest): rest
            for loan_no, digest, *rest in self.rows(
                f"""
                SELECT l.loan_no, l.import_digest, l.branch_id, l.responsible_officer_id, l.overdue_since,
                       l.maturity_on < %s AND l.outstanding_principal > 0
                  FROM unnest(string_to_array(%s, E'{_SEP_SQL}'), string_to_array(%s, ',')::bigint[])
                       AS f(loan_no, digest)
                  -- LATERAL: one probe of the loan-number index per row (a hash join would read the
                  -- whole loans table for each chunk of the file).
                 CROSS JOIN LATERAL (
                       SELECT * FROM loans_loan x WHERE x.loan_no = f.loan_no AND x.import_digest = f.digest LIMIT 1
                 ) l
                """,
                [as_of, _SEP.join(n for n, _ in pairs), ",".join(str(d) for _, d in pairs)],
            )
        }


_SEP, _SEP_SQL = "\x1f", "\\x1f"


def _read_in_full(table: str) -> str:
    """SQL condition on a staged row: not staged unchanged (always true outside the loans sheet). Rows
    staged unchanged carry the borrower as the book has him (see stage_unchanged_loans and the trigger
    that forgets a borrower's digests), so they agree with each other and with the book."""
    return "NOT unchanged" if table == LOANS else "true"


def _not_only_unchanged(table: str, key: str) -> str:
    """SQL (AND ...) that leaves out the people of the loans sheet named only in rows staged as
    unchanged (_read_in_full)."""
    if table != LOANS:
        return ""
    column = key.rsplit(".", 1)[-1]
    return f"AND {key} IN (SELECT {column} FROM {LOANS} WHERE {_read_in_full(table)})"


class _NotForCopy(Exception):
    """The file holds what COPY reads otherwise than the CSV reader."""


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PortableStage(Stage):
    """Plain SQL (SQLite, and any database with INSERT ... ON CONFLICT and UPDATE ... FROM):
    executemany into the staging tables; each loan's outcome recorded first, then updated and
    inserted."""

    TYPES = {"int": "integer", "bigint": "bigint", "money": "decimal", "date": "date", "bool": "bool"}

    # Null-safe "differs" (NULL and NULL are the same). SQLite spells it IS NOT (IS DISTINCT FROM
    # only from SQLite 3.39); PostgreSQL has no IS NOT between values.
    _DIFFERS = {"sqlite": "IS NOT"}

    def __init__(self, connection=None) -> None:
        super().__init__(connection)
        self.differs = self._DIFFERS.get(self.connection.vendor, "IS DISTINCT FROM")

    def _columns(self, columns: Sequence[tuple[str, str]]) -> str:
        cols = super()._columns(columns)
        if columns[0][0] in ("row_no", "class_key"):
            # The row number is SQLite's rowid, so lookups by row are cheap.
            first, rest = columns[0][0], cols.split(", ", 1)[1]
            cols = f"{first} integer PRIMARY KEY, {rest}"
        return cols

    def write(self, table: str, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        names = [name for name, _ in TABLES[table]]
        self.connection.ensure_connection()
        marks = ", ".join(["%s"] * len(names))
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", [_portable_row(r) for r in rows]
            )

    def changed(self, pairs: Iterable[tuple[str, str]]) -> str:
        return "(" + " OR ".join(f"{a} {self.differs} {b}" for a, b in pairs) + ")"

    def _merge_loan_rows(self, batch_id: int, present: set[str], params: dict) -> tuple[Counts, list[int], list[int]]:
        counts = self.record_loan_outcomes(batch_id, present)
        of_outcome = (
            f"SELECT {_key_col()} FROM loans_importrow WHERE batch_id = %(batch)s AND sheet = 'loans' AND outcome = "
        )
        updated_ids = [
            r[0]
            for r in self.rows(
                f"SELECT l.id FROM loans_loan l WHERE l.loan_no IN ({of_outcome}'updated') ORDER BY l.id", params
            )
        ]
        self.execute(
            f"""
            UPDATE loans_loan AS l SET {self._update_sets(present, "")}
              FROM {LOANS} s JOIN loans_borrower b ON b.id_no = s.borrower_id_no
             WHERE s.loan_no = l.loan_no AND l.loan_no IN ({of_outcome}'updated')
            """,
            params,
        )
        insert_cols = ", ".join(c for c, _ in self._INSERT_COLUMNS)
        insert_vals = ", ".join(e for _, e in self._INSERT_COLUMNS)
        self.execute(
            f"""
            INSERT INTO loans_loan ({insert_cols})
            SELECT {insert_vals}
              FROM {LOANS} s
              JOIN loans_borrower b ON b.id_no = s.borrower_id_no
              JOIN {CLASSES} c ON c.class_key = s.class_key
             WHERE s.loan_no IN ({of_outcome}'created')
            """,
            params,
        )
        for scheme in ("five", "four"):
            self.execute(
                f"""
                INSERT INTO loans_classificationchange
                    (loan_id, scheme, from_class, to_class, source, rule, reason, actor_id, as_of, created_at)
                SELECT l.id, '{scheme}_level', '', c.{scheme}_level_class, 'rule', c.{scheme}_level_rule,
                       c.{scheme}_level_reason, %(actor)s, %(as_of)s, %(now)s
                  FROM {LOANS} s
                  JOIN loans_loan l ON l.loan_no = s.loan_no
                  JOIN {CLASSES} c ON c.class_key = s.class_key
                 WHERE s.loan_no IN ({of_outcome}'created') AND c.{scheme}_level_class <> 'normal'
                """,
                params,
            )
        npl = ", ".join(f"'{c}'" for c in NON_PERFORMING)
        new_npl_ids = [
            r[0]
            for r in self.rows(
                f"SELECT l.id FROM loans_loan l WHERE l.loan_no IN ({of_outcome}'created') "
                f"AND (l.five_level_class IN ({npl}) OR l.four_level_class <> 'normal') ORDER BY l.id",
                params,
            )
        ]
        return counts, updated_ids, new_npl_ids


def stage_for(connection=None) -> Stage:
    """The stage for a database, chosen once per import."""
    connection = connection or default_connection
    return PostgresStage(connection) if connection.vendor == "postgresql" else PortableStage(connection)


def _key_col() -> str:
    # "key" is a reserved word in some dialects; quote it.
    return '"key"'


def _portable_row(row: tuple) -> tuple:
    # Amounts and dates as text: SQLite stores them so (its driver has no Decimal), PostgreSQL casts them.
    return tuple(str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, date) else v for v in row)
