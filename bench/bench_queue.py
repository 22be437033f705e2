"""The officer's work queue (issue 3): an officer with 10,000 open cases in a book of 1,000,000 loans,
median response under 50 ms on PostgreSQL.

Also timed on the way: opening the cases of every non-performing loan set-based (about 210,000 at
once), and opening again (idempotent: nothing more). The queue is measured as the whole HTTP
response through Django (session, middleware, filter form, table, template), and its SQL is
EXPLAINed to show which index answers it.

References, measured in the same run: for the opener, copying the same loans' ids into a scratch
table (CREATE TEMP TABLE ... AS SELECT); for the queue, the loan detail page of one of the
officer's loans.
"""

from __future__ import annotations

import re

from bench.common import (
    BENCH_AS_OF,
    BenchContext,
    delete_audit_rows,
    explain,
    make_book,
    median_seconds,
    sql,
    timed,
)

NPL_CLASSES = "('substandard', 'doubtful', 'loss')"


def _reset_cases() -> None:
    from django.apps import apps

    tables = [m._meta.db_table for m in apps.get_app_config("collections_app").get_models()]
    tables += [
        f.remote_field.through._meta.db_table
        for f in apps.get_model("collections_app", "CollectionCase")._meta.many_to_many
    ]
    sql(f"TRUNCATE {', '.join(sorted(set(tables)))} RESTART IDENTITY CASCADE")
    delete_audit_rows("subject_type = 'collections_app.collectioncase'")


def _classify_if_needed() -> int:
    """The book comes unclassified from make_book; the reclassify benchmark (if it ran) classified it.
    Either way, loans more than 90 days past due must be non-performing here."""
    npl = sql(f"SELECT count(*) FROM loans_loan WHERE five_level_class IN {NPL_CLASSES}")[0][0]
    if npl == 0:
        sql(
            """
            UPDATE loans_loan SET five_level_class = CASE
                WHEN %(as_of)s::date - overdue_since > 360 THEN 'loss'
                WHEN %(as_of)s::date - overdue_since > 270 THEN 'doubtful'
                ELSE 'substandard' END
             WHERE overdue_since IS NOT NULL AND %(as_of)s::date - overdue_since > 90
            """,
            {"as_of": BENCH_AS_OF},
        )
        sql("ANALYZE loans_loan")
        npl = sql(f"SELECT count(*) FROM loans_loan WHERE five_level_class IN {NPL_CLASSES}")[0][0]
    return npl


def run(ctx: BenchContext) -> None:
    from django.test import Client
    from django.urls import reverse

    from collections_app.filters import CaseFilter
    from collections_app.selectors import case_queue
    from collections_app.services import cases_open_for_non_performing
    from loans.models import Loan

    n = 100_000 if ctx.quick else 1_000_000
    # Our audit rows point at the bench branches that make_book replaces when it rebuilds the book.
    _reset_cases()
    build, book = timed(lambda: make_book(n_loans=n))
    ctx.report("book ready (built or reused)", seconds=build, loans=book["loans"])
    npl = _classify_if_needed()

    # --- opening every NPL's case, set-based ----------------------------------------------------
    _reset_cases()
    reference, _ = timed(
        lambda: sql(
            "CREATE TEMP TABLE bench_npl_ids AS SELECT id, branch_id, responsible_officer_id FROM loans_loan "
            f"WHERE five_level_class IN {NPL_CLASSES}"
        )
    )
    sql("DROP TABLE bench_npl_ids")
    open_s, opened = timed(lambda: cases_open_for_non_performing(as_of=BENCH_AS_OF))
    ctx.report(
        "open a case for every non-performing loan",
        seconds=open_s,
        reference=reference,
        reference_name="copy the same loans into a scratch table",
        target="set-based, seconds not minutes",
        non_performing=npl,
        opened=opened,
    )
    again_s, again = timed(lambda: cases_open_for_non_performing(as_of=BENCH_AS_OF))
    ctx.report(
        "open cases again (idempotent)",
        seconds=again_s,
        reference=reference,
        reference_name="copy the same loans into a scratch table",
        opened=again,
    )
    # Let the 200,000-row write settle (visibility map, statistics, dirty buffers) before timing reads.
    sql("VACUUM ANALYZE collections_app_collectioncase")
    sql("VACUUM ANALYZE audit_auditevent")
    sql("CHECKPOINT")

    # --- the officer's queue -------------------------------------------------------------------
    hot = book["hot_officer"]
    cases = sql("SELECT count(*) FROM collections_app_collectioncase WHERE officer_id = %s AND is_open", [hot.pk])[0][0]
    client = Client(HTTP_HOST="localhost")
    client.force_login(hot)
    url = reverse("collections_app:case_list")
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response.content.count(b'href="/cases/') >= 25, "the queue should show a full page of cases"
    loan = Loan.objects.filter(responsible_officer=hot).order_by("pk").first()
    reference = median_seconds(lambda: client.get(loan.get_absolute_url()))
    queue_s = median_seconds(lambda: client.get(url))
    ctx.report(
        "officer's queue, first page (HTTP, median of 21)",
        seconds=queue_s,
        reference=reference,
        reference_name="a loan detail page",
        target="< 0.050 s median",
        officer_cases=cases,
        met=queue_s < 0.050,
    )
    for label, params in (
        ("officer's queue, page 200", {"page": 200}),
        ("officer's queue, sorted by time limit", {"sort": "recovery_deadline"}),
        ("officer's queue, promises due in 7 days", {"due": "promise_due_7"}),
    ):
        seconds = median_seconds(lambda params=params: client.get(url, params))
        ctx.report(label, seconds=seconds, reference=reference, reference_name="a loan detail page", target="< 0.050 s")

    manager = book["manager"]
    manager_client = Client(HTTP_HOST="localhost")
    manager_client.force_login(manager)
    all_open = sql("SELECT count(*) FROM collections_app_collectioncase WHERE is_open")[0][0]
    seconds = median_seconds(lambda: manager_client.get(url))
    ctx.report(
        "head-office manager's queue (every open case)",
        seconds=seconds,
        reference=reference,
        reference_name="a loan detail page",
        target="< 0.050 s",
        open_cases=all_open,
    )

    # --- the plan ----------------------------------------------------------------------------------
    queryset = CaseFilter({}, queryset=case_queue(user=hot), user=hot).qs.order_by("urgency_on", "id")[:25]
    page_sql, page_params = queryset.query.sql_with_params()
    page_plan = explain(page_sql, page_params)
    count_sql, count_params = (
        CaseFilter({}, queryset=case_queue(user=hot), user=hot).qs.order_by().values("pk").query.sql_with_params()
    )
    count_plan = explain(f"SELECT count(*) FROM ({count_sql}) q", count_params)
    indexes = sorted(set(re.findall(r"using (\w+)", page_plan + "\n" + count_plan, flags=re.IGNORECASE)))
    print("EXPLAIN (page of the queue):\n" + page_plan, flush=True)
    print("EXPLAIN (count of the queue):\n" + count_plan, flush=True)
    page_ms = re.search(r"Execution Time: ([\d.]+) ms", page_plan)
    count_ms = re.search(r"Execution Time: ([\d.]+) ms", count_plan)
    ctx.report(
        "queue SQL: page and count (EXPLAIN ANALYZE)",
        seconds=(float(page_ms.group(1)) + float(count_ms.group(1))) / 1000 if page_ms and count_ms else None,
        reference=reference,
        reference_name="a loan detail page",
        indexes=",".join(indexes),
        uses_officer_index="case_officer_queue" in indexes,
        plan=page_plan + "\n---\n" + count_plan,
    )
