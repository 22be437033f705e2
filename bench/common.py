"""Shared pieces for the benchmarks: the context, trials, timing, memory and a fast book generator.

A benchmark module `bench/bench_<name>.py` defines `run(ctx: BenchContext) -> None` and reports
each figure with `ctx.report(...)`. A figure is measured over trials; each trial times the work
and, in the same trial, one or more references (a plain SQL statement doing comparable work on
the same data), so that whatever load the shared machine has falls on both. The figure's ratio to
a reference is the median of the per-trial ratios, not the ratio of two medians.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection

from loans.models import Branch, Role, User

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCH_AS_OF = date(2026, 6, 30)

Samples = float | Sequence[float]


@dataclass
class Reference:
    name: str
    seconds: float  # median over the trials
    ratio: float  # median of the per-trial ratios (figure / reference)
    trial_seconds: list[float]
    trial_ratios: list[float]


@dataclass
class Figure:
    bench: str
    name: str
    seconds: float | None = None  # median over the trials
    trial_seconds: list[float] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    target: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """The ratio to the first (main) reference."""
        return self.references[0].ratio if self.references else None


def _as_list(samples: Samples) -> list[float]:
    return [float(samples)] if isinstance(samples, int | float) else [float(s) for s in samples]


def make_figure(
    bench: str,
    name: str,
    *,
    seconds: Samples | None = None,
    references: Mapping[str, Samples] | None = None,
    target: str = "",
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> Figure:
    """A figure from per-trial seconds and, for each reference, its per-trial seconds (same order)."""
    trials = _as_list(seconds) if seconds is not None else []
    refs = []
    for ref_name, ref_samples in (references or {}).items():
        ref_trials = _as_list(ref_samples)
        if len(ref_trials) != len(trials):
            raise ValueError(f"{name}: {len(trials)} trials but {len(ref_trials)} of reference {ref_name!r}")
        ratios = [s / r for s, r in zip(trials, ref_trials, strict=True) if r > 0]
        refs.append(
            Reference(
                name=ref_name,
                seconds=statistics.median(ref_trials),
                ratio=statistics.median(ratios) if ratios else float("nan"),
                trial_seconds=[round(r, 4) for r in ref_trials],
                trial_ratios=[round(r, 3) for r in ratios],
            )
        )
    return Figure(
        bench=bench,
        name=name,
        seconds=statistics.median(trials) if trials else None,
        trial_seconds=[round(s, 4) for s in trials],
        references=refs,
        target=target,
        note=note,
        extra=extra or {},
    )


@dataclass
class BenchContext:
    bench: str = ""
    figures: list[Figure] = field(default_factory=list)
    quick: bool = False
    trials: int = 3

    def report(
        self,
        name: str,
        *,
        seconds: Samples | None = None,
        references: Mapping[str, Samples] | None = None,
        target: str = "",
        note: str = "",
        **extra: Any,
    ) -> Figure:
        """Record and print a figure: `seconds` one value or one per trial, `references` name ->
        the reference's seconds in the same trials."""
        fig = make_figure(
            self.bench, name, seconds=seconds, references=references, target=target, note=note, extra=extra
        )
        self.figures.append(fig)
        print(describe(fig), flush=True)
        return fig

    def save(self, bench: str, meta: dict[str, Any]) -> Path:
        """This benchmark's figures to bench/results/<bench>.json (<bench>-quick.json for --quick)."""
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{bench}{'-quick' if self.quick else ''}.json"
        figures = [{**asdict(f), "ratio": f.ratio} for f in self.figures if f.bench == bench]
        path.write_text(json.dumps({"meta": meta, "figures": figures}, indent=2, default=str) + "\n")
        return path


def describe(fig: Figure) -> str:
    parts = [f"[{fig.bench}] {fig.name}:"]
    if fig.seconds is not None:
        n = len(fig.trial_seconds)
        parts.append(f"{fig.seconds:.3f} s" + (f" (median of {n} trials)" if n > 1 else ""))
    for ref in fig.references:
        parts.append(f"| {ref.ratio:.2f}x {ref.name} ({ref.seconds:.3f} s)")
    if fig.target:
        parts.append(f"| target {fig.target}")
    shown = {k: v for k, v in fig.extra.items() if k != "plan"}
    if shown:
        parts.append("| " + " ".join(f"{k}={v}" for k, v in shown.items()))
    if fig.note:
        parts.append(f"- {fig.note}")
    return " ".join(parts)


