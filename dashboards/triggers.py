"""The database triggers that keep the kept cells (dashboards.models) current, as SQL text.

Only triggers see every write: the importer, the daily reclassification and the case opener write
set-based SQL that no Django signal sees. Each trigger *adds* signed delta rows to the cell tables,
grouped by the cell's dimensions (never updates a shared row, so two writers never wait on each
other); `dashboards.maintain.compact` folds them. The definitions follow `dashboards.kept.rebuild`,
the reference (the daily check `kept_figures` compares the two):

- book: one loan = one count, its balances, under (branch, responsible officer, product, borrower
  kind, five-level class, four-level class);
- ledger: one entry under its loan's dimensions, the month of its value date (of the day it was
  recorded when its backdating was refused), kind, form, counts_as_recovery, counting (not while
  awaiting approval), after_write_off (value date on or after the loan's write-off);
- cases: one case under its loan's dimensions, measure, open or not;
- costs: bank-borne costs by the month incurred, cost repayments by the month repaid;
- claims (migration 0004_dash_money_rollup, triggers of their own): one open case with a limitation
  end under its loan's dimensions and the month the period ends, with the loan's outstanding
  principal (a payment on the loan moves it).

Each of these cell tables has a branch roll-up (the same keys and figures per branch only: what a
whole-bank or branch-subtree dashboard reads), kept by statement triggers on the cell table itself:
every delta row a cell table takes is added to its roll-up, summed per branch. A compaction or a
rebuild of the cells sets `dashboards.kept_quiet` (SET LOCAL) so those triggers add nothing
meanwhile (folding changes no sum; the rebuild writes the roll-ups itself).

The ledger's and the costs' cells also have an officer roll-up (per branch and responsible officer,
without the product and the borrower kind: what the officer league reads by month), kept the same
way by triggers of their own (`officer_roll_install_sql`, `officer_roll_fill_sql`: migration
0006_officer_rollups).

Figures follow the loan: when a loan's branch, officer, product, borrower (or the borrower's kind)
or write-off date changes, its ledger, case and cost figures move (minus under the old dimensions,
plus under the new). An UPDATE that changes none of the columns a figure reads adds nothing.

PostgreSQL: AFTER ... FOR EACH STATEMENT triggers with transition tables (one trigger per event: a
transition table needs a single-event trigger). SQLite (the demo): FOR EACH ROW triggers doing the
same per row. `install_sql(vendor)` / `uninstall_sql(vendor)` are what migration
0002_i13_kept_triggers runs; `fill_sql(vendor)` recomputes every cell from the sources in SQL (the
migration's first fill of an existing database). A change here needs a new migration that runs
them again (every statement replaces what it installs). The claims' cells and the roll-ups:
`roll_install_sql`, `later_fill_sql`, `roll_fill_sql`, run by migration 0004_dash_money_rollup
(migration 0002's statements stay as they were).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BOOK = "dashboards_bookcell"
LEDGER = "dashboards_ledgercell"
CASES = "dashboards_casecell"
COSTS = "dashboards_costcell"
LIMITS = "dashboards_limitationcell"

DIMS = ("branch_id", "officer_id", "product", "borrower_kind")


@dataclass(frozen=True)
class CellTable:
    table: str
    keys: tuple[str, ...]  # after the dimensions
    measures: tuple[str, ...]
    money: tuple[str, ...]  # the measures that are money
    dims: tuple[str, ...] = DIMS  # a branch roll-up: ("branch_id",)

    @property
    def group(self) -> tuple[str, ...]:
        return self.dims + self.keys

    @property
    def columns(self) -> tuple[str, ...]:
        return self.group + self.measures


CELL_TABLES = {
    BOOK: CellTable(
        BOOK,
        ("five_level_class", "four_level_class"),
        (
            "loans",
            "outstanding_principal",
            "interest_on_balance",
            "interest_off_balance",
            "specific_provision",
            "written_off_loans",
        ),
        ("outstanding_principal", "interest_on_balance", "interest_off_balance", "specific_provision"),
    ),
    LEDGER: CellTable(
        LEDGER,
        ("month", "kind", "form", "counts_as_recovery", "counting", "after_write_off"),
        ("entries", "amount", "principal", "interest_on_balance", "interest_off_balance"),
        ("amount", "principal", "interest_on_balance", "interest_off_balance"),
    ),
    CASES: CellTable(CASES, ("measure", "is_open"), ("cases",), ()),
    COSTS: CellTable(COSTS, ("month", "kind"), ("amount",), ("amount",)),
}

# Added by migration 0004_dash_money_rollup, with triggers of their own (install_sql and fill_sql
# stay what migration 0002 ran): open claims by the month their limitation period ends, with their
# loans' outstanding principal.
LATER_TABLES = {LIMITS: CellTable(LIMITS, ("grain", "ends_on"), ("cases", "principal"), ("principal",))}
KEPT_TABLES = {**CELL_TABLES, **LATER_TABLES}

# Each cell table's branch roll-up (dashboards.models._Roll): the same keys and figures per branch.
ROLL_DIMS = ("branch_id",)
ROLL_TABLES = {
    table: CellTable(table.replace("cell", "roll"), cell.keys, cell.measures, cell.money, ROLL_DIMS)
    for table, cell in KEPT_TABLES.items()
}
# The ledger's and the costs' officer roll-ups (dashboards.models._OfficerRoll, migration
# 0006_officer_rollups): the same keys and figures per branch and responsible officer, what the officer
# league reads by month. Kept by triggers of their own on the cell tables (officer_roll_install_sql).
OFFICER_ROLL_DIMS = ("branch_id", "officer_id")
OFFICER_ROLL_TABLES = {
    table: CellTable(table.replace("cell", "officerroll"), cell.keys, cell.measures, cell.money, OFFICER_ROLL_DIMS)
    for table, cell in CELL_TABLES.items()
    if table in (LEDGER, COSTS)
}
# Every kept table, the cells and their roll-ups.
ALL_TABLES = {
    **KEPT_TABLES,
    **{roll.table: roll for roll in ROLL_TABLES.values()},
    **{roll.table: roll for roll in OFFICER_ROLL_TABLES.values()},
}
# While set (SET LOCAL), the roll-up triggers add nothing: a compaction or a rebuild of the cells,
# which changes no sum, or which writes the roll-ups itself.
QUIET_SETTING = "dashboards.kept_quiet"

# The source columns each figure reads (the SQLite triggers spell OLD/NEW rows out of them; an
# UPDATE is seen only when one of them changed).
LOAN_COLUMNS = (
    "id",
    "borrower_id",
    "branch_id",
    "responsible_officer_id",
    "product",
    "five_level_class",
    "four_level_class",
    "outstanding_principal",
    "interest_on_balance",
    "interest_off_balance",
    "specific_provision",
    "written_off_on",
)
# A change of these moves the loan's ledger, case and cost figures.
LOAN_MOVES = ("borrower_id", "branch_id", "responsible_officer_id", "product", "written_off_on")
LEDGER_COLUMNS = (
    "id",
    "loan_id",
    "kind",
    "form",
    "counts_as_recovery",
    "approval",
    "value_date",
    "recorded_on",
    "amount",
    "principal",
    "interest_on_balance",
    "interest_off_balance",
)
CASE_COLUMNS = ("id", "loan_id", "measure", "is_open", "limitation_expires_on")
COST_COLUMNS = ("id", "case_id", "borne_by", "amount", "incurred_on")
REPAYMENT_COLUMNS = ("id", "cost_id", "amount", "repaid_on")
BORROWER_COLUMNS = ("id", "kind")

LOANS_T = "loans_loan"
BORROWERS_T = "loans_borrower"
LEDGER_T = "ledger_ledgerentry"
CASES_T = "collections_app_collectioncase"
COSTS_T = "collections_app_casecost"
REPAYMENTS_T = "collections_app_costrepayment"


class _Sql:
    """What differs between PostgreSQL and SQLite."""

    def __init__(self, vendor: str) -> None:
        if vendor not in ("postgresql", "sqlite"):
            raise ValueError(f"No kept-cell triggers for {vendor!r}")
        self.pg = vendor == "postgresql"

    def month(self, expr: str) -> str:
        return f"date_trunc('month', {expr})::date" if self.pg else f"date({expr}, 'start of month')"

    def total(self, column: str, money: bool) -> str:
        # SQLite keeps decimals as floating point: sums are rounded back to cents.
        return f"ROUND(SUM({column}), 2)" if money and not self.pg else f"SUM({column})"


def _signed(sign: str, expr: str) -> str:
    return f"({expr})" if sign == "+" else f"-({expr})"


def _dims() -> str:
    return (
        "l.branch_id AS branch_id, l.responsible_officer_id AS officer_id, l.product AS product, "
        "b.kind AS borrower_kind"
    )


# --- what one source row contributes (a SELECT of the cell table's columns) ----------------------------


def book_part(sql: _Sql, sign: str, loans: str = LOANS_T, borrowers: str = BORROWERS_T) -> str:
    s = lambda e: _signed(sign, e)  # noqa: E731
    return (
        f"SELECT {_dims()}, l.five_level_class AS five_level_class, l.four_level_class AS four_level_class, "
        f"{s('1')} AS loans, {s('l.outstanding_principal')} AS outstanding_principal, "
        f"{s('l.interest_on_balance')} AS interest_on_balance, "
        f"{s('l.interest_off_balance')} AS interest_off_balance, "
        f"{s('l.specific_provision')} AS specific_provision, "
        f"{s('CASE WHEN l.written_off_on IS NULL THEN 0 ELSE 1 END')} AS written_off_loans "
        f"FROM {loans} l JOIN {borrowers} b ON b.id = l.borrower_id"
    )


def ledger_part(
    sql: _Sql, sign: str, entries: str = LEDGER_T, loans: str = LOANS_T, borrowers: str = BORROWERS_T
) -> str:
    s = lambda e: _signed(sign, e)  # noqa: E731
    month = sql.month("CASE WHEN e.approval = 'refused' THEN e.recorded_on ELSE e.value_date END")
    return (
        f"SELECT {_dims()}, {month} AS month, e.kind AS kind, e.form AS form, "
        f"e.counts_as_recovery AS counts_as_recovery, (e.approval <> 'awaiting') AS counting, "
        f"(l.written_off_on IS NOT NULL AND e.value_date >= l.written_off_on) AS after_write_off, "
        f"{s('1')} AS entries, {s('e.amount')} AS amount, {s('e.principal')} AS principal, "
        f"{s('e.interest_on_balance')} AS interest_on_balance, "
        f"{s('e.interest_off_balance')} AS interest_off_balance "
        f"FROM {entries} e JOIN {loans} l ON l.id = e.loan_id JOIN {borrowers} b ON b.id = l.borrower_id"
    )


def case_part(sql: _Sql, sign: str, cases: str = CASES_T, loans: str = LOANS_T, borrowers: str = BORROWERS_T) -> str:
    return (
        f"SELECT {_dims()}, c.measure AS measure, c.is_open AS is_open, {_signed(sign, '1')} AS cases "
        f"FROM {cases} c JOIN {loans} l ON l.id = c.loan_id JOIN {borrowers} b ON b.id = l.borrower_id"
    )


def borne_part(
    sql: _Sql,
    sign: str,
    costs: str = COSTS_T,
    cases: str = CASES_T,
    loans: str = LOANS_T,
    borrowers: str = BORROWERS_T,
) -> str:
    return (
        f"SELECT {_dims()}, {sql.month('k.incurred_on')} AS month, 'borne' AS kind, "
        f"{_signed(sign, 'k.amount')} AS amount "
        f"FROM {costs} k JOIN {cases} c ON c.id = k.case_id JOIN {loans} l ON l.id = c.loan_id "
        f"JOIN {borrowers} b ON b.id = l.borrower_id WHERE k.borne_by = 'bank'"
    )


def repaid_part(
    sql: _Sql,
    sign: str,
    repayments: str = REPAYMENTS_T,
    costs: str = COSTS_T,
    cases: str = CASES_T,
    loans: str = LOANS_T,
    borrowers: str = BORROWERS_T,
) -> str:
    return (
        f"SELECT {_dims()}, {sql.month('r.repaid_on')} AS month, 'repaid' AS kind, "
        f"{_signed(sign, 'r.amount')} AS amount "
        f"FROM {repayments} r JOIN {costs} k ON k.id = r.cost_id JOIN {cases} c ON c.id = k.case_id "
        f"JOIN {loans} l ON l.id = c.loan_id JOIN {borrowers} b ON b.id = l.borrower_id"
    )


def delta(sql: _Sql, table: str, parts: list[str]) -> str:
    """One INSERT of the signed parts summed per cell; a cell whose changes cancel adds no row."""
    cell = KEPT_TABLES[table]
    group = ", ".join(cell.group)
    sums = ", ".join(sql.total(m, m in cell.money) for m in cell.measures)
    nonzero = " OR ".join(f"{sql.total(m, m in cell.money)} <> 0" for m in cell.measures)
    union = " UNION ALL ".join(parts)
    return (
        f"INSERT INTO {table} ({', '.join(cell.columns)}) SELECT {group}, {sums} "
        f"FROM ({union}) AS d GROUP BY {group} HAVING {nonzero}"
    )


def fill_sql(vendor: str) -> list[str]:
    """Every cell recomputed from the sources (the cells emptied first)."""
    sql = _Sql(vendor)
    return [
        *(f"DELETE FROM {t}" for t in CELL_TABLES),
        delta(sql, BOOK, [book_part(sql, "+")]),
        delta(sql, LEDGER, [ledger_part(sql, "+")]),
        delta(sql, CASES, [case_part(sql, "+")]),
        delta(sql, COSTS, [borne_part(sql, "+"), repaid_part(sql, "+")]),
    ]


def roll_part(sql: _Sql, cell_table: str, sign: str, rows: str, roll: CellTable | None = None) -> str:
    """A roll-up's delta of cell rows `rows` (a relation of the cell table's columns); `roll`: which
    roll-up (default: the branch roll-up)."""
    cell, roll = KEPT_TABLES[cell_table], roll or ROLL_TABLES[cell_table]
    s = lambda e: _signed(sign, e)  # noqa: E731
    return f"SELECT {', '.join(roll.group)}, " + ", ".join(f"{s(m)} AS {m}" for m in cell.measures) + f" FROM {rows}"


def roll_delta(sql: _Sql, cell_table: str, parts: list[str], roll: CellTable | None = None) -> str:
    roll = roll or ROLL_TABLES[cell_table]
    group = ", ".join(roll.group)
    sums = ", ".join(sql.total(m, m in roll.money) for m in roll.measures)
    nonzero = " OR ".join(f"{sql.total(m, m in roll.money)} <> 0" for m in roll.measures)
    return (
        f"INSERT INTO {roll.table} ({', '.join(roll.columns)}) SELECT {group}, {sums} "
        f"FROM ({' UNION ALL '.join(parts)}) AS d GROUP BY {group} HAVING {nonzero}"
    )


def roll_fill_sql(vendor: str) -> list[str]:
    """Every branch roll-up recomputed from its cell table (the roll-ups emptied first)."""
    sql = _Sql(vendor)
    out = [f"DELETE FROM {roll.table}" for roll in ROLL_TABLES.values()]
    out += [roll_delta(sql, table, [roll_part(sql, table, "+", table)]) for table in KEPT_TABLES]
    return out


def officer_roll_fill_sql(vendor: str) -> list[str]:
    """Every officer roll-up recomputed from its cell table (the roll-ups emptied first)."""
    sql = _Sql(vendor)
    out = [f"DELETE FROM {roll.table}" for roll in OFFICER_ROLL_TABLES.values()]
    out += [
        roll_delta(sql, table, [roll_part(sql, table, "+", table, roll)], roll)
        for table, roll in OFFICER_ROLL_TABLES.items()
    ]
    return out


def limitation_part(
    sql: _Sql, sign: str, cases: str = CASES_T, loans: str = LOANS_T, borrowers: str = BORROWERS_T
) -> str:
    """An open case whose limitation period ends: one claim and its loan's outstanding principal, under
    the loan's dimensions, twice: by the month the period ends and by the day."""
    return " UNION ALL ".join(
        f"SELECT {_dims()}, '{grain}' AS grain, {ends} AS ends_on, {_signed(sign, '1')} AS cases, "
        f"{_signed(sign, 'l.outstanding_principal')} AS principal "
        f"FROM {cases} c JOIN {loans} l ON l.id = c.loan_id JOIN {borrowers} b ON b.id = l.borrower_id "
        f"WHERE c.is_open AND c.limitation_expires_on IS NOT NULL"
        for grain, ends in (("month", sql.month("c.limitation_expires_on")), ("day", "c.limitation_expires_on"))
    )


