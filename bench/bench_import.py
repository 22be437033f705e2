"""Loan-book import (issues 5 and 15), on PostgreSQL, as the import page and the command run it:
the receivers are on (each new non-performing loan gets its case when the import commits).

Each figure is the median over trials of its ratio to two references measured in the same trial:
- **plain COPY**: the same file (CSV) with one COPY into a table with the template's columns
  (typed, no index, no constraint), committed. What reading a file into PostgreSQL costs at least.
- **COPY into loans_loan**: the loans the import wrote, with one binary COPY into loans_loan (same
  indexes and foreign keys), committed: PostgreSQL checks Django's deferred foreign keys at commit,
  about half of its time. The COPY statement alone is reported as well.
The import does more than either: it reads and checks every row in Python, stages the rows,
checks across rows, upserts the borrowers, records each row's outcome (unchanged rows as runs),
the new loans' first class and their history, reclassifies updated loans and opens the cases of new
non-performing ones.

Targets (issue 15, against the plain COPY): an unchanged 100,000-row book within 3x, a new book
within 8x, 10% changed within 5x. XLSX is against calamine reading the workbook plus each COPY.
Peak memory of a 1,000,000-row CSV import (its own process, receivers on): under 500 MB.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from bench.common import BENCH_AS_OF, BenchContext, invalidate_book, peak_rss_mb, sql, timed
from loans.importing.columns import LOAN_COLUMNS, Kind
from loans.importing.services import ImportFiles, loan_book_import
from loans.models import Branch, Role, User

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


# Five-year loans, disbursed 1,500 days before the file: none has matured, so the book is as the
# docstring of loan_values says (with loans matured 405 days before the file, every loan with a balance
# was past maturity and non-performing, and the import opened a case for each).
TERM_DAYS = 1825


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
        BENCH_AS_OF - timedelta(days=1500), BENCH_AS_OF + timedelta(days=TERM_DAYS - 1500), overdue, r == 7,
        r % 97 == 0,
    ]  # fmt: skip


def changed_rows(n: int) -> set[int]:
    """Every tenth row (10%)."""
    return set(range(1, n + 1, 10))


def refinanced_rows(n: int) -> set[int]:
    """Half of the changed rows (issue 11): the borrower also gets a new loan 5 days before the file."""
    return set(range(1, n + 1, 20))


def new_loan_values(g: int) -> list[Any]:
    """A new loan to the borrower of row g, disbursed 5 days before the file (a refinancing)."""
    row = loan_values(g)
    row[0] = f"IR{g:09d}"
    row[8] = row[7]
    row[9] = row[10] = 0
    row[11:14] = [BENCH_AS_OF - timedelta(days=5), BENCH_AS_OF + timedelta(days=1095), None]
    return row


def write_csv(path: Path, n: int, changed: set[int] = frozenset(), refinanced: set[int] = frozenset()) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        rows = (loan_values(g, changed=g in changed) for g in range(1, n + 1))
        for row in itertools.chain(rows, (new_loan_values(g) for g in sorted(refinanced))):
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
    existing = set(connection.introspection.table_names())
    optional = [
        m._meta.db_table
        for label in ("collections_app", "accountability", "notifications")
        if label in {a.label for a in apps.get_app_configs()}
        for m in apps.get_app_config(label).get_models()
        if m._meta.db_table in existing
    ]
    tables = [*optional, "loans_importrow", "loans_importrowrun", "loans_importbatch", "loans_classificationchange",
              "loans_classificationrun", "loans_collateral", "loans_guarantee", "loans_guarantor", "loans_loan",
              "loans_borrower"]  # fmt: skip
    sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    invalidate_book()


def settle() -> None:
    sql("VACUUM ANALYZE loans_loan")
    sql("VACUUM ANALYZE loans_borrower")
    sql("CHECKPOINT")


def ensure_bank() -> None:
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
    sql("TRUNCATE loans_classificationchange, loans_importrow, loans_importrowrun, loans_loan CASCADE")
    settle()
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor, cursor.copy("COPY loans_loan FROM STDIN (FORMAT binary)") as copy:
            copy.write(data)
        statement = time.perf_counter() - started
    return statement, time.perf_counter() - started


# The template's columns, typed as the import reads them.
PLAIN_TABLE = "bench_plain_loans"
_PLAIN_TYPES = {Kind.AMOUNT: "numeric(18,2)", Kind.DATE: "date", Kind.BOOL: "boolean"}


def create_plain_table() -> None:
    columns = ", ".join(f"{c.field} {_PLAIN_TYPES.get(c.kind, f'varchar({c.max_length})')}" for c in LOAN_COLUMNS)
    sql(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
    sql(f"CREATE TABLE {PLAIN_TABLE} ({columns})")


def plain_copy(path: Path) -> float:
    """The file into the template's table with one COPY, committed: seconds."""
    sql(f"TRUNCATE {PLAIN_TABLE}")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(f"COPY {PLAIN_TABLE} ({', '.join(HEADER)}) FROM STDIN (FORMAT csv, HEADER true)") as copy,
        open(path, "rb") as source,
    ):
        while chunk := source.read(1 << 20):
            copy.write(chunk)
    seconds = time.perf_counter() - started
    assert sql(f"SELECT count(*) FROM {PLAIN_TABLE}")[0][0] > 0
    return seconds


