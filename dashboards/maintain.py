"""Keeping the kept cells right: compaction, and the comparison with their definition.

The cells are made current by database triggers (dashboards/triggers.py, installed by migration
0002_i13_kept_triggers): every change adds signed delta rows. Here:

- `compact()` folds each cell's rows into one and drops the cells whose figures are all zero
  (Celery beat every 5 minutes, `manage.py dashboard_figures --compact`). On PostgreSQL one
  statement per table (`WITH moved AS (DELETE ... RETURNING *) INSERT ... SELECT SUM(...) GROUP BY`):
  it never waits for a writer and no writer waits for it (writers only insert); two compactions at
  once are one at a time (an advisory lock; the second skips).
- `differences()` compares the kept sums with `dashboards.kept.rebuild`'s definition, table by
  table, in one snapshot (the daily check `kept_figures`, `dashboard_figures --check`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from dashboards import kept
from dashboards.models import (
    OFFICER_ROLL_OF,
    ROLL_OF,
    ROLLED_FROM,
    BookCell,
    CaseCell,
    CostCell,
    LedgerCell,
    LimitationCell,
)
from dashboards.triggers import ALL_TABLES, DIMS

CELL_MODELS: tuple[type[Model], ...] = (BookCell, LedgerCell, CaseCell, CostCell, LimitationCell)
# The cells, then their branch roll-ups (compacted after them: on SQLite folding the cells adds
# roll-up rows that cancel out).
MODELS: tuple[type[Model], ...] = (
    *CELL_MODELS,
    *(ROLL_OF[m] for m in CELL_MODELS),
    *(OFFICER_ROLL_OF[m] for m in CELL_MODELS if m in OFFICER_ROLL_OF),
)
CELL_OF = ROLLED_FROM
# How many differing cells a check's record names (the rest are counted).
NAMED = 10


def _cell(model: type[Model]):
    return ALL_TABLES[model._meta.db_table]


# --- compaction ------------------------------------------------------------------------------------------


def _compact_pg(model: type[Model]) -> tuple[int, int]:
    cell = _cell(model)
    t = model._meta.db_table
    group = ", ".join(cell.group)
    zero = " AND ".join(f"SUM({m}) = 0" for m in cell.measures)
    match = " AND ".join(
        f"t.{c} IS NOT DISTINCT FROM g.{c}" if c == "officer_id" else f"t.{c} = g.{c}" for c in cell.group
    )
    sums = ", ".join(f"SUM({m})" for m in cell.measures)
    sql = f"""
        WITH g AS (
            SELECT {group} FROM {t} GROUP BY {group} HAVING count(*) > 1 OR ({zero})
        ), moved AS (
            DELETE FROM {t} t USING g WHERE {match} RETURNING t.*
        ), folded AS (
            INSERT INTO {t} ({", ".join(cell.columns)})
            SELECT {group}, {sums} FROM moved GROUP BY {group} HAVING NOT ({zero})
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM folded)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        moved, folded = cursor.fetchone()
    return moved, folded


def _compact_portable(model: type[Model]) -> tuple[int, int]:
    cell = _cell(model)
    t = model._meta.db_table
    group = ", ".join(cell.group)

    def total(m: str) -> str:
        return f"ROUND(SUM({m}), 2)" if m in cell.money else f"SUM({m})"

    zero = " AND ".join(f"{total(m)} = 0" for m in cell.measures)
    sums = ", ".join(f"{total(m)} AS {m}" for m in cell.measures)
    match = " AND ".join(f"{t}.{c} IS g.{c}" for c in cell.group)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS temp.kept_fold")
        cursor.execute(
            f"CREATE TEMP TABLE kept_fold AS SELECT {group}, {sums}, ({zero}) AS all_zero FROM {t} "
            f"GROUP BY {group} HAVING count(*) > 1 OR ({zero})"
        )
        cursor.execute(f"DELETE FROM {t} WHERE EXISTS (SELECT 1 FROM temp.kept_fold g WHERE {match})")
        moved = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {t} ({', '.join(cell.columns)}) SELECT {', '.join(cell.columns)} "
            f"FROM temp.kept_fold WHERE NOT all_zero"
        )
        folded = cursor.rowcount
        cursor.execute("DROP TABLE temp.kept_fold")
    return moved, folded