def run_meta(ctx: BenchContext, bench: str, started: datetime, seconds: float) -> dict[str, Any]:
    """What a result file needs to be read later: when, where, how big, and with which settings."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    return {
        "bench": bench,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "quick": ctx.quick,
        "trials": ctx.trials,
        "debug": settings.DEBUG,
        "postgres": sql("SHOW server_version")[0][0],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "git_commit": commit,
    }


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def paired_seconds(
    measure: Callable[[], Any], reference: Callable[[], Any], repeat: int = 21, warmup: int = 3
) -> tuple[list[float], list[float]]:
    """`repeat` trials of (reference, measure) back to back: per-trial seconds of each."""
    for _ in range(warmup):
        reference()
        measure()
    measured, references = [], []
    for _ in range(repeat):
        references.append(timed(reference)[0])
        measured.append(timed(measure)[0])
    return measured, references


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


def truncate_apps(*labels: str) -> None:
    """Empty every table of these apps (and whatever references them: CASCADE)."""
    tables = sorted(
        {m._meta.db_table for label in labels for m in apps.get_app_config(label).get_models(include_auto_created=True)}
    )
    sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


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
      (the officer-queue benchmark's officer); the other loans are spread over the other officers, each
      loan in its officer's branch.
    - Kept between runs: a second call with the same parameters and an intact table does nothing.
    """
    params = json.dumps(
        {
            "n": n_loans,
            "npl": npl_share,
            "b": n_branches,
            "o": n_officers,
            "hot": hot_officer_npl,
            "as_of": str(as_of),
            # 2: a loan's responsible officer works in the loan's branch (as in a bank; the kept
            # dashboard cells are per branch and officer, issue 13).
            "layout": 2,
            # 3: five-year loans, maturing after the as-of date (with three-year loans every loan was
            # past maturity, so issue 11's "past maturity is overdue" made the whole book loss).
            "maturity": 3,
        }
    )
    sql("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
    existing = sql("SELECT value FROM bench_meta WHERE key = 'book'")
    if not force and existing and existing[0][0] == params:
        count = sql("SELECT count(*) FROM loans_loan")[0][0]
        if count == n_loans:
            return _book_info()
    invalidate_book()
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
    hot = User.objects.get(username="bench_hot")
    # Each loan gets an officer of its own branch: (branch, officer) pairs, one per officer.
    pairs = list(
        User.objects.filter(username__startswith="bench_officer").order_by("id").values_list("branch_id", "id")
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
                    ELSE (%(pair_branches)s::bigint[])[1 + (g / 3) %% %(n_pairs)s] END,
               'Working capital',
               CASE WHEN g <= %(hot_n)s THEN %(hot)s ELSE (%(officers)s::bigint[])[1 + (g / 3) %% %(n_pairs)s] END,
               CASE WHEN g <= %(hot_n)s THEN %(hot)s ELSE (%(officers)s::bigint[])[1 + (g / 3) %% %(n_pairs)s] END,
               (10000 + r * 1000)::numeric(18,2),
               (10000 + r * 1000)::numeric(18,2) * 0.8,
               (r * 3)::numeric(18,2), (r * 2)::numeric(18,2),
               %(as_of)s::date - 1500, %(as_of)s::date - 1500 + 1825,
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
            "pair_branches": [b for b, _ in pairs],
            "officers": [o for _, o in pairs],
            "n_pairs": len(pairs),
            "as_of": as_of,
            "npl_cut": npl_cut,
        },
    )
    # Every loan's ledger starts with its opening balance (issue 11), set-based like the book itself.
    from ledger.services import ledger_open_loans

    ledger_open_loans(actor=None, as_of=as_of, source="bench")
    sql("ANALYZE loans_loan")
    sql("ANALYZE loans_borrower")
    sql("ANALYZE ledger_ledgerentry")
    sql("INSERT INTO bench_meta (key, value) VALUES ('book', %s)", [params])
    return _book_info()


def _book_info() -> dict[str, Any]:
    return {
        "head_office": Branch.objects.get(code="BN000"),
        "hot_officer": User.objects.get(username="bench_hot"),
        "manager": User.objects.get(username="bench_manager"),
        "loans": sql("SELECT count(*) FROM loans_loan")[0][0],
    }