def import_in_own_process(path: Path) -> dict[str, Any]:
    """Import `path` in a fresh Python process; its peak memory and time."""
    script = (
        "import django, json, resource, time\n"
        "django.setup()\n"
        "from bench.bench_import import run_import\n"
        "from pathlib import Path\n"
        "started = time.perf_counter()\n"
        f"outcome = run_import(Path({str(path)!r}))\n"
        "seconds = time.perf_counter() - started\n"
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


PLAIN = "plain COPY of the file, committed"
INTO_LOANS = "COPY into loans_loan, committed"


def run(ctx: BenchContext) -> None:
    n = 10_000 if ctx.quick else 100_000
    # BENCH_IMPORT_BIG_ROWS: rows of the memory run in its own process (0: not run, and the results say so).
    big = int(os.environ.get("BENCH_IMPORT_BIG_ROWS", 100_000 if ctx.quick else 1_000_000))
    work = Path(tempfile.mkdtemp(prefix="npl-bench-import-"))
    new_csv, changed_csv, book_xlsx, big_csv = (work / f for f in ("new.csv", "changed.csv", "book.xlsx", "big.csv"))
    refinanced_csv = work / "refinanced.csv"

    ensure_bank()
    create_plain_table()
    made, _ = timed(
        lambda: (
            write_csv(new_csv, n),
            write_csv(changed_csv, n, changed_rows(n)),
            write_csv(refinanced_csv, n, changed_rows(n), refinanced_rows(n)),
            write_xlsx(book_xlsx, n),
        )
    )
    ctx.report("files generated", seconds=made, rows=n, csv_mb=round(new_csv.stat().st_size / 2**20, 1),
               xlsx_mb=round(book_xlsx.stat().st_size / 2**20, 1))  # fmt: skip

    # --- a new book from CSV ----------------------------------------------------------------------
    imports, plains, intos, statements, cases = [], [], [], [], []
    book = b""
    for _ in range(ctx.trials):
        reset_book()
        settle()
        seconds, outcome = timed(lambda: run_import(new_csv))
        assert outcome.created == n
        imports.append(seconds)
        cases.append(sql("SELECT count(*) FROM collections_app_collectioncase")[0][0])
        book = dump_loans()
        statement, committed = load_loans(book)  # leaves the loans exactly as the import wrote them
        statements.append(statement)
        intos.append(committed)
        plains.append(plain_copy(new_csv))
    ctx.report(
        "CSV import, new book",
        seconds=imports,
        references={PLAIN: plains, INTO_LOANS: intos, "COPY into loans_loan, statement alone": statements},
        target="< 8x plain COPY",
        rows=n,
        cases_opened=cases[-1],
    )

    # --- the same file again, and the monthly refresh with 10% of the rows changed ----------------
    for label, path, target, changed in (
        ("CSV re-import, nothing changed", new_csv, "< 3x plain COPY", 0),
        ("CSV re-import, 10% of rows changed", changed_csv, "< 5x plain COPY", len(changed_rows(n))),
        # Issue 11: the balances lowered, half of them refinanced (a new loan to the same borrower):
        # ledger entries, reported falls and loans-by-loans flags included.
        ("CSV re-import, 10% lowered, half refinanced", refinanced_csv, "< 3x plain COPY", len(changed_rows(n))),
    ):
        imports, plains, intos = [], [], []
        for _ in range(ctx.trials):
            intos.append(load_loans(book)[1])  # the book as the new import left it
            plains.append(plain_copy(path))
            settle()
            seconds, outcome = timed(lambda path=path: run_import(path))
            imports.append(seconds)
            assert outcome.updated == changed and outcome.unchanged == n - changed, outcome.summary
        phases = outcome.batch.counts
        ctx.report(
            label,
            seconds=imports,
            references={PLAIN: plains, INTO_LOANS: intos},
            target=target,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            created=outcome.created,
            phase_seconds=phases.get("seconds"),
            ledger=phases.get("ledger"),
            flags=phases.get("flags"),
        )

    # --- XLSX end to end ----------------------------------------------------------------------------
    def calamine_read() -> float:
        started = time.perf_counter()
        with CalamineWorkbook.from_path(str(book_xlsx)) as workbook:
            rows = sum(1 for _ in workbook.get_sheet_by_name("Loans").iter_rows())
        assert rows == n + 1
        return time.perf_counter() - started

    imports, plains, intos, reads = [], [], [], []
    for _ in range(ctx.trials):
        reset_book()
        settle()
        seconds, outcome = timed(lambda: run_import(book_xlsx))
        assert outcome.created == n
        imports.append(seconds)
        reads.append(calamine_read())
        intos.append(load_loans(dump_loans())[1] + reads[-1])
        plains.append(plain_copy(new_csv) + reads[-1])
    ctx.report(
        "XLSX import, new book, end to end",
        seconds=imports,
        references={f"calamine read + {PLAIN}": plains, f"calamine read + {INTO_LOANS}": intos},
        references_note="the plain COPY reads the CSV with the same rows",
        calamine_read_s=[round(r, 3) for r in reads],
    )

    # --- memory: a 1,000,000-row CSV in its own process ---------------------------------------------
    if big:
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
    else:
        ctx.report(
            "peak memory, large CSV import",
            target="< 500 MB",
            note="not measured in this run (BENCH_IMPORT_BIG_ROWS=0)",
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
    sql(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
    for f in work.iterdir():
        f.unlink()
    work.rmdir()
