"""The reclassification writes each batch of changes with one statement (`_PG_APPLY`) that also
returns the id range and count of the history rows it wrote. That count was a subquery the planner,
expecting one updated loan, ran again for every updated loan: each run read all of the batch's
history rows, so a batch of 5,000 changed loans read 5,000 x 10,000 rows. Measured on 100,000 loans
of which 92,000 changed: 33.2 s before, 5.2 s after (the count computed once). And the loans of a
reclassification by id (an import's changed loans) reach PostgreSQL as one array."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.db import connection, transaction

from loans.services import classification, loans_reclassify
from tests.factories import LoanFactory

AS_OF = date(2026, 6, 30)
pytestmark = pytest.mark.django_db


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_history_count_of_a_batch_is_computed_once(require_postgres, branch):
    loans = [LoanFactory(branch=branch, overdue_since=AS_OF - timedelta(days=100 + i)) for i in range(30)]
    plans: list[dict] = []

    def explain(execute, sql, params, many, context):
        if sql == classification._PG_APPLY:
            # The same statement, analysed and undone, then run for real.
            with transaction.atomic(), connection.cursor() as cursor:
                sid = transaction.savepoint()
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                (plan,) = cursor.fetchone()
                plans.append((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
                transaction.savepoint_rollback(sid)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        result = loans_reclassify(as_of=AS_OF)
    assert result.changed == len(loans)
    assert plans, "the batch statement ran"
    aggregates = [n for plan in plans for n in _nodes(plan) if n["Node Type"] == "Aggregate"]
    assert aggregates, "the history rows are counted"
    # Once per batch: before, once per updated loan (30).
    assert [n["Actual Loops"] for n in aggregates] == [1] * len(aggregates)


def test_the_loans_to_reclassify_go_to_postgresql_as_one_array(require_postgres, branch):
    """An import reclassifies its changed loans by id: 10,000 ids as IN (%s, %s...) made a statement
    PostgreSQL parsed again for every batch (0.21 s to read their facts; 0.05 s with one array)."""
    from django.test.utils import CaptureQueriesContext

    loans = [LoanFactory(branch=branch, overdue_since=AS_OF - timedelta(days=100 + i)) for i in range(12)]
    with CaptureQueriesContext(connection) as queries:
        result = loans_reclassify(as_of=AS_OF, loan_ids=[loan.pk for loan in loans])
    assert result.changed == len(loans)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "loans_loan"."id"')]
    assert reads, "the facts were read"
    assert all("unnest(" in sql and f"{loans[5].pk}, {loans[6].pk}" not in sql for sql in reads), reads[0][:500]
