"""What became of each row of an import: created and updated rows one record each (ImportRow),
unchanged rows as runs of consecutive rows with their keys (ImportRowRun).

A daily import of a book that barely moves leaves most rows unchanged; a record per row added the
whole book to the table every day (365 million records a year for a million loans), and writing and
counting them was about 0.25 s of a 100,000-row unchanged re-import (the runs cost about 0.1 s). A
run holds at most RUN_ROWS rows.

The staging cuts the runs in SQL on PostgreSQL (`runs_sql`, in PostgresStage) and with `runs_of`
elsewhere; the import page, the admin's preview and the tests read rows through `BatchRows`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection, connections
from django.utils.functional import cached_property

from loans.models import ImportBatch, ImportRow

# Rows per run at most: the keys of a run are shown together on the import page.
RUN_ROWS = 500


def runs_of(rows: Iterable[tuple[int, str]], *, size: int | None = None) -> Iterator[tuple[int, int, list[str]]]:
    """(first row, last row, keys) of each run of consecutive row numbers in `rows` ((row number,
    key) in row order), cut at every gap and in blocks of `size` (RUN_ROWS) row numbers: rows 1 to
    500, 501 to 1,000... The SQL on PostgreSQL (runs_sql) cuts the same runs."""
    size = size or RUN_ROWS
    first = last = None
    keys: list[str] = []
    for row_no, key in rows:
        if first is not None and (row_no != last + 1 or (row_no - 1) // size != (first - 1) // size):
            yield first, last, keys
            first, keys = None, []
        if first is None:
            first = row_no
        last = row_no
        keys.append(key)
    if first is not None:
        yield first, last, keys


def runs_sql(*, source: str, batch: str, sheet: str) -> str:
    """INSERT of the runs of `source` (a query of unchanged rows with columns row_no, key): the same
    runs as runs_of, cut by row number in blocks of RUN_ROWS and at every gap (PostgreSQL)."""
    return f"""
        INSERT INTO loans_importrowrun (batch_id, sheet, first_row_no, last_row_no, keys)
        SELECT {batch}, {sheet}, min(row_no), max(row_no), json_agg("key" ORDER BY row_no)::text
          FROM (SELECT row_no, "key", row_no - row_number() OVER (ORDER BY row_no) AS island FROM ({source}) u) x
         GROUP BY island, (row_no - 1) / {RUN_ROWS}
    """


def unchanged_in_runs(batch_id: int, sheet: str, *, using: str = "default") -> int:
    """How many rows the runs of one sheet of a batch hold."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(last_row_no - first_row_no + 1), 0) FROM loans_importrowrun "
            "WHERE batch_id = %s AND sheet = %s",
            [batch_id, sheet],
        )
        return int(cursor.fetchone()[0])


@dataclass
class OutcomeLine:
    """One line of a batch's rows: a row, or a run of unchanged rows (last_row_no > row_no)."""

    row_no: int
    last_row_no: int
    key: str
    outcome: str
    keys: list[str] = field(default_factory=list)

    @property
    def is_run(self) -> bool:
        return self.last_row_no > self.row_no

    @property
    def rows(self) -> int:
        return self.last_row_no - self.row_no + 1

    def get_outcome_display(self) -> str:
        return str(ImportRow.Outcome(self.outcome).label)

    def each_row(self) -> Iterator[tuple[int, str]]:
        """(row number, key) of every row the line stands for."""
        if not self.keys:
            yield self.row_no, self.key
            return
        yield from zip(range(self.row_no, self.last_row_no + 1), self.keys, strict=True)


class BatchRows:
    """The lines of one sheet of a batch in row order, optionally of one outcome: what Django's
    Paginator pages through (count() and slices, each slice one query)."""

    def __init__(self, batch: ImportBatch, sheet: str, outcome: str = "") -> None:
        self.batch, self.sheet = batch, sheet
        self.outcome = outcome if outcome in ImportRow.Outcome.values else ""

    def _parts(self) -> tuple[list[str], list]:
        # Rows one by one (unchanged ones too, from imports written before runs were kept), then runs.
        where = "batch_id = %s AND sheet = %s" + (" AND outcome = %s" if self.outcome else "")
        parts = [
            f'SELECT row_no, row_no AS last_row_no, "key", outcome, NULL AS keys FROM loans_importrow WHERE {where}'
        ]
        params: list = [self.batch.pk, self.sheet, *([self.outcome] if self.outcome else [])]
        if self.outcome in ("", ImportRow.Outcome.UNCHANGED):
            parts.append(
                "SELECT first_row_no, last_row_no, '', 'unchanged', keys FROM loans_importrowrun "
                "WHERE batch_id = %s AND sheet = %s"
            )
            params += [self.batch.pk, self.sheet]
        return parts, params

    @cached_property
    def _count(self) -> int:
        parts, params = self._parts()
        with connection.cursor() as cursor:
            counts = " + ".join(f"(SELECT count(*) FROM ({part}) x{i})" for i, part in enumerate(parts))
            cursor.execute(f"SELECT {counts}", params)
            return int(cursor.fetchone()[0])

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    @cached_property
    def rows_total(self) -> int:
        """The rows the lines stand for (a run counts its rows)."""
        batch = self.batch
        if self.sheet == "loans":
            counts = {"created": batch.created, "updated": batch.updated, "unchanged": batch.unchanged}
        else:
            counts = batch.counts.get(self.sheet) or {}
        if self.outcome:
            return int(counts.get(self.outcome, 0))
        return sum(int(counts.get(o, 0)) for o in ImportRow.Outcome.values)

    def __getitem__(self, index: slice | int) -> list[OutcomeLine] | OutcomeLine:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop
        parts, params = self._parts()
        query = " UNION ALL ".join(parts) + " ORDER BY 1 LIMIT %s OFFSET %s"
        params += [max(stop - start, 0) if stop is not None else 2**62, start]
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            found = cursor.fetchall()
        lines = []
        for row_no, last_row_no, key, outcome, keys in found:
            listed = json.loads(keys) if keys else []
            lines.append(OutcomeLine(row_no, last_row_no, listed[0] if listed else key, outcome, listed))
        return lines

    def __iter__(self) -> Iterator[OutcomeLine]:
        return iter(self[0:None])

    def each_row(self, limit: int | None = None) -> list[tuple[int, str, str]]:
        """(row number, key, outcome) of every row, runs taken apart, at most `limit`: one query (a
        line stands for one row at least, so `limit` lines are enough)."""
        out = [(row_no, key, line.outcome) for line in self[0:limit] for row_no, key in line.each_row()]
        return out if limit is None else out[:limit]