def later_fill_sql(vendor: str) -> list[str]:
    """The later cell tables recomputed from the sources (emptied first)."""
    sql = _Sql(vendor)
    return [f"DELETE FROM {LIMITS}", delta(sql, LIMITS, [limitation_part(sql, "+")])]


# --- PostgreSQL: statement triggers with transition tables ---------------------------------------------


def _changed(columns: tuple[str, ...], side: str) -> str:
    """The old (side "o") or new ("n") rows of an UPDATE whose `columns` changed."""
    old = ", ".join(f"o.{c}" for c in columns)
    new = ", ".join(f"n.{c}" for c in columns)
    return (
        f"(SELECT {side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE ROW({old}) IS DISTINCT FROM ROW({new}))"
    )


def _count_changed(columns: tuple[str, ...]) -> str:
    # count(*), not EXISTS: EXISTS plans for an early match (a nested loop over the two transition
    # tables), which is quadratic when nothing changed.
    return f"SELECT count(*) FROM {_changed(columns, 'o')} AS c"


def _moves(sql: _Sql, old: dict[str, str], new: dict[str, str]) -> list[str]:
    """The ledger, case and cost figures of the rows named by `old`/`new` (relations standing in for
    the loans, borrowers, cases or costs table) moved from old to new."""
    return [
        delta(sql, LEDGER, [ledger_part(sql, "-", **old), ledger_part(sql, "+", **new)]),
        delta(sql, CASES, [case_part(sql, "-", **old), case_part(sql, "+", **new)]),
        delta(
            sql,
            COSTS,
            [
                borne_part(sql, "-", **old),
                borne_part(sql, "+", **new),
                repaid_part(sql, "-", **old),
                repaid_part(sql, "+", **new),
            ],
        ),
    ]


