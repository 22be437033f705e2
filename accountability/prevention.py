"""The prevention flags found set-based, in the database: one statement per relation, for the
importer (one batch) and the daily "loans by loans" check (a window of days) alike.

- `refinancing_flags_find`: a fall of a loan's balance reported by the book (a ledger entry of kind
  "reported by the book") near a new loan to its borrower, to a guarantor of it who is a borrower, or
  to a borrower of the same group: "loans by loans", or "interest by loans" when only interest fell.
- `first_pay_off_flags_find`: a new loan of an import to a borrower or group that has a
  non-performing loan, or lent by an officer or branch with missed time limits.

Plain SQL that PostgreSQL and SQLite both run (only date arithmetic is spelled per database), so
the importer stays set-based at a million loans: no row of the book passes through Python.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from accountability.policy import accountability_policy
from loans.classification import NON_PERFORMING_FIVE_CODES

FLAGS = "accountability_loansbyloansflag"
_COLUMNS = (
    "kind, new_loan_id, overdue_loan_id, repayment_id, ledger_entry_id, relation, branch_id, lending_officer_id, "
    "repaid_on, repaid_amount, disbursed_on, new_loan_principal, found_on, import_batch_id, row_no, status, "
    "review_note, created_at"
)
# The new loans of one import: its rows whose outcome is "created".
_BATCH_NEW_LOANS = (
    'SELECT x.id FROM loans_importrow r JOIN loans_loan x ON x.loan_no = r."key" '
    "WHERE r.batch_id = %(batch)s AND r.sheet = 'loans' AND r.outcome = 'created'"
)


def _plus_days(expr: str, param: str) -> str:
    """`expr` (a date) moved by the integer parameter `param` days (negative: back)."""
    if connection.vendor == "postgresql":
        return f"({expr} + %({param})s::integer)"
    return f"date({expr}, printf('%%+d days', %({param})s))"


def _execute(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _temporary(table: str, select: str, params: dict) -> None:
    """A temporary table of `select`'s rows, with statistics."""
    _execute(f"DROP TABLE IF EXISTS {table}", {})
    _execute(f"CREATE TEMPORARY TABLE {table} AS {select}", params)
    _execute(f"ANALYZE {table}", {})


