"""Loan-book import (issue 5), on PostgreSQL, each figure next to raw COPY measured in the same run.

Targets:
- 100,000-row CSV, new book and re-import with 10% of rows changed: each within 3x raw COPY.
- 100,000-row XLSX end to end (read, validate, write): within 3x raw COPY + python-calamine
  reading the same file.
- Peak memory of a 1,000,000-row CSV import (its own process): under 500 MB.

Raw COPY is the same loans written into the same table (loans_loan, same indexes and foreign keys)
with one COPY, and committed: PostgreSQL checks Django's foreign keys (deferred) at commit, so a
load is not done before it. The import does more than that COPY: it reads and checks the file in
Python, upserts the borrowers, records each row's outcome and the new loans' first class. The
COPY statement alone (without its commit) is reported as well.

The receivers of loans_reclassified are muted (the collection app opens a case for each new
non-performing loan; that is timed by its own benchmark), as in bench_reclassify.
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from bench.common import BENCH_AS_OF, BenchContext, invalidate_book, peak_rss_mb, sql, timed

ROOT = Path(__file__).resolve().parent.parent
HEADER = [
    "loan_no", "borrower_name", "borrower_id_no", "borrower_kind", "branch_code", "officer_username", "product",
    "principal", "outstanding_principal", "interest_on_balance", "interest_off_balance", "disbursed_on",
    "maturity_on", "overdue_since", "business_ceased", "government_directed",
]  # fmt: skip
N_BRANCHES = 40
N_OFFICERS = 400
KINDS = ["individual", "individual", "individual", "enterprise", "village_collective", "government_agency",
         "public_institution"]  # fmt: skip


@contextmanager
def receivers_muted():
    from loans.signals import loans_reclassified

    saved = loans_reclassified.receivers
    loans_reclassified.receivers = []
    loans_reclassified.sender_receivers_cache.clear()
    try:
        yield
    finally:
        loans_reclassified.receivers = saved
        loans_reclassified.sender_receivers_cache.clear()


def loan_values(g: int, *, changed: bool = False) -> list[Any]:
    """Row g of the generated book: 20% more than 90 days past due, 10% 1-90 days, the rest current;
    two loans per borrower. `changed`: a lower balance (and, for a third of them, arrears cleared)."""
    r = (g * 104729) % 1000
    bucket = (g * 7919) % 1000
    principal = 10_000 + r * 1000
    outstanding = principal * 8 // 10
    overdue = None
    if bucket < 200:
        overdue = BENCH_AS_OF - timedelta(days=91 + r)
    elif bucket < 300:
        overdue = BENCH_AS_OF - timedelta(days=1 + r % 90)
    if changed:
        outstanding = principal * 7 // 10
        if g % 3 == 0:
            overdue = None
    b = g // 2
    return [
        f"IL{g:09d}", f"Import Borrower {b}", f"IMP{b:012d}", KINDS[b % 7], f"IB{g % N_BRANCHES:03d}",
        f"imp_officer{g % N_OFFICERS:04d}", "Working capital", principal, outstanding, r * 3, r * 2,
        BENCH_AS_OF - timedelta(days=1500), BENCH_AS_OF - timedelta(days=405), overdue, r == 7, r % 97 == 0,
    ]  # fmt: skip


def changed_rows(n: int) -> set[int]:
    """Every tenth row (10%)."""
    return set(range(1, n + 1, 10))


def write_csv(path: Path, n: int, changed: set[int] = frozenset()) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for g in range(1, n + 1):
            row = loan_values(g, changed=g in changed)
            writer.writerow(
                [
                    f"{v:.2f}" if isinstance(v, int) and not isinstance(v, bool) and 7 <= i <= 10 else
                    v.isoformat() if isinstance(v, date) else
                    ("yes" if v else "no") if isinstance(v, bool) else
                    "" if v is None else v
                    for i, v in enumerate(row)
                ]
            )  # fmt: skip


def write_xlsx(path: Path, n: int) -> None:
    """Real spreadsheet types: numbers as numbers, dates as dates (openpyxl's write-only mode)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Loans")
    sheet.append(HEADER)
    for g in range(1, n + 1):
        row = loan_values(g)
        row[7:11] = [float(v) for v in row[7:11]]
        row[14:16] = ["yes" if v else "no" for v in row[14:16]]
        sheet.append(row)
    workbook.save(path)


def reset_book() -> None:
    """An empty book (the branches and officers the files name are kept)."""
    from django.apps import apps

    existing = set(connection.introspection.table_names())
    optional = [
        m._meta.db_table
        for label in ("collections_app", "accountability", "notifications")
        if label in {a.label for a in apps.get_app_configs()}
        for m in apps.get_app_config(label).get_models()
        if m._meta.db_table in existing
    ]
    tables = [*optional, "loans_importrow", "loans_importbatch", "loans_classificationchange",
              "loans_classificationrun", "loans_collateral", "loans_guarantee", "loans_guarantor", "loans_loan",
              "loans_borrower"]  # fmt: skip
    sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    invalidate_book()


def settle() -> None:
    sql("VACUUM ANALYZE loans_loan")
    sql("VACUUM ANALYZE loans_borrower")
    sql("CHECKPOINT")


def ensure_bank() -> None:
    from loans.models import Branch, Role, User

    head, _ = Branch.objects.get_or_create(code="IB-HO", defaults={"name": "Import Head Office", "kind": "head_office"})
    for i in range(N_BRANCHES):
        Branch.objects.get_or_create(code=f"IB{i:03d}", defaults={"name": f"Import Branch {i}", "parent": head})
    branches = {b.code: b for b in Branch.objects.filter(code__startswith="IB")}
    missing = [
        User(username=f"imp_officer{i:04d}", role=Role.OFFICER, branch=branches[f"IB{i % N_BRANCHES:03d}"])
        for i in range(N_OFFICERS)
        if not User.objects.filter(username=f"imp_officer{i:04d}").exists()
    ]
    for user in missing:
        user.set_unusable_password()
    User.objects.bulk_create(missing)


def run_import(path: Path, *, dry_run: bool = False) -> Any:
    from loans.importing.services import ImportFiles, loan_book_import

    outcome = loan_book_import(files=ImportFiles(loans=str(path)), actor=None, dry_run=dry_run, as_of=BENCH_AS_OF)
    assert outcome.ok, outcome.errors[:5] or outcome.batch.message
    return outcome


def dump_loans() -> bytes:
    out = io.BytesIO()
    with connection.cursor() as cursor, cursor.copy("COPY loans_loan TO STDOUT (FORMAT binary)") as copy:
        for chunk in copy:
            out.write(chunk)
    return out.getvalue()


def load_loans(data: bytes) -> tuple[float, float]:
    """Raw COPY of the loans into loans_loan: (COPY statement, COPY + commit) in seconds."""
    sql("TRUNCATE loans_classificationchange, loans_importrow, loans_loan CASCADE")
    settle()
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor, cursor.copy("COPY loans_loan FROM STDIN (FORMAT binary)") as copy:
            copy.write(data)
        statement = time.perf_counter() - started
    return statement, time.perf_counter() - started


def import_in_own_process(path: Path) -> dict[str, Any]:
    """Import `path` in a fresh Python process; its peak memory and time."""
    script = (
        "import django, json, resource, time\n"
        "django.setup()\n"
        "from bench.bench_import import receivers_muted, run_import\n"
        "from pathlib import Path\n"
        "with receivers_muted():\n"
        "    started = time.perf_counter()\n"
        f"    outcome = run_import(Path({str(path)!r}))\n"
        "    seconds = time.perf_counter() - started\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "print(json.dumps({'ru_maxrss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,\n"
        "                  'vmhwm_mb': int(hwm[0].split()[1]) / 1024 if hwm else None,\n"
        "                  'seconds': seconds, 'created': outcome.created}))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "npl_recovery.settings", "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f"the import of {path.name} failed:\n{child.stderr[-3000:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    # Linux keeps ru_maxrss across exec: a child started from this (large) process reports at least
    # the parent's peak. VmHWM is the high-water mark of the child's own memory since its exec.
    result["peak_mb"] = result["vmhwm_mb"] or result["ru_maxrss_mb"]
    return result


def run(ctx: BenchContext) -> None:
    with receivers_muted():
        _run(ctx)


def _run(ctx: BenchContext) -> None:
    n = 10_000 if ctx.quick else 100_000
    big = 100_000 if ctx.quick else 1_000_000
    runs = 1 if ctx.quick else 3
    work = Path(tempfile.mkdtemp(prefix="npl-bench-import-"))
    new_csv, changed_csv, book_xlsx, big_csv = (work / f for f in ("new.csv", "changed.csv", "book.xlsx", "big.csv"))

    ensure_bank()
    made, _ = timed(
        lambda: (write_csv(new_csv, n), write_csv(changed_csv, n, changed_rows(n)), write_xlsx(book_xlsx, n))
    )
    ctx.report("files generated", seconds=made, rows=n, csv_mb=round(new_csv.stat().st_size / 2**20, 1),
               xlsx_mb=round(book_xlsx.stat().st_size / 2**20, 1))  # fmt: skip

    # Each trial times the import and, right after it, the reference on the same state, so that
    # the load of a shared machine falls on both; the figures are the medians of the trials.

    # --- a new book from CSV ----------------------------------------------------------------------
    imports, statements, references = [], [], []
    book = b""
    for _ in range(runs):
        reset_book()
        settle()
        seconds, outcome = timed(lambda: run_import(new_csv))
        assert outcome.created == n
        imports.append(seconds)
        book = dump_loans()
        statement, committed = load_loans(book)  # leaves the book exactly as the import did
        statements.append(statement)
        references.append(committed)
    reference, copy_statement = statistics.median(references), statistics.median(statements)
    new_s = statistics.median(imports)
    ctx.report(
        "CSV import, new book",
        seconds=new_s,
        reference=reference,
        reference_name="raw COPY into loans_loan, committed",
        target="< 3x",
        rows=n,
        rows_per_s=round(n / new_s),
        copy_statement_s=round(copy_statement, 3),
        ratio_to_copy_statement=round(new_s / copy_statement, 2),
        trials=[round(i / r, 2) for i, r in zip(imports, references, strict=True)],
    )

    # --- the monthly refresh: 10% of the rows changed ---------------------------------------------
    imports, references = [], []
    for _ in range(runs):
        _, committed = load_loans(book)  # the book as the new import left it: also the reference
        references.append(committed)
        settle()
        seconds, outcome = timed(lambda: run_import(changed_csv))
        imports.append(seconds)
        assert outcome.updated == len(changed_rows(n)) and outcome.unchanged == n - outcome.updated
    refresh_s, reference = statistics.median(imports), statistics.median(references)
    ctx.report(
        "CSV re-import, 10% of rows changed",
        seconds=refresh_s,
        reference=reference,
        reference_name="raw COPY into loans_loan, committed",
        target="< 3x",
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        trials=[round(i / r, 2) for i, r in zip(imports, references, strict=True)],
    )

    # --- XLSX end to end ----------------------------------------------------------------------------
    from python_calamine import CalamineWorkbook

    def calamine_read() -> float:
        started = time.perf_counter()
        with CalamineWorkbook.from_path(str(book_xlsx)) as workbook:
            rows = sum(1 for _ in workbook.get_sheet_by_name("Loans").iter_rows())
        assert rows == n + 1
        return time.perf_counter() - started

    imports, references, reads = [], [], []
    for _ in range(runs):
        reset_book()
        settle()
        seconds, outcome = timed(lambda: run_import(book_xlsx))
        assert outcome.created == n
        imports.append(seconds)
        reads.append(calamine_read())
        references.append(load_loans(dump_loans())[1] + reads[-1])
    xlsx_s, reference = statistics.median(imports), statistics.median(references)
    ctx.report(
        "XLSX import, new book, end to end",
        seconds=xlsx_s,
        reference=reference,
        reference_name="raw COPY committed + calamine read",
        target="< 3x",
        calamine_read_s=round(statistics.median(reads), 3),
        trials=[round(i / r, 2) for i, r in zip(imports, references, strict=True)],
    )

    # --- memory: a 1,000,000-row CSV in its own process ---------------------------------------------
    write_csv(big_csv, big)
    reset_book()
    settle()
    result = import_in_own_process(big_csv)
    ctx.report(
        f"peak memory, {big:,}-row CSV import",
        seconds=result["seconds"],
        target="< 500 MB",
        peak_rss_mb=round(result["peak_mb"]),
        ru_maxrss_mb=round(result["ru_maxrss_mb"]),
        parent_rss_mb=round(peak_rss_mb()),
        rows=result["created"],
        csv_mb=round(big_csv.stat().st_size / 2**20),
    )
    # For information: python-calamine keeps an XLSX sheet's cells (compactly, in Rust) while the
    # rows are handed over one at a time, so an XLSX import's memory grows with the sheet.
    reset_book()
    settle()
    result = import_in_own_process(book_xlsx)
    ctx.report(
        f"peak memory, {n:,}-row XLSX import",
        seconds=result["seconds"],
        peak_rss_mb=round(result["peak_mb"]),
        xlsx_mb=round(book_xlsx.stat().st_size / 2**20, 1),
    )

    reset_book()  # the next benchmark builds its own book
    for f in work.iterdir():
        f.unlink()
    work.rmdir()
