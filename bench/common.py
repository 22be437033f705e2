"""Shared pieces for the benchmarks: the context, timing, memory and a fast book generator.

A benchmark module `bench/bench_<name>.py` defines `run(ctx: BenchContext) -> None` and reports
each figure with `ctx.report(...)`, always next to a reference measured in the same run.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCH_AS_OF = date(2026, 6, 30)


@dataclass
class Figure:
    bench: str
    name: str
    seconds: float | None = None
    reference_name: str = ""
    reference_seconds: float | None = None
    target: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.seconds is None or not self.reference_seconds:
            return None
        return self.seconds / self.reference_seconds


@dataclass
class BenchContext:
    bench: str = ""
    figures: list[Figure] = field(default_factory=list)
    quick: bool = False

    def report(
        self,
        name: str,
        *,
        seconds: float | None = None,
        reference: float | None = None,
        reference_name: str = "",
        target: str = "",
        note: str = "",
        **extra: Any,
    ) -> Figure:
        fig = Figure(self.bench, name, seconds, reference_name, reference, target, note, extra)
        self.figures.append(fig)
        parts = [f"[{self.bench}] {name}:"]
        if seconds is not None:
            parts.append(f"{seconds:.3f} s")
        if reference is not None:
            parts.append(f"(reference {reference_name or 'ref'} {reference:.3f} s, ratio {fig.ratio:.2f}x)")
        if target:
            parts.append(f"target {target}")
        if extra:
            parts.append(" ".join(f"{k}={v}" for k, v in extra.items()))
        if note:
            parts.append(f"- {note}")
        print(" ".join(parts), flush=True)
        return fig

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / "latest.json"
        data = [{**asdict(f), "ratio": f.ratio} for f in self.figures]
        path.write_text(json.dumps(data, indent=2, default=str))
        return path


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - start


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def median_seconds(func: Callable[[], Any], repeat: int = 21, warmup: int = 3) -> float:
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def delete_audit_rows(where: str) -> None:
    """A benchmark's reset removes the audit rows its last run wrote. The trail is append-only in
    the database (a trigger, audit migration 0003): the trigger is off for this one statement."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only")
        try:
            cursor.execute(f"DELETE FROM audit_auditevent WHERE {where}")
        finally:
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_append_only")


