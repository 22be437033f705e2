"""The month-end history the trend and migration panels read: written at the month-end close.

`close_month(month, as_of)` runs inside the close's transaction (accountability.daily_checks.
month_end_snapshot, after the MonthEndClose claim, so it runs once per month):

1. every loan on the book at the month's end with its classes under both schemes (MonthEndLoan),
   one INSERT ... SELECT from the loans table (the close reads the loans anyway);
2. the months older than the kept window (25 months) purged;
3. the migration cells (MigrationCell) for (previous month end -> this month end) and (previous
   year end -> this month end), each one INSERT ... SELECT over the two months' per-loan rows,
   when the earlier month's rows exist (else no matrix: the panel says so).

The SQL is standard (FULL OUTER JOIN: PostgreSQL, SQLite 3.39+).
"""

from __future__ import annotations

from datetime import date

from django.db import connection

from dashboards.models import MigrationCell, MonthEndLoan
from dashboards.query import add_months

KEPT_MONTHS = 25
SCHEME_COLUMNS = {"five": "five_level_class", "four": "four_level_class"}


def earlier_months(month: date) -> dict[str, date]:
    """The two earlier month-ends a month is compared with: the previous month's and the previous
    year's last (December). In January both are the same month."""
    return {"month": add_months(month, -1), "year": date(month.year - 1, 12, 1)}


def close_month(*, month: date, as_of: date) -> dict[str, int]:
    """Write `month`'s per-loan classes and its migration cells (see the module's docstring)."""
    from loans.models import Borrower, Loan

    loans_table = connection.ops.quote_name(Loan._meta.db_table)
    borrowers_table = connection.ops.quote_name(Borrower._meta.db_table)
    mel = connection.ops.quote_name(MonthEndLoan._meta.db_table)
    cells = connection.ops.quote_name(MigrationCell._meta.db_table)
    out = {"loans": 0, "purged": 0, "migration_cells": 0}
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {mel} WHERE month = %s", [month])
        cursor.execute(
            f"""
            INSERT INTO {mel} (month, loan_id, branch_id, officer_id, product, borrower_kind,
                               five_level_class, four_level_class, outstanding_principal)
            SELECT %s, l.id, l.branch_id, l.responsible_officer_id, l.product, b.kind,
                   l.five_level_class, l.four_level_class, l.outstanding_principal
            FROM {loans_table} l JOIN {borrowers_table} b ON b.id = l.borrower_id
            WHERE l.disbursed_on <= %s
              AND (l.outstanding_principal > 0 OR l.interest_on_balance > 0 OR l.interest_off_balance > 0)
            """,
            [month, as_of],
        )
        out["loans"] = cursor.rowcount
        oldest = add_months(month, -(KEPT_MONTHS - 1))
        cursor.execute(f"DELETE FROM {mel} WHERE month < %s", [oldest])
        out["purged"] = cursor.rowcount
        cursor.execute(f"DELETE FROM {cells} WHERE to_month = %s OR to_month < %s", [month, oldest])
        for earlier in sorted(set(earlier_months(month).values())):
            if not MonthEndLoan.objects.filter(month=earlier).exists():
                continue
            for scheme, column in SCHEME_COLUMNS.items():
                cursor.execute(
                    f"""
                    INSERT INTO {cells} (from_month, to_month, scheme, branch_id, officer_id, product,
                                         borrower_kind, from_class, to_class, loans, balance_from, balance_to)
                    SELECT %s, %s, %s,
                           COALESCE(b.branch_id, a.branch_id),
                           CASE WHEN b.loan_id IS NULL THEN a.officer_id ELSE b.officer_id END,
                           COALESCE(b.product, a.product),
                           COALESCE(b.borrower_kind, a.borrower_kind),
                           COALESCE(a.{column}, %s), COALESCE(b.{column}, %s),
                           COUNT(*),
                           COALESCE(SUM(a.outstanding_principal), 0),
                           COALESCE(SUM(b.outstanding_principal), 0)
                    FROM (SELECT * FROM {mel} WHERE month = %s) a
                    FULL OUTER JOIN (SELECT * FROM {mel} WHERE month = %s) b ON b.loan_id = a.loan_id
                    GROUP BY 4, 5, 6, 7, 8, 9
                    """,
                    [earlier, month, scheme, MigrationCell.NEW, MigrationCell.GONE, earlier, month],
                )
                out["migration_cells"] += cursor.rowcount
    return out