def _pg_bodies() -> dict[tuple[str, str], list[str]]:
    """(table, event) -> the statements of its trigger function (PostgreSQL)."""
    sql = _Sql("postgresql")
    book_changed = tuple(c for c in LOAN_COLUMNS if c != "id")
    loans_moved_old = {"loans": _changed(LOAN_MOVES, "o")}
    loans_moved_new = {"loans": _changed(LOAN_MOVES, "n")}
    kind_old = {"borrowers": _changed(("kind",), "o")}
    kind_new = {"borrowers": _changed(("kind",), "n")}
    ledger_cols = tuple(c for c in LEDGER_COLUMNS if c != "id")
    case_cols = ("loan_id", "measure", "is_open")
    cost_cols = ("case_id", "borne_by", "amount", "incurred_on")
    repayment_cols = ("cost_id", "amount", "repaid_on")

    def guarded(columns: tuple[str, ...], statements: list[str]) -> str:
        return (
            f"EXECUTE {_quote(_count_changed(columns))} INTO changed;\nIF changed > 0 THEN\n    "
            + ";\n    ".join(statements)
            + ";\nEND IF"
        )

    def minus_plus(part: Callable[..., str], source: str, columns: tuple[str, ...]) -> list[str]:
        """`part` minus the rows whose `columns` changed as they were, plus them as they are now."""
        return [part(sql, "-", **{source: _changed(columns, "o")}), part(sql, "+", **{source: _changed(columns, "n")})]

    def on_change(columns: tuple[str, ...], table: str, *parts: tuple[Callable[..., str], str]) -> str:
        """When an UPDATE changed any of `columns`: each part's cells of `table` move from old to new."""
        return guarded(columns, [delta(sql, table, [p for part, src in parts for p in minus_plus(part, src, columns)])])

    return {
        (LOANS_T, "INSERT"): [delta(sql, BOOK, [book_part(sql, "+", loans="new_rows")])],
        (LOANS_T, "DELETE"): [delta(sql, BOOK, [book_part(sql, "-", loans="old_rows")])],
        (LOANS_T, "UPDATE"): [
            on_change(book_changed, BOOK, (book_part, "loans")),
            guarded(LOAN_MOVES, _moves(sql, loans_moved_old, loans_moved_new)),
        ],
        (BORROWERS_T, "UPDATE"): [
            guarded(
                ("kind",),
                [
                    delta(sql, BOOK, [book_part(sql, "-", **kind_old), book_part(sql, "+", **kind_new)]),
                    *_moves(sql, kind_old, kind_new),
                ],
            )
        ],
        (LEDGER_T, "INSERT"): [delta(sql, LEDGER, [ledger_part(sql, "+", entries="new_rows")])],
        (LEDGER_T, "DELETE"): [delta(sql, LEDGER, [ledger_part(sql, "-", entries="old_rows")])],
        (LEDGER_T, "UPDATE"): [on_change(ledger_cols, LEDGER, (ledger_part, "entries"))],
        (CASES_T, "INSERT"): [delta(sql, CASES, [case_part(sql, "+", cases="new_rows")])],
        (CASES_T, "DELETE"): [delta(sql, CASES, [case_part(sql, "-", cases="old_rows")])],
        (CASES_T, "UPDATE"): [
            on_change(case_cols, CASES, (case_part, "cases")),
            # A case moved to another loan takes its costs with it.
            on_change(("loan_id",), COSTS, (borne_part, "cases"), (repaid_part, "cases")),
        ],
        (COSTS_T, "INSERT"): [delta(sql, COSTS, [borne_part(sql, "+", costs="new_rows")])],
        (COSTS_T, "DELETE"): [delta(sql, COSTS, [borne_part(sql, "-", costs="old_rows")])],
        (COSTS_T, "UPDATE"): [
            on_change(cost_cols, COSTS, (borne_part, "costs")),
            # A cost moved to another case takes its repayments with it.
            on_change(("case_id",), COSTS, (repaid_part, "costs")),
        ],
        (REPAYMENTS_T, "INSERT"): [delta(sql, COSTS, [repaid_part(sql, "+", repayments="new_rows")])],
        (REPAYMENTS_T, "DELETE"): [delta(sql, COSTS, [repaid_part(sql, "-", repayments="old_rows")])],
        (REPAYMENTS_T, "UPDATE"): [on_change(repayment_cols, COSTS, (repaid_part, "repayments"))],
    }