def sql(statement: str, params: Any = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def explain(statement: str, params: Any = None) -> str:
    rows = sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
    return "\n".join(r[0] for r in rows)


# --- a book of loans, made with SQL ----------------------------------------------------------

_BOOK_TABLES = [
    # Children first: TRUNCATE ... CASCADE would reach them anyway; listed for clarity.
    "loans_classificationchange",
    "loans_classificationrun",
    "loans_collateral",
    "loans_guarantee",
    "loans_guarantor",
    "loans_loan",
    "loans_borrower",
]


def invalidate_book() -> None:
    """Call after a benchmark that replaces the loans tables, so the next make_book rebuilds."""
    sql("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
    sql("DELETE FROM bench_meta WHERE key = 'book'")


def make_book(
    *,
    n_loans: int = 1_000_000,
    npl_share: float = 0.2,
    n_branches: int = 40,
    n_officers: int = 400,
    hot_officer_npl: int = 10_000,
    as_of: date = BENCH_AS_OF,
    force: bool = False,
) -> dict[str, Any]:
    """A book of `n_loans` loans over a branch tree, unclassified (every class 'normal').

    - `npl_share` of the loans are more than 90 days past due (DPD spread up to ~3 years), a
      further 10% are 1-90 days past due, the rest are current.
    - Officer "bench_hot" is responsible for `hot_officer_npl` loans, all more than 90 days past due
      (the officer-queue benchmark's officer); the other loans are spread over the other officers.
    - Kept between runs: a second call with the same parameters and an intact table does nothing.
    """
    params = json.dumps(
        {"n": n_loans, "npl": npl_share, "b": n_branches, "o": n_officers, "hot": hot_officer_npl, "as_of": str(as_of)}
    )
    sql("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
    existing = sql("SELECT value FROM bench_meta WHERE key = 'book'")
    if not force and existing and existing[0][0] == params:
        count = sql("SELECT count(*) FROM loans_loan")[0][0]
        if count == n_loans:
            return _book_info()
    invalidate_book()
    from django.apps import apps

    optional = [
        m._meta.db_table
        # The bench database is the benchmarks' own: the audit trail goes with the book.
        for label in ("collections_app", "accountability", "notifications", "audit")
        if label in {a.label for a in apps.get_app_configs()}
        for m in apps.get_app_config(label).get_models()
    ]
    existing_tables = set(connection.introspection.table_names())
    tables = ", ".join([t for t in optional if t in existing_tables] + _BOOK_TABLES)
    sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    sql("DELETE FROM loans_user WHERE username LIKE 'bench_%%'")
    sql("DELETE FROM loans_branch WHERE code LIKE 'BN%%'")
    from loans.models import Branch, Role, User

    head = Branch.objects.create(code="BN000", name="Bench Head Office", kind=Branch.Kind.HEAD_OFFICE)
    branches = [
        Branch.objects.create(code=f"BN{i:03d}", name=f"Bench Branch {i}", parent=head)
        for i in range(1, n_branches + 1)
    ]
    users = [
        User(username="bench_manager", role=Role.MANAGER, branch=head),
        User(username="bench_hot", role=Role.OFFICER, branch=branches[0]),
    ]
    users += [
        User(username=f"bench_officer{i:04d}", role=Role.OFFICER, branch=branches[i % n_branches])
        for i in range(1, n_officers)
    ]
    for u in users:
        u.set_unusable_password()
    User.objects.bulk_create(users)
    branch_ids = list(Branch.objects.filter(code__startswith="BN").exclude(pk=head.pk).values_list("id", flat=True))
    hot = User.objects.get(username="bench_hot")
    officer_ids = list(
        User.objects.filter(username__startswith="bench_officer").order_by("id").values_list("id", flat=True)
    )
    n_borrowers = max(1, n_loans // 2)
    sql(
        """
        INSERT INTO loans_borrower (name, kind, id_no, group_code, phone, address, created_at)
        SELECT 'Borrower ' || g,
               (ARRAY['individual','individual','individual','enterprise','village_collective',
                      'government_agency','public_institution'])[1 + g %% 7],
               'BID' || lpad(g::text, 10, '0'),
               CASE WHEN g %% 50 = 0 THEN 'GRP' || (g %% 1000) ELSE '' END,
               '', '', now()
          FROM generate_series(1, %s) AS g
        """,
        [n_borrowers],
    )
    min_borrower = sql("SELECT min(id) FROM loans_borrower")[0][0]
    # bucket in [0, 1000): < npl*1000 -> NPL; next 100 -> 1..90 DPD; rest current.
    npl_cut = int(npl_share * 1000)
    sql(
        """
        WITH src AS (
            SELECT g,
                   CASE WHEN g <= %(hot_n)s THEN 0 ELSE ((g * 7919) %% 1000)::int END AS bucket,
                   ((g * 104729) %% 1000)::int AS r
              FROM generate_series(1::bigint, %(n)s) AS g
        )
        INSERT INTO loans_loan (
            loan_no, borrower_id, branch_id, product, issuing_officer_id, responsible_officer_id,
            principal, outstanding_principal, interest_on_balance, interest_off_balance,
            disbursed_on, maturity_on, overdue_since, arrears_cleared_on, business_ceased,
            government_directed, restructured_on, written_off_on, five_level_class, four_level_class,
            manual_five_level_class, manual_class_reason, five_level_rule, four_level_rule,
            specific_provision, created_at, updated_at)
        SELECT 'BL' || lpad(g::text, 9, '0'),
               %(min_b)s + (g - 1) %% %(n_b)s,
               CASE WHEN g <= %(hot_n)s THEN %(hot_branch)s
                    ELSE (%(branches)s::bigint[])[1 + g %% %(n_br)s] END,
               'Working capital',
               CASE WHEN g <= %(hot_n)s THEN %(hot)s ELSE (%(officers)s::bigint[])[1 + g %% %(n_off)s] END,
               CASE WHEN g <= %(hot_n)s THEN %(hot)s ELSE (%(officers)s::bigint[])[1 + g %% %(n_off)s] END,
               (10000 + r * 1000)::numeric(18,2),
               (10000 + r * 1000)::numeric(18,2) * 0.8,
               (r * 3)::numeric(18,2), (r * 2)::numeric(18,2),
               %(as_of)s::date - 1500, %(as_of)s::date - 1500 + 1095,
               CASE WHEN bucket < %(npl_cut)s THEN %(as_of)s::date - (91 + r)
                    WHEN bucket < %(npl_cut)s + 100 THEN %(as_of)s::date - (1 + r %% 90)
                    ELSE NULL END,
               NULL, (r = 7), (r %% 97 = 0), NULL, NULL, 'normal', 'normal', '', '', '', '', 0, now(), now()
          FROM src
        """,
        {
            "n": n_loans,
            "hot_n": hot_officer_npl,
            "hot": hot.pk,
            "hot_branch": branches[0].pk,
            "min_b": min_borrower,
            "n_b": n_borrowers,
            "branches": branch_ids,
            "n_br": len(branch_ids),
            "officers": officer_ids,
            "n_off": len(officer_ids),
            "as_of": as_of,
            "npl_cut": npl_cut,
        },
    )
    sql("ANALYZE loans_loan")
    sql("ANALYZE loans_borrower")
    sql("INSERT INTO bench_meta (key, value) VALUES ('book', %s)", [params])
    return _book_info()


def _book_info() -> dict[str, Any]:
    from loans.models import Branch, User

    return {
        "head_office": Branch.objects.get(code="BN000"),
        "hot_officer": User.objects.get(username="bench_hot"),
        "manager": User.objects.get(username="bench_manager"),
        "loans": sql("SELECT count(*) FROM loans_loan")[0][0],
    }
