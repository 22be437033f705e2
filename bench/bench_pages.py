"""Every page of issue 15's table, the load run, and the whole-book export through gunicorn.

1. **Pages** (Django test client, DEBUG off, the whole response): each page is requested
   `PAGE_TRIALS` (5) times, each time right after the notification bell (the floor: a logged-in
   request that reads one small count), and reported as the median of the per-trial ratios to the
   bell, with its median time, its number of SQL queries and the target (< 100 ms; case page < 50 ms).
2. **Load** (gunicorn with the production gunicorn.conf.py, 2 sync workers, `LOAD_CLIENTS` client
   threads with logged-in sessions for `LOAD_SECONDS`): first the bell alone, then half queue
   pages and half case pages; throughput, its ratio to the bell's under the same load, p50/p95/p99
   and errors.
3. **Export** (the same gunicorn, and a Celery worker on Redis): the whole book asked for as a job
   through the pages (GET offers it, POST queues it: no request waits for the file), timed until
   the file is ready; CSV against a COPY TO of the same join (the export's own SQL), XLSX against
   the CSV of the same trial; the worker's peak resident memory. Before that, in this process, the
   XLSX writers on the same 100,000 loans against the CSV of those rows: rustpy-xlsxwriter fed by
   PostgreSQL's typed rows (write_xlsx_select, the jobs' writer), the same writer fed by the
   spec's Python rows (the jobs' writer before), and xlsxwriter's constant-memory mode. Without
   Redis the job runs in this process instead (said in the figure's note).

BENCH_LOAD_SECONDS (default 30; 10 with --quick) and BENCH_LOAD_CLIENTS (10) change the load run.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench.common import BenchContext, make_book, sql, timed
from loans.models import Branch, ExportJob, Role, User

ROOT = Path(__file__).resolve().parent.parent
PAGE_TRIALS = 5
PAGE_TARGET = 0.100
CASE_TARGET = 0.050
BELL = "the notification bell (floor)"


def _client(user: User) -> Client:
    # As behind the bank's proxy with DEBUG off: HTTPS (else SECURE_SSL_REDIRECT answers 301).
    client = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    return client


def _branch_manager(book: dict[str, Any]) -> User:
    branch = Branch.objects.get(code="BN001")
    user, _ = User.objects.get_or_create(
        username="bench_branch_manager", defaults={"role": Role.MANAGER, "branch": branch}
    )
    return user


def _cases_ready(as_of) -> int:
    from bench.bench_queue import _classify_if_needed
    from collections_app.services import cases_open_for_non_performing

    _classify_if_needed()
    open_cases = sql("SELECT count(*) FROM collections_app_collectioncase WHERE is_open")[0][0]
    if not open_cases:
        cases_open_for_non_performing(as_of=as_of)
        sql("VACUUM ANALYZE collections_app_collectioncase")
        open_cases = sql("SELECT count(*) FROM collections_app_collectioncase WHERE is_open")[0][0]
    return open_cases


def pages(book: dict[str, Any], case_id: int) -> list[tuple[str, str, str, dict[str, str], float]]:
    """(label, persona, url, query, target) for every page of the issue's table."""
    loans, cases = reverse("loans:loan_list"), reverse("collections_app:case_list")
    board, dashboard = reverse("accountability:board"), reverse("dashboard")
    return [
        ('loan list, search "Borrower 4242"', "ho", loans, {"q": "Borrower 4242"}, PAGE_TARGET),
        ("loan list sorted by balance", "ho", loans, {"sort": "-outstanding_principal"}, PAGE_TARGET),
        ("loan list, first page", "ho", loans, {}, PAGE_TARGET),
        ("loan list, non-performing filter", "ho", loans, {"non_performing": "yes"}, PAGE_TARGET),
        ("work queue, first page, head-office manager", "ho", cases, {}, PAGE_TARGET),
        ("work queue, last page, head-office manager", "ho", cases, {"page": "999999"}, PAGE_TARGET),
        *queue_page_200(cases),
        ("accountability board, head office", "ho", board, {}, PAGE_TARGET),
        ("accountability board, branch manager", "bm", board, {}, PAGE_TARGET),
        ("dashboard, head office", "ho", dashboard, {}, PAGE_TARGET),
        ("dashboard, branch manager", "bm", dashboard, {}, PAGE_TARGET),
        ("watch list, head office", "ho", reverse("accountability:prevention"), {}, PAGE_TARGET),
        ("case page", "ho", reverse("collections_app:case_detail", args=[case_id]), {}, CASE_TARGET),
    ]