# The claims' limitation cells: what an open case's claim reads, and when it moves.
LIMITATION_CASE_COLUMNS = ("loan_id", "is_open", "limitation_expires_on")
LIMITATION_LOAN_COLUMNS = ("borrower_id", "branch_id", "responsible_officer_id", "product", "outstanding_principal")
LATER_PREFIX = "kept_later"


def _pg_later_bodies() -> dict[tuple[str, str], list[str]]:
    """(table, event) -> the statements of the later cell tables' triggers (PostgreSQL): triggers of
    their own beside migration 0002's."""
    sql = _Sql("postgresql")

    def moved(columns: tuple[str, ...], source: str) -> str:
        return (
            f"EXECUTE {_quote(_count_changed(columns))} INTO changed;\nIF changed > 0 THEN\n    "
            + delta(
                sql,
                LIMITS,
                [
                    limitation_part(sql, "-", **{source: _changed(columns, "o")}),
                    limitation_part(sql, "+", **{source: _changed(columns, "n")}),
                ],
            )
            + ";\nEND IF"
        )

    return {
        (CASES_T, "INSERT"): [delta(sql, LIMITS, [limitation_part(sql, "+", cases="new_rows")])],
        (CASES_T, "DELETE"): [delta(sql, LIMITS, [limitation_part(sql, "-", cases="old_rows")])],
        (CASES_T, "UPDATE"): [moved(LIMITATION_CASE_COLUMNS, "cases")],
        (LOANS_T, "UPDATE"): [moved(LIMITATION_LOAN_COLUMNS, "loans")],
        (BORROWERS_T, "UPDATE"): [moved(("kind",), "borrowers")],
    }


