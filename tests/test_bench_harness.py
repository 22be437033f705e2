"""The benchmark harness reports what it measured: the median of per-trial ratios."""

from __future__ import annotations

import pytest

from bench.common import make_figure


def test_a_figure_is_the_median_of_its_per_trial_ratios_not_the_ratio_of_medians():
    # Trials: 10/5 = 2, 2/2 = 1, 9/3 = 3 -> median 2 (the ratio of the medians would be 9/3 = 3).
    figure = make_figure("bench", "work", seconds=[10, 2, 9], references={"UPDATE": [5, 2, 3], "COPY": [1, 1, 1]})
    assert figure.seconds == 9
    assert figure.ratio == 2
    assert [r.ratio for r in figure.references] == [2, 9]
    assert figure.references[0].trial_ratios == [2, 1, 3]


def test_a_reference_needs_a_time_for_every_trial():
    with pytest.raises(ValueError, match="3 trials but 2 of reference"):
        make_figure("bench", "work", seconds=[1, 2, 3], references={"UPDATE": [1, 2]})


@pytest.mark.django_db
def test_the_page_benchmark_reports_each_page_beside_the_bell_with_its_queries(bank_for_pages):
    from bench.bench_pages import BELL, measure_pages
    from bench.common import BenchContext

    ctx = BenchContext(bench="pages")
    client = bank_for_pages
    measure_pages(ctx, {"ho": client}, [("loan list", "ho", "/loans/", {}, 0.1), ("queue", "ho", "/cases/", {}, 0.1)],
                  trials=3)  # fmt: skip
    assert [f.name for f in ctx.figures] == ["loan list", "queue"]
    for figure in ctx.figures:
        assert len(figure.trial_seconds) == 3 and figure.references[0].name == BELL
        assert len(figure.references[0].trial_ratios) == 3 and figure.ratio > 0
        assert figure.extra["queries"] > 0 and isinstance(figure.extra["met"], bool)


@pytest.mark.django_db(transaction=True)
def test_the_load_run_counts_requests_percentiles_and_errors(live_server, manager):
    from types import SimpleNamespace
    from urllib.parse import urlparse

    from bench.bench_pages import _percentile, _session_cookie, load_run

    assert _percentile([0.3, 0.1, 0.2, 0.4], 50) in (0.2, 0.3) and _percentile([1.0] * 9 + [9.0], 99) == 9.0
    server = SimpleNamespace(port=urlparse(live_server.url).port)
    cookie = _session_cookie(manager)
    result = load_run(server, [("/notifications/bell/", cookie), ("/no-such-page/", cookie)], seconds=1.0, clients=2)
    assert result["requests"] > 2 and result["per_second"] > 0
    assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert result["errors"] > 0 and any("404" in e for e in result["first_errors"])  # the page that is not there


@pytest.fixture
def bank_for_pages(client, manager, branch):
    from tests.factories import LoanFactory

    for i in range(3):
        LoanFactory(loan_no=f"BP-{i}", branch=branch)
    client.force_login(manager)
    return client


@pytest.mark.django_db
def test_the_export_figure_times_a_job_and_a_copy_of_the_same_join(bank_for_pages, manager, settings, tmp_path):
    from django.db import connection

    from bench.bench_pages import copy_to_seconds, export_through_gunicorn

    if connection.vendor != "postgresql":
        pytest.skip("COPY TO needs PostgreSQL")
    settings.MEDIA_ROOT = str(tmp_path)
    assert copy_to_seconds(manager) > 0
    seconds, job = export_through_gunicorn(None, "", manager, "xlsx")  # no server: the job runs here
    assert seconds > 0 and job.status == "done" and job.rows_written == 3


@pytest.mark.django_db
def test_the_board_counts_and_csv_writer_figures(bank_for_pages, require_postgres, manager, branch, settings, tmp_path):
    from bench.bench_pages import board_counts, csv_writers
    from bench.common import BenchContext
    from tests.accountability.conftest import open_npl_case

    settings.MEDIA_ROOT = str(tmp_path)
    settings.NPL_EXPORTS_PER_HOUR = 1000
    open_npl_case(branch=branch, officer=manager)
    ctx = BenchContext(bench="pages")
    board_counts(ctx, {"branch manager": manager}, trials=2)
    csv_writers(ctx, manager, trials=2)
    names = [f.name for f in ctx.figures]
    assert names == [
        "board: per-officer case counts from the kept tally, branch manager",
        "CSV export job in this process, written by COPY with the cells formatted in SQL",
        "CSV export job in this process, written by the Python writer",
    ]
    assert ctx.figures[0].extra["officers"] == 1
    assert all(len(f.references[0].trial_ratios) == 2 and f.ratio > 0 for f in ctx.figures)


@pytest.mark.django_db
def test_the_xlsx_writers_figure_measures_both_writers_on_the_same_rows(bank_for_pages, require_postgres, manager):
    from bench.bench_pages import xlsx_writers
    from bench.common import BenchContext

    ctx = BenchContext(bench="pages")
    xlsx_writers(ctx, manager, trials=2)
    assert [f.name for f in ctx.figures] == [
        "XLSX writer in this process, 3 loans, rustpy-xlsxwriter fed by PostgreSQL's typed rows (the jobs' writer)",
        "XLSX writer in this process, 3 loans, rustpy-xlsxwriter fed by the spec's Python rows (before)",
        "XLSX writer in this process, 3 loans, xlsxwriter constant_memory",
        "XLSX writer in this process, 3 loans: rustpy-xlsxwriter against xlsxwriter",
    ]
    assert all(f.extra.get("rows", 3) == 3 and len(f.references[0].trial_ratios) == 2 for f in ctx.figures)