def queue_page_200(url: str) -> list[tuple[str, str, str, dict[str, str], float]]:
    """Page 200 of the head-office manager's queue in every order the queue offers, both directions
    (issue 13: under 100 ms each)."""
    from collections_app.tables import CaseTable

    orders = [column.name for column in CaseTable([]).columns if column.orderable]
    out = [("work queue, page 200, default order, head-office manager", "ho", url, {"page": "200"}, PAGE_TARGET)]
    for order in orders:
        for key in (order, f"-{order}"):
            label = f"work queue, page 200, sort={key}, head-office manager"
            out.append((label, "ho", url, {"sort": key, "page": "200"}, PAGE_TARGET))
    return out


def count_queries(func) -> int:
    """The SQL statements `func` runs (counted at the connection, whatever DEBUG says)."""
    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        func()
    return count


def measure_pages(ctx: BenchContext, clients: dict[str, Client], page_list, trials: int = PAGE_TRIALS) -> None:
    bell = reverse("notifications:bell")
    for label, persona, url, query, target in page_list:
        client = clients[persona]
        first = client.get(url, query)  # warm: templates, plans, the session
        assert first.status_code == 200, f"{label}: {first.status_code}"
        queries = count_queries(lambda client=client, url=url, query=query: client.get(url, query))
        page_s, bell_s = [], []
        for _ in range(trials):
            bell_s.append(timed(lambda client=client: client.get(bell))[0])
            page_s.append(timed(lambda client=client, url=url, query=query: client.get(url, query))[0])
        ctx.report(
            label,
            seconds=page_s,
            references={BELL: bell_s},
            target=f"< {target:.3f} s median",
            queries=queries,
            met=statistics.median(page_s) < target,
        )


def board_counts(ctx: BenchContext, users: dict[str, User], trials: int = PAGE_TRIALS) -> None:
    """The board's per-officer case counts: the kept tally against the direct aggregate of every
    current share (the reference), in the same trials. A book without divisions gets its first
    divisions first (as the daily run gives them), or there would be nothing to count."""
    from accountability.models import ResponsibilityShare
    from accountability.selectors import officer_case_counts, officer_case_counts_direct
    from accountability.services import responsibility_assign_defaults, responsibility_tally_compact

    as_of = timezone.localdate()
    if not ResponsibilityShare.objects.exists():
        responsibility_assign_defaults(as_of=as_of)
        responsibility_tally_compact()
        sql("ANALYZE accountability_responsibilitytally")
    for persona, user in users.items():
        kept_s, direct_s = [], []
        for _ in range(trials):
            kept_s.append(timed(lambda user=user: officer_case_counts(user=user, as_of=as_of))[0])
            direct_s.append(timed(lambda user=user: officer_case_counts_direct(user=user, as_of=as_of))[0])
        ctx.report(
            f"board: per-officer case counts from the kept tally, {persona}",
            seconds=kept_s,
            references={"the direct aggregate of every current share": direct_s},
            target="well below the direct aggregate",
            officers=len(officer_case_counts(user=user, as_of=as_of)),
        )


def csv_writers(ctx: BenchContext, user: User, trials: int) -> None:
    """The CSV export job in this process, written by COPY (loans/export_copy.py) and by the Python
    writer, each against a COPY TO of the same join in the same trial."""
    import loans.export_jobs as jobs
    from loans.export_copy import copy_statement
    from loans.exporting import LOANS_EXPORT

    def job(by_copy: bool) -> float:
        jobs.copy_statement = copy_statement if by_copy else (lambda *args: None)
        try:
            start = time.perf_counter()
            made = jobs.export_job_create(
                actor=user, spec=LOANS_EXPORT, fmt="csv", query=None, chinese_row=False, as_of=timezone.localdate()
            )
            claimed = jobs.export_job_claim(job_id=made.pk)
            # With CELERY_TASK_ALWAYS_EAGER (the harness) the job already ran when it was created.
            made = jobs.export_job_run(job=claimed) if claimed else ExportJob.objects.get(pk=made.pk)
            seconds = time.perf_counter() - start
        finally:
            jobs.copy_statement = copy_statement
        assert made.status == "done", made.message
        made.file.delete(save=False)
        return seconds

    copy_s, by_copy, by_python = [], [], []
    for _ in range(trials):
        copy_s.append(copy_to_seconds(user))
        by_copy.append(job(True))
        by_python.append(job(False))
    for name, samples in (("COPY with the cells formatted in SQL", by_copy), ("the Python writer", by_python)):
        ctx.report(
            f"CSV export job in this process, written by {name}",
            seconds=samples,
            references={"COPY TO of the same join": copy_s},
            target="within 3x COPY TO",
        )