def compact() -> dict[str, dict[str, int]]:
    """Fold every cell's delta rows into one row; drop the cells whose figures are all zero.
    Returns, per table, the rows taken (`moved`) and the rows written back (`folded`); {} when
    another compaction is running (PostgreSQL)."""
    out: dict[str, dict[str, int]] = {}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [kept.MAINTENANCE_LOCK])
                if not cursor.fetchone()[0]:
                    return {}
        # Folding cells changes no sum: their roll-ups' triggers stay quiet meanwhile (PostgreSQL).
        with kept.quiet_rolls():
            for model in CELL_MODELS:
                out[model._meta.model_name] = _compact_one(model)
        for model in MODELS[len(CELL_MODELS) :]:
            out[model._meta.model_name] = _compact_one(model)
    return out


def _compact_one(model: type[Model]) -> dict[str, int]:
    if connection.vendor == "postgresql":
        moved, folded = _compact_pg(model)
    else:
        moved, folded = _compact_portable(model)
    return {"moved": moved, "folded": folded}


# --- comparison with the definition ----------------------------------------------------------------------


def _fields(model: type[Model]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The cell's key fields (attribute names) and its figures."""
    cell = _cell(model)
    return cell.group, cell.measures


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class Difference:
    table: str
    cell: dict[str, Any]
    kept: dict[str, Any]
    rebuilt: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "cell": {k: _plain(v) for k, v in self.cell.items()},
            "kept": {k: _plain(v) for k, v in self.kept.items()},
            "rebuilt": {k: _plain(v) for k, v in self.rebuilt.items()},
        }


@dataclass
class Comparison:
    cells: dict[str, int] = field(default_factory=dict)  # cells per table by the definition
    differences: list[Difference] = field(default_factory=list)

    @property
    def per_table(self) -> dict[str, int]:
        out = {model._meta.model_name: 0 for model in MODELS}
        for d in self.differences:
            out[d.table] += 1
        return out


def _normal(value: Any) -> Any:
    # SQLite hands a grouped boolean back as 0/1 on one side and True/False on the other.
    if isinstance(value, bool):
        return int(value)
    return value


CENT = Decimal("0.01")


def _compare(model: type[Model], definition: list[Model]) -> tuple[int, list[Difference]]:
    """`model`'s kept sums per cell against `definition` (its rebuilt rows)."""
    attrs, measures = _fields(model)
    money = _cell(model).money

    def figures(values) -> tuple:
        # Money to the cent (SQLite sums decimals as floating point).
        return tuple(
            Decimal(v or 0).quantize(CENT) if m in money else (v or 0) for m, v in zip(measures, values, strict=True)
        )

    rebuilt: dict[tuple, tuple] = {}
    for row in definition:
        key = tuple(_normal(getattr(row, a)) for a in attrs)
        values = figures(getattr(row, m) for m in measures)
        old = rebuilt.get(key)
        rebuilt[key] = values if old is None else tuple(a + b for a, b in zip(old, values, strict=True))
    stored: dict[tuple, tuple] = {}
    for r in kept.summed(model.objects.all(), *attrs, **{f"sum_{m}": m for m in measures}):
        stored[tuple(_normal(r[a]) for a in attrs)] = figures(r[f"sum_{m}"] for m in measures)
    zero = figures(0 for _ in measures)
    out = []
    for key in sorted(set(rebuilt) | set(stored), key=repr):
        a, b = stored.get(key, zero), rebuilt.get(key, zero)
        if a != b:
            out.append(
                Difference(
                    model._meta.model_name,
                    dict(zip(attrs, key, strict=True)),
                    dict(zip(measures, a, strict=True)),
                    dict(zip(measures, b, strict=True)),
                )
            )
    return len(rebuilt), out


def differences() -> Comparison:
    """The kept sums compared with the definition (rebuild), per table, in one snapshot."""
    result = Comparison()
    with kept.one_snapshot():
        built: dict[type[Model], list[Model]] = {}
        for model in MODELS:
            if model in CELL_OF:  # a roll-up: its cells' definition, summed per branch (and officer)
                built[model] = kept.rolled(CELL_OF[model], built[CELL_OF[model]], model)
            else:
                built[model] = kept.REBUILDERS[model]()
            n, diffs = _compare(model, built[model])
            result.cells[model._meta.model_name] = n
            result.differences.extend(diffs)
    return result


def check_and_repair() -> tuple[Comparison, bool]:
    """Compare; when anything differs, rebuild (in the same snapshot: nothing a writer commits
    meanwhile is lost). Returns the comparison and whether it rebuilt."""
    with kept.one_snapshot():
        comparison = differences()
        if comparison.differences:
            kept.rebuild()
    return comparison, bool(comparison.differences)


__all__ = ["DIMS", "MODELS", "Comparison", "Difference", "check_and_repair", "compact", "differences"]