def _quote(statement: str) -> str:
    return "'" + statement.replace("'", "''") + "'"


def _executed(statements: list[str]) -> list[str]:
    """Guarded blocks (EXECUTE ... INTO; IF ... END IF) are already dynamic inside; plain statements
    are wrapped by the caller."""
    out = []
    for statement in statements:
        if statement.startswith("EXECUTE "):
            head, _, rest = statement.partition(";\nIF changed > 0 THEN\n    ")
            inner, _, tail = rest.rpartition(";\nEND IF")
            wrapped = ";\n    ".join(f"EXECUTE {_quote(x)}" for x in inner.split(";\n    "))
            out.append(f"{head};\nIF changed > 0 THEN\n    {wrapped};\nEND IF")
        else:
            out.append(statement)
    return out


def _name(table: str, event: str, prefix: str = "kept") -> str:
    return f"{prefix}_{table}_{event.lower()}"


def _pg_install(bodies: dict[tuple[str, str], list[str]] | None = None, prefix: str = "kept") -> list[str]:
    out = []
    for (table, event), statements in (_pg_bodies() if bodies is None else bodies).items():
        name = _name(table, event, prefix)
        # Every statement runs through EXECUTE, planned at each call for the transition tables'
        # real sizes (a plan cached for a one-row update would be reused for a 100,000-row one).
        body = ";\n".join(s if s.startswith("EXECUTE ") else f"EXECUTE {_quote(s)}" for s in _executed(statements))
        referencing = {
            "INSERT": "REFERENCING NEW TABLE AS new_rows",
            "DELETE": "REFERENCING OLD TABLE AS old_rows",
            "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }[event]
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $kept$\n"
            f"DECLARE changed bigint;\nBEGIN\n{body};\nRETURN NULL;\nEND\n$kept$"
        )
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        out.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    return out