XLSX_SLICE = 100_000


def xlsx_writers(ctx: BenchContext, user: User, trials: int) -> None:
    """The XLSX writers in this process on the same rows (the book's first XLSX_SLICE loans of the
    loans export): rustpy-xlsxwriter fed by PostgreSQL's typed rows (write_xlsx_select, the export
    jobs' writer), the same writer fed by the spec's Python rows (write_xlsx_rust over spec.rows,
    the jobs' writer before) and xlsxwriter's constant-memory mode (write_xlsx; the small exports
    keep it), each against the CSV of the same rows written by COPY in the same trial."""
    from loans.export_copy import copy_statement, select_statement, write_csv_copy, write_xlsx_select
    from loans.exporting import LOANS_EXPORT, export_queryset, write_xlsx, write_xlsx_rust

    as_of = timezone.localdate()
    queryset = export_queryset(LOANS_EXPORT, user, None)[:XLSX_SLICE]
    headers = LOANS_EXPORT.header_rows(chinese_row=True)

    statement = copy_statement(LOANS_EXPORT, queryset, as_of)
    typed = select_statement(LOANS_EXPORT, queryset, as_of)

    def csv_by_copy(path: str) -> None:
        with open(path, "wb") as out:
            write_csv_copy(out, headers, statement)

    def by_sql(path: str) -> None:
        write_xlsx_select(path, headers, typed, title="Loans")

    def by_rust(path: str) -> None:
        write_xlsx_rust(path, headers, LOANS_EXPORT.rows(queryset, as_of), title="Loans")

    def by_xlsxwriter(path: str) -> None:
        with open(path, "wb") as out:
            write_xlsx(out, headers, LOANS_EXPORT.rows(queryset, as_of), title="Loans")

    def to_file(write) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export")
            return timed(lambda: write(path))[0]

    csv_s, sql_s, rust_s, py_s = [], [], [], []
    for _ in range(trials):
        csv_s.append(to_file(csv_by_copy))
        sql_s.append(to_file(by_sql))
        rust_s.append(to_file(by_rust))
        py_s.append(to_file(by_xlsxwriter))
    rows = sum(1 for _ in queryset.values("pk").iterator())
    writers = (
        ("rustpy-xlsxwriter fed by PostgreSQL's typed rows (the jobs' writer)", sql_s),
        ("rustpy-xlsxwriter fed by the spec's Python rows (before)", rust_s),
        ("xlsxwriter constant_memory", py_s),
    )
    for name, samples in writers:
        ctx.report(
            f"XLSX writer in this process, {rows:,} loans, {name}",
            seconds=samples,
            references={"the CSV of the same rows by COPY": csv_s},
            target="within 3x the CSV",
            rows=rows,
        )
    ctx.report(
        f"XLSX writer in this process, {rows:,} loans: rustpy-xlsxwriter against xlsxwriter",
        seconds=rust_s,
        references={"xlsxwriter constant_memory": py_s},
        target="the faster is kept",
    )