def _has_rows(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        return bool(cursor.fetchone()[0])


# The loans an older fall must be of to be near a new loan in {new} by one of the relations below
# (a superset: the relations' own joins decide): its borrower's loans, the loans a guarantor who is
# its borrower guarantees, and the loans of its borrower's group.
_RELATED_LOANS = """
    SELECT o.id FROM loans_loan o
     WHERE o.borrower_id IN (SELECT x.borrower_id FROM loans_loan x WHERE x.id IN (SELECT id FROM {new}))
    UNION
    SELECT g.loan_id FROM loans_guarantee g JOIN loans_guarantor gr ON gr.id = g.guarantor_id
     WHERE gr.borrower_id IN (SELECT x.borrower_id FROM loans_loan x WHERE x.id IN (SELECT id FROM {new}))
    UNION
    SELECT o.id FROM loans_borrower ob JOIN loans_loan o ON o.borrower_id = ob.id
     WHERE ob.group_code <> '' AND ob.group_code IN (
           SELECT b.group_code FROM loans_loan x JOIN loans_borrower b ON b.id = x.borrower_id
            WHERE x.id IN (SELECT id FROM {new}))
"""


@dataclass(frozen=True)
class _Relation:
    code: str
    # Joins from the fallen (or non-performing) loan `o` and its borrower `ob` to the borrower id
    # of the new loan, as `{related}`.
    joins: str
    related: str


_REFINANCING_RELATIONS = (
    _Relation("same_borrower", "", "o.borrower_id"),
    _Relation(
        "guarantor",
        "JOIN loans_guarantee g ON g.loan_id = o.id JOIN loans_guarantor gr ON gr.id = g.guarantor_id "
        "AND gr.borrower_id IS NOT NULL",
        "gr.borrower_id",
    ),
    _Relation(
        "same_group",
        "JOIN loans_borrower gb ON gb.group_code = ob.group_code AND ob.group_code <> '' AND gb.id <> ob.id",
        "gb.id",
    ),
)


def refinancing_flags_find(*, as_of: date, batch_id: int | None = None, now: datetime | None = None) -> int:
    """Flag new loans disbursed within the window (`loans_by_loans_window_days`) of a fall reported by
    the book on an older loan that was overdue or had a case. With `batch_id`: the pairs where the fall
    or the new loan came with that import; without: the falls valued in the last two windows (the daily
    check). One flag per new loan and older loan (the closest relation first, the latest fall in the
    window named). Returns how many flags were written."""
    window = accountability_policy().loans_by_loans_window_days
    params = {
        "as_of": as_of,
        "now": now or timezone.now(),
        "batch": batch_id,
        "w": window,
        "minus_w": -window,
        "since": as_of - timedelta(days=2 * window),
    }
    # The falls in scope (and the import's new loans) copied into small temporary tables with fresh
    # statistics: the rows just written have none yet, and a planner that thinks there is one fall
    # joins it with every loan disbursed in the window.
    falls, recent, new = "npl_prevention_falls", "npl_prevention_recent", "npl_prevention_new"
    related = "npl_prevention_related"
    select_falls = """
        SELECT e.id, e.loan_id, e.case_id, e.kind, e.principal, e.interest_on_balance, e.interest_off_balance,
               e.value_date
          FROM ledger_ledgerentry e JOIN loans_loan o ON o.id = e.loan_id
         WHERE e.kind = 'book_reported' AND (e.case_id IS NOT NULL OR o.overdue_since IS NOT NULL) AND {scope}
    """
    in_window = "e.value_date BETWEEN %(since)s AND %(as_of)s"
    tables = {falls: select_falls.format(scope=in_window)}
    if batch_id is not None:
        # The falls this import reported; and the loans it created.
        tables = {falls: select_falls.format(scope="e.import_batch_id = %(batch)s"), new: _BATCH_NEW_LOANS}
    for table, select in tables.items():
        _temporary(table, select, params)
    scopes = [(falls, "true")] if _has_rows(falls) else []
    if batch_id is not None and _has_rows(new):
        # The earlier falls of the window, near the loans this import created (an import that created
        # none, such as a re-import of the book, has no use for them): only those of the loans
        # related to the new loans' borrowers, found from them (the window's falls grow with every
        # import of the book).
        tables[related] = _RELATED_LOANS.format(new=new)
        _temporary(related, tables[related], params)
        tables[recent] = select_falls.format(
            scope=f"{in_window} AND (e.import_batch_id IS NULL OR e.import_batch_id <> %(batch)s) "
            f"AND e.loan_id IN (SELECT id FROM {related})"
        )
        _temporary(recent, tables[recent], params)
        scopes.append((recent, f"n.id IN (SELECT id FROM {new})"))
    row_no = "CAST(NULL AS integer)"
    written = 0
    for (source, scope), relation in itertools.product(scopes, _REFINANCING_RELATIONS):
        sql = f"""
            INSERT INTO {FLAGS} ({_COLUMNS})
            SELECT DISTINCT
                   CASE WHEN e.principal = 0 THEN 'interest_by_loans' ELSE 'loans_by_loans' END,
                   n.id, o.id, CAST(NULL AS bigint), e.id, '{relation.code}', n.branch_id, n.issuing_officer_id,
                   e.value_date, -(e.principal + e.interest_on_balance + e.interest_off_balance),
                   n.disbursed_on, n.principal, %(as_of)s, CAST(%(batch)s AS bigint), {row_no}, 'open', '', %(now)s
              FROM {source} e
              JOIN loans_loan o ON o.id = e.loan_id
              JOIN loans_borrower ob ON ob.id = o.borrower_id
              {relation.joins}
              JOIN loans_loan n ON n.borrower_id = {relation.related}
                   AND n.disbursed_on BETWEEN {_plus_days("e.value_date", "minus_w")}
                                          AND {_plus_days("e.value_date", "w")}
             WHERE e.kind = 'book_reported'
               AND {scope}
               AND (e.case_id IS NOT NULL OR o.overdue_since IS NOT NULL)
               AND n.id <> o.id AND n.disbursed_on > o.disbursed_on
               -- the latest fall of the older loan within the new loan's window is named
               AND e.id = (SELECT max(e2.id) FROM ledger_ledgerentry e2
                            WHERE e2.loan_id = o.id AND e2.kind = 'book_reported'
                              AND e2.value_date BETWEEN {_plus_days("n.disbursed_on", "minus_w")}
                                                    AND {_plus_days("n.disbursed_on", "w")})
               AND NOT EXISTS (SELECT 1 FROM {FLAGS} f
                                WHERE f.new_loan_id = n.id AND f.overdue_loan_id = o.id
                                  AND f.kind <> 'first_pay_off')
        """
        written += _execute(sql, params)
    for table in tables:
        _execute(f"DROP TABLE {table}", {})
    return written


def first_pay_off_flags_find(*, as_of: date, batch_id: int, now: datetime | None = None) -> int:
    """Flag the new loans of an import, disbursed within the window (`loans_by_loans_window_days`)
    before the import's date, whose borrower has another non-performing loan, whose group has one,
    or whose lending officer or branch has an open case past its time limit. One flag per new loan,
    the first reason in that order named; none for a new loan already flagged "loans by loans".
    Returns how many flags were written."""
    window = accountability_policy().loans_by_loans_window_days
    params = {
        "as_of": as_of,
        "now": now or timezone.now(),
        "batch": batch_id,
        "since": as_of - timedelta(days=window),
    }
    npl = ", ".join(f"'{c}'" for c in sorted(NON_PERFORMING_FIVE_CODES))
    row_no = "CAST(NULL AS integer)"
    missed = "SELECT c.{col} FROM collections_app_collectioncase c WHERE c.is_open AND c.recovery_deadline < %(as_of)s"
    reasons = (
        (
            "same_borrower",
            f"(SELECT min(o.id) FROM loans_loan o WHERE o.borrower_id = n.borrower_id AND o.id <> n.id "
            f"AND o.five_level_class IN ({npl}))",
            "",
        ),
        (
            "same_group",
            f"(SELECT min(o.id) FROM loans_borrower gb JOIN loans_loan o ON o.borrower_id = gb.id "
            f"WHERE gb.group_code = nb.group_code AND nb.group_code <> '' AND gb.id <> nb.id "
            f"AND o.five_level_class IN ({npl}))",
            "",
        ),
        ("officer_missed", "CAST(NULL AS bigint)", f"AND n.issuing_officer_id IN ({missed.format(col='officer_id')})"),
        ("branch_missed", "CAST(NULL AS bigint)", f"AND n.branch_id IN ({missed.format(col='branch_id')})"),
    )
    # The import's new loans disbursed within the window, once, with statistics: in a first import of
    # a book most new loans were lent long ago, and none of the four statements then has work to do.
    candidates = "npl_prevention_first"
    _temporary(
        candidates,
        f"{_BATCH_NEW_LOANS} AND x.disbursed_on > %(since)s",
        params,
    )
    written = 0
    reasons = reasons if _has_rows(candidates) else ()
    for code, overdue_loan, condition in reasons:
        sql = f"""
            INSERT INTO {FLAGS} ({_COLUMNS})
            SELECT kind, new_loan_id, overdue_loan_id, CAST(NULL AS bigint), CAST(NULL AS bigint), '{code}',
                   branch_id, lending_officer_id, CAST(NULL AS date), CAST(NULL AS numeric(18, 2)), disbursed_on,
                   principal, %(as_of)s, %(batch)s, row_no, 'open', '', %(now)s
              FROM (
                SELECT 'first_pay_off' AS kind, n.id AS new_loan_id, {overdue_loan} AS overdue_loan_id,
                       n.branch_id, n.issuing_officer_id AS lending_officer_id, n.disbursed_on, n.principal,
                       {row_no} AS row_no
                  FROM loans_loan n JOIN loans_borrower nb ON nb.id = n.borrower_id
                 WHERE n.id IN (SELECT id FROM {candidates})
                   {condition}
                   -- a new loan already flagged (as loans by loans, or for a stronger reason) is not flagged twice
                   AND NOT EXISTS (SELECT 1 FROM {FLAGS} f WHERE f.new_loan_id = n.id)
              ) found
             WHERE {"true" if "CAST" in overdue_loan else "overdue_loan_id IS NOT NULL"}
        """
        written += _execute(sql, params)
    _execute(f"DROP TABLE {candidates}", {})
    return written


@dataclass(frozen=True)
class BatchFlag:
    """A flag an import found, as its report's warning line."""

    row_no: int
    kind: str
    relation: str
    new_loan_no: str
    overdue_loan_no: str | None

    def warning(self) -> str:
        values = {"new": self.new_loan_no, "old": self.overdue_loan_no}
        if self.kind == "first_pay_off":
            text = {
                "same_borrower": gettext(
                    "new loan %(new)s goes to a borrower whose loan %(old)s is non-performing: flagged "
                    "“first pay off, then increase” for a manager's review on the prevention page"
                ),
                "same_group": gettext(
                    "new loan %(new)s goes to a group whose loan %(old)s is non-performing: flagged "
                    "“first pay off, then increase” for a manager's review on the prevention page"
                ),
                "officer_missed": gettext(
                    "new loan %(new)s was lent by an officer with missed time limits: flagged "
                    "“first pay off, then increase” for a manager's review on the prevention page"
                ),
                "branch_missed": gettext(
                    "new loan %(new)s was lent by a branch with missed time limits: flagged "
                    "“first pay off, then increase” for a manager's review on the prevention page"
                ),
            }[self.relation]
        elif self.kind == "interest_by_loans":
            text = gettext(
                "the interest of loan %(old)s fell while new loan %(new)s went to a related borrower: flagged "
                "“interest by loans”; the fall counts as no recovery until a manager clears the flag"
            )
        else:
            text = gettext(
                "the balance of loan %(old)s fell while new loan %(new)s went to a related borrower: flagged "
                "“loans by loans”; the fall counts as no recovery until a manager clears the flag"
            )
        return text % values


def batch_flags(*, batch_id: int, limit: int) -> list[BatchFlag]:
    """The flags an import found (at most `limit`), in row order, each with its row: the fallen
    loan's for a refinancing flag, the new loan's for "first pay off" (the other loan's when the file
    does not have that one). The rows are looked up once for the listed loans and kept on the flags."""
    from accountability.models import LoansByLoansFlag
    from loans.models import ImportRow

    flags = list(
        LoansByLoansFlag.objects.filter(import_batch_id=batch_id)
        .select_related("new_loan", "overdue_loan")
        .order_by("id")[:limit]
    )
    numbers = {f.new_loan.loan_no for f in flags} | {f.overdue_loan.loan_no for f in flags if f.overdue_loan_id}
    rows: dict[str, int] = {}
    for chunk in _chunks(sorted(numbers), 1000):
        rows.update(
            ImportRow.objects.filter(batch_id=batch_id, sheet="loans", key__in=chunk).values_list("key", "row_no")
        )
    for flag in flags:
        first, other = flag.new_loan, flag.overdue_loan
        if flag.kind != LoansByLoansFlag.Kind.FIRST_PAY_OFF and other is not None:
            first, other = other, first
        flag.row_no = rows.get(first.loan_no) or (rows.get(other.loan_no) if other is not None else None)
    LoansByLoansFlag.objects.bulk_update(flags, ["row_no"], batch_size=1000)
    found = [
        BatchFlag(f.row_no or 0, f.kind, f.relation, f.new_loan.loan_no, f.overdue_loan and f.overdue_loan.loan_no)
        for f in flags
    ]
    return sorted(found, key=lambda f: f.row_no)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_flags_notify(*, batch_id: int, as_of: date) -> int:
    """Tell the managers of the new loans' branches about the flags an import found (run on commit):
    one message per manager and import."""
    from django.urls import reverse

    from accountability.daily_checks import messages
    from accountability.daily_checks.loans_by_loans import flagged_new_loans_per_branch
    from accountability.daily_checks.notify import notify_managers_per_branch
    from accountability.models import LoansByLoansFlag

    return notify_managers_per_branch(
        flagged_new_loans_per_branch(LoansByLoansFlag.objects.filter(import_batch_id=batch_id)),
        kind="loans_by_loans.flag",
        key=f"import_flags:{batch_id}",
        message=lambda n: messages.import_flags_for_managers(count=n, as_of=as_of),
        url=reverse("accountability:prevention") + "?tab=loans_by_loans&status=open",
    )