def _pg_roll_triggers(
    rolls: dict[str, CellTable] | None = None, prefix: str = "kept_roll"
) -> dict[str, tuple[str, str, str]]:
    """name -> (cell table, event, the roll-up's delta statement): every row inserted into or
    deleted from a cell table is added to (taken from) its roll-up (`rolls`: the branch roll-ups by
    default), summed per the roll-up's dimensions."""
    sql = _Sql("postgresql")
    out = {}
    for table, roll in (ROLL_TABLES if rolls is None else rolls).items():
        for event, sign, rows in (("INSERT", "+", "new_rows"), ("DELETE", "-", "old_rows")):
            out[f"{prefix}_{table}_{event.lower()}"] = (
                table,
                event,
                roll_delta(sql, table, [roll_part(sql, table, sign, rows, roll)], roll),
            )
    return out


def _pg_officer_roll_triggers() -> dict[str, tuple[str, str, str]]:
    """The officer roll-ups' triggers on the ledger's and the costs' cells."""
    return _pg_roll_triggers(OFFICER_ROLL_TABLES, "kept_oroll")


def _pg_roll_install(triggers: dict[str, tuple[str, str, str]] | None = None) -> list[str]:
    out = []
    for name, (table, event, statement) in (_pg_roll_triggers() if triggers is None else triggers).items():
        referencing = "REFERENCING NEW TABLE AS new_rows" if event == "INSERT" else "REFERENCING OLD TABLE AS old_rows"
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $kept$\n"
            f"BEGIN\nIF coalesce(current_setting('{QUIET_SETTING}', true), '') = 'on' THEN\n    RETURN NULL;\nEND IF;\n"
            f"EXECUTE {_quote(statement)};\nRETURN NULL;\nEND\n$kept$"
        )
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        out.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    return out


def _pg_uninstall() -> list[str]:
    out = []
    for table, event in _pg_bodies():
        name = _name(table, event)
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        out.append(f"DROP FUNCTION IF EXISTS {name}()")
    return out


# --- SQLite: row triggers ----------------------------------------------------------------------------


def _row(side: str, columns: tuple[str, ...]) -> str:
    """The OLD or NEW row of a row trigger as a one-row relation."""
    return "(SELECT " + ", ".join(f"{side}.{c} AS {c}" for c in columns) + ")"