# --- gunicorn and the load run ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Server:
    """gunicorn with the production gunicorn.conf.py (2 sync workers), DEBUG off, on a free port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--worker-class", "sync",
             "--access-logfile", "/dev/null", "npl_recovery.wsgi:application"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        # Ready when both workers have loaded the app and answer (a connection is accepted earlier).
        deadline, answered = time.monotonic() + 180, 0
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                response, _ = self.request("GET", "/login/", "")
                answered += response.status == 200
                if answered >= 4:
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not start:\n{Path(self.log.name).read_text()[-3000:]}")

    def request(self, method: str, path: str, cookie: str, body: str = "", headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        all_headers = {"Host": "localhost", "X-Forwarded-Proto": "https", "Cookie": cookie, **(headers or {})}
        if body:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body or None, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def load_run(server: Server, paths: list[tuple[str, str]], seconds: float, clients: int) -> dict[str, Any]:
    """`clients` threads, each on its own keep-alive connection, cycling through (path, cookie)
    pairs for `seconds`: throughput, latency percentiles, errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        i = offset
        mine, bad = [], []
        while time.monotonic() < stop_at:
            path, cookie = paths[i % len(paths)]
            i += 1
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Host": "localhost", "X-Forwarded-Proto": "https", "Cookie": cookie})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad.append(f"{response.status} {path}")
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            except (OSError, http.client.HTTPException) as exc:
                bad.append(f"{type(exc).__name__} {path}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "errors": len(errors),
        "first_errors": errors[:5],
    }


# --- the whole-book export as a job -------------------------------------------------------------------


def _rss_hwm_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else None


def copy_to_seconds(user: User) -> float:
    """COPY TO of the export's own join (the same SQL the export reads, as CSV), to /dev/null."""
    from loans.exporting import LOANS_EXPORT, export_queryset

    queryset = export_queryset(LOANS_EXPORT, user, None).values(*LOANS_EXPORT.fields)
    statement, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        start = time.perf_counter()
        with raw.cursor() as c, c.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for _ in copy:
                pass
        return time.perf_counter() - start


def export_through_gunicorn(server: Server | None, cookie: str, user: User, fmt: str) -> tuple[float, ExportJob]:
    """Ask for the loans export as the page does and wait for its file: seconds to done."""
    path = reverse("loans:export", args=["loans", fmt])
    start = time.perf_counter()
    if server is None:
        from loans.export_jobs import export_job_claim, export_job_create, export_job_run
        from loans.exporting import LOANS_EXPORT

        job = export_job_create(
            actor=user, spec=LOANS_EXPORT, fmt=fmt, query=None, chinese_row=False, as_of=timezone.localdate()
        )
        job.refresh_from_db()
        if not job.is_finished:  # with CELERY_TASK_ALWAYS_EAGER the create ran it already
            job = export_job_run(job=export_job_claim(job_id=job.pk))
    else:
        response, body = server.request("GET", path, cookie)
        assert response.status == 200, (response.status, body[:500])
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert token, "the page should offer the export as a job"
        csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", ""))
        cookies = cookie + (f"; csrftoken={csrf.group(1)}" if csrf else "")
        response, body = server.request(
            "POST", path, cookies, body=f"csrfmiddlewaretoken={token.group(1).decode()}&query=",
            headers={"Referer": f"https://localhost{path}", "Origin": "https://localhost"},
        )  # fmt: skip
        assert response.status == 302, (response.status, body[:500])
        job_id = int(re.search(r"/jobs/(\d+)/", response.getheader("Location")).group(1))
        while not ExportJob.objects.get(pk=job_id).is_finished:
            time.sleep(0.2)
        job = ExportJob.objects.get(pk=job_id)
    seconds = time.perf_counter() - start
    assert job.status == "done", (job.status, job.message)
    return seconds, job


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "npl_recovery", "worker", "-Q", env["NPL_EXPORT_QUEUE"],
         "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"bench-exports-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(6)  # connected and listening (a job queued before then waits for it anyway)
    return proc