def _differs(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _sqlite_triggers() -> dict[str, tuple[str, str, str, list[str]]]:
    """name -> (event, table, WHEN condition or "", statements)."""
    sql = _Sql("sqlite")
    old_loan, new_loan = _row("OLD", LOAN_COLUMNS), _row("NEW", LOAN_COLUMNS)
    old_entry, new_entry = _row("OLD", LEDGER_COLUMNS), _row("NEW", LEDGER_COLUMNS)
    old_case, new_case = _row("OLD", CASE_COLUMNS), _row("NEW", CASE_COLUMNS)
    old_cost, new_cost = _row("OLD", COST_COLUMNS), _row("NEW", COST_COLUMNS)
    old_rep, new_rep = _row("OLD", REPAYMENT_COLUMNS), _row("NEW", REPAYMENT_COLUMNS)
    old_bor, new_bor = _row("OLD", BORROWER_COLUMNS), _row("NEW", BORROWER_COLUMNS)
    book_changed = tuple(c for c in LOAN_COLUMNS if c != "id")
    return {
        "kept_loan_insert": ("INSERT", LOANS_T, "", [delta(sql, BOOK, [book_part(sql, "+", loans=new_loan)])]),
        "kept_loan_delete": ("DELETE", LOANS_T, "", [delta(sql, BOOK, [book_part(sql, "-", loans=old_loan)])]),
        "kept_loan_update_book": (
            "UPDATE",
            LOANS_T,
            _differs(book_changed),
            [delta(sql, BOOK, [book_part(sql, "-", loans=old_loan), book_part(sql, "+", loans=new_loan)])],
        ),
        "kept_loan_update_moves": (
            "UPDATE",
            LOANS_T,
            _differs(LOAN_MOVES),
            _moves(sql, {"loans": old_loan}, {"loans": new_loan}),
        ),
        "kept_borrower_update": (
            "UPDATE",
            BORROWERS_T,
            _differs(("kind",)),
            [
                delta(sql, BOOK, [book_part(sql, "-", borrowers=old_bor), book_part(sql, "+", borrowers=new_bor)]),
                *_moves(sql, {"borrowers": old_bor}, {"borrowers": new_bor}),
            ],
        ),
        "kept_entry_insert": ("INSERT", LEDGER_T, "", [delta(sql, LEDGER, [ledger_part(sql, "+", entries=new_entry)])]),
        "kept_entry_delete": ("DELETE", LEDGER_T, "", [delta(sql, LEDGER, [ledger_part(sql, "-", entries=old_entry)])]),
        "kept_entry_update": (
            "UPDATE",
            LEDGER_T,
            _differs(tuple(c for c in LEDGER_COLUMNS if c != "id")),
            [delta(sql, LEDGER, [ledger_part(sql, "-", entries=old_entry), ledger_part(sql, "+", entries=new_entry)])],
        ),
        "kept_case_insert": ("INSERT", CASES_T, "", [delta(sql, CASES, [case_part(sql, "+", cases=new_case)])]),
        "kept_case_delete": ("DELETE", CASES_T, "", [delta(sql, CASES, [case_part(sql, "-", cases=old_case)])]),
        "kept_case_update": (
            "UPDATE",
            CASES_T,
            _differs(("loan_id", "measure", "is_open")),
            [delta(sql, CASES, [case_part(sql, "-", cases=old_case), case_part(sql, "+", cases=new_case)])],
        ),
        "kept_case_update_costs": (
            "UPDATE",
            CASES_T,
            _differs(("loan_id",)),
            [
                delta(
                    sql,
                    COSTS,
                    [
                        borne_part(sql, "-", cases=old_case),
                        borne_part(sql, "+", cases=new_case),
                        repaid_part(sql, "-", cases=old_case),
                        repaid_part(sql, "+", cases=new_case),
                    ],
                )
            ],
        ),
        "kept_cost_insert": ("INSERT", COSTS_T, "", [delta(sql, COSTS, [borne_part(sql, "+", costs=new_cost)])]),
        "kept_cost_delete": ("DELETE", COSTS_T, "", [delta(sql, COSTS, [borne_part(sql, "-", costs=old_cost)])]),
        "kept_cost_update": (
            "UPDATE",
            COSTS_T,
            _differs(("case_id", "borne_by", "amount", "incurred_on")),
            [delta(sql, COSTS, [borne_part(sql, "-", costs=old_cost), borne_part(sql, "+", costs=new_cost)])],
        ),
        "kept_cost_update_repayments": (
            "UPDATE",
            COSTS_T,
            _differs(("case_id",)),
            [delta(sql, COSTS, [repaid_part(sql, "-", costs=old_cost), repaid_part(sql, "+", costs=new_cost)])],
        ),
        "kept_repayment_insert": (
            "INSERT",
            REPAYMENTS_T,
            "",
            [delta(sql, COSTS, [repaid_part(sql, "+", repayments=new_rep)])],
        ),
        "kept_repayment_delete": (
            "DELETE",
            REPAYMENTS_T,
            "",
            [delta(sql, COSTS, [repaid_part(sql, "-", repayments=old_rep)])],
        ),
        "kept_repayment_update": (
            "UPDATE",
            REPAYMENTS_T,
            _differs(("cost_id", "amount", "repaid_on")),
            [
                delta(
                    sql,
                    COSTS,
                    [repaid_part(sql, "-", repayments=old_rep), repaid_part(sql, "+", repayments=new_rep)],
                )
            ],
        ),
    }


def _sqlite_later_triggers() -> dict[str, tuple[str, str, str, list[str]]]:
    """The later cell tables' row triggers (SQLite)."""
    sql = _Sql("sqlite")
    old_case, new_case = _row("OLD", CASE_COLUMNS), _row("NEW", CASE_COLUMNS)
    old_loan, new_loan = _row("OLD", LOAN_COLUMNS), _row("NEW", LOAN_COLUMNS)
    old_bor, new_bor = _row("OLD", BORROWER_COLUMNS), _row("NEW", BORROWER_COLUMNS)

    def moved(source: str, old: str, new: str) -> list[str]:
        return [
            delta(sql, LIMITS, [limitation_part(sql, "-", **{source: old}), limitation_part(sql, "+", **{source: new})])
        ]

    return {
        "kept_later_case_insert": (
            "INSERT",
            CASES_T,
            "",
            [delta(sql, LIMITS, [limitation_part(sql, "+", cases=new_case)])],
        ),
        "kept_later_case_delete": (
            "DELETE",
            CASES_T,
            "",
            [delta(sql, LIMITS, [limitation_part(sql, "-", cases=old_case)])],
        ),
        "kept_later_case_update": (
            "UPDATE",
            CASES_T,
            _differs(LIMITATION_CASE_COLUMNS),
            moved("cases", old_case, new_case),
        ),
        "kept_later_loan_update": (
            "UPDATE",
            LOANS_T,
            _differs(LIMITATION_LOAN_COLUMNS),
            moved("loans", old_loan, new_loan),
        ),
        "kept_later_borrower_update": (
            "UPDATE",
            BORROWERS_T,
            _differs(("kind",)),
            moved("borrowers", old_bor, new_bor),
        ),
    }


def _sqlite_roll_triggers(
    rolls: dict[str, CellTable] | None = None, prefix: str = "kept_roll"
) -> dict[str, tuple[str, str, str, list[str]]]:
    """The roll-up triggers of the cell tables (row triggers: each delta row added to its roll-up;
    `rolls`: the branch roll-ups by default)."""
    sql = _Sql("sqlite")
    out = {}
    for table, roll in (ROLL_TABLES if rolls is None else rolls).items():
        cell = KEPT_TABLES[table]
        for event, side, sign in (("INSERT", "NEW", "+"), ("DELETE", "OLD", "-")):
            rows = _row(side, cell.columns)
            out[f"{prefix}_{table}_{event.lower()}"] = (
                event,
                table,
                "",
                [roll_delta(sql, table, [roll_part(sql, table, sign, rows, roll)], roll)],
            )
    return out


def _sqlite_officer_roll_triggers() -> dict[str, tuple[str, str, str, list[str]]]:
    """The officer roll-ups' triggers on the ledger's and the costs' cells (row triggers)."""
    return _sqlite_roll_triggers(OFFICER_ROLL_TABLES, "kept_oroll")


def _sqlite_install(triggers: dict[str, tuple[str, str, str, list[str]]]) -> list[str]:
    out = []
    for name, (event, table, when, statements) in triggers.items():
        condition = f" WHEN {when}" if when else ""
        body = ";\n".join(statements)
        out.append(f"DROP TRIGGER IF EXISTS {name}")
        out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{condition}\nBEGIN\n{body};\nEND")
    return out


def _sqlite_uninstall() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for name in _sqlite_triggers()]


def install_sql(vendor: str) -> list[str]:
    """The cell tables' triggers (migration 0002_i13_kept_triggers; the roll-ups': roll_install_sql)."""
    return _pg_install() if vendor == "postgresql" else _sqlite_install(_sqlite_triggers())


def roll_install_sql(vendor: str) -> list[str]:
    """Migration 0004_dash_money_rollup's triggers: the later cell tables' (on the sources) and the
    branch roll-ups' (on the cell tables)."""
    _Sql(vendor)
    if vendor == "postgresql":
        return [*_pg_install(_pg_later_bodies(), LATER_PREFIX), *_pg_roll_install()]
    return _sqlite_install({**_sqlite_later_triggers(), **_sqlite_roll_triggers()})


def roll_uninstall_sql(vendor: str) -> list[str]:
    _Sql(vendor)
    if vendor == "postgresql":
        named = [(_name(t, e, LATER_PREFIX), t) for t, e in _pg_later_bodies()]
        named += [(name, table) for name, (table, _event, _statement) in _pg_roll_triggers().items()]
        return [
            s
            for name, table in named
            for s in (f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()")
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in {**_sqlite_later_triggers(), **_sqlite_roll_triggers()}]


def officer_roll_install_sql(vendor: str) -> list[str]:
    """Migration 0006_officer_rollups' triggers: the officer roll-ups' (on the ledger's and the costs' cells)."""
    _Sql(vendor)
    if vendor == "postgresql":
        return _pg_roll_install(_pg_officer_roll_triggers())
    return _sqlite_install(_sqlite_officer_roll_triggers())


def officer_roll_uninstall_sql(vendor: str) -> list[str]:
    _Sql(vendor)
    if vendor == "postgresql":
        return [
            s
            for name, (table, _event, _statement) in _pg_officer_roll_triggers().items()
            for s in (f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()")
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in _sqlite_officer_roll_triggers()]


def uninstall_sql(vendor: str) -> list[str]:
    return _pg_uninstall() if vendor == "postgresql" else _sqlite_uninstall()


def trigger_names(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            *(_name(table, event) for table, event in _pg_bodies()),
            *(_name(table, event, LATER_PREFIX) for table, event in _pg_later_bodies()),
            *_pg_roll_triggers(),
            *_pg_officer_roll_triggers(),
        ]
    return [*_sqlite_triggers(), *_sqlite_later_triggers(), *_sqlite_roll_triggers(), *_sqlite_officer_roll_triggers()]