def run(ctx: BenchContext) -> None:
    n = 100_000 if ctx.quick else 1_000_000
    build, book = timed(lambda: make_book(n_loans=n))
    ctx.report("book ready (built or reused)", seconds=build, loans=book["loans"])
    open_cases = _cases_ready(timezone.localdate())
    ho, bm = book["manager"], _branch_manager(book)
    hot = book["hot_officer"]
    case_id = sql("SELECT id FROM collections_app_collectioncase WHERE is_open ORDER BY id LIMIT 1")[0][0]
    sql("ANALYZE")

    # 1. every page beside the bell; the board's kept counts; the CSV writers in this process
    measure_pages(ctx, {"ho": _client(ho), "bm": _client(bm)}, pages(book, case_id))
    board_counts(ctx, {"head office": ho, "branch manager": bm})
    settings.NPL_EXPORTS_PER_HOUR = 1000
    csv_writers(ctx, ho, max(1, ctx.trials))
    xlsx_writers(ctx, ho, max(1, ctx.trials))

    # 2. the load run
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", "10" if ctx.quick else "30"))
    clients = int(os.environ.get("BENCH_LOAD_CLIENTS", "10"))
    redis = settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    queue = f"bench-exports-{os.getpid()}"
    env = {
        **os.environ, "DEBUG": "0", "CELERY_TASK_ALWAYS_EAGER": "0", "NPL_EXPORT_QUEUE": queue,
        "NPL_EXPORTS_PER_HOUR": "1000", "GUNICORN_WORKERS": "2", "DATABASE_POOL": "0",
    }  # fmt: skip
    server = Server(env)
    worker, rss = None, {}
    try:
        hot_cookie, ho_cookie = _session_cookie(hot), _session_cookie(ho)
        load_run(server, [(reverse("notifications:bell"), hot_cookie)], 3, clients)  # warm-up, not counted
        bell = load_run(server, [(reverse("notifications:bell"), hot_cookie)], seconds, clients)
        case_ids = [r[0] for r in sql("SELECT id FROM collections_app_collectioncase "
                                      "WHERE officer_id = %s AND is_open ORDER BY id LIMIT 200", [hot.pk])]  # fmt: skip
        queue_url = reverse("collections_app:case_list")
        mix = []
        for i, cid in enumerate(case_ids):
            mix.append((f"{queue_url}?page={1 + i % 20}", hot_cookie))
            mix.append((reverse("collections_app:case_detail", args=[cid]), hot_cookie))
        mixed = load_run(server, mix, seconds, clients)
        ctx.report(
            f"load: {clients} clients for {seconds:.0f} s, half queue pages, half case pages (gunicorn, 2 sync)",
            target=">= 0.5x the bell's throughput, p99 < 500 ms, 0 errors",
            throughput_ratio_to_bell=round(mixed["per_second"] / bell["per_second"], 3) if bell["per_second"] else None,
            bell=bell,
            **mixed,
        )

        # 3. the whole book exported as a job through the same gunicorn
        settings.NPL_EXPORTS_PER_HOUR = 1000  # the in-process path (no Redis) asks as the bench's user
        if redis:
            worker = _start_worker(env)
            rss["start"] = _rss_hwm_mb(worker.pid)
        trials = max(1, min(ctx.trials, 1 if not ctx.quick else ctx.trials))
        csv_s, xlsx_s, copy_s = [], [], []
        for _ in range(trials):
            copy_s.append(copy_to_seconds(ho))
            seconds_csv, job_csv = export_through_gunicorn(server if redis else None, ho_cookie, ho, "csv")
            csv_s.append(seconds_csv)
            rss["csv"] = _rss_hwm_mb(worker.pid) if worker else None
            seconds_xlsx, job_xlsx = export_through_gunicorn(server if redis else None, ho_cookie, ho, "xlsx")
            xlsx_s.append(seconds_xlsx)
            rss["xlsx"] = _rss_hwm_mb(worker.pid) if worker else None
            for job in (job_csv, job_xlsx):
                job.file.delete(save=False)
        where = "through gunicorn, a job on a Celery worker" if redis else "in this process (no Redis: no worker)"
        ctx.report(
            "whole-book export, CSV, " + where,
            seconds=csv_s,
            references={"COPY TO of the same join": copy_s},
            target="within 3x COPY TO, no timeout",
            rows=job_csv.rows_written,
            worker_peak_rss_mb=rss.get("csv"),
            worker_rss_at_start_mb=rss.get("start"),
        )
        ctx.report(
            "whole-book export, XLSX (rustpy-xlsxwriter fed by PostgreSQL's typed rows), " + where,
            seconds=xlsx_s,
            references={"the CSV export of the same trial": csv_s, "COPY TO of the same join": copy_s},
            target="within 3x the CSV, memory flat",
            rows=job_xlsx.rows_written,
            worker_peak_rss_mb=rss.get("xlsx"),
        )
    finally:
        server.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
    ctx.report("open cases in the book", open_cases=open_cases)
