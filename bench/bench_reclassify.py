"""Reclassifying the whole book (issue 2): target under 60 s for 1,000,000 loans on PostgreSQL.

Reference: one UPDATE over the same table in the same run (it resets every loan's class, so the
first reclassification below changes every loan and writes its history).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from bench.common import BENCH_AS_OF, BenchContext, make_book, peak_rss_mb, sql, timed
from loans.signals import loans_reclassified


@contextmanager
def signal_muted(signal):
    """Classification alone: the cases opened on loans_reclassified are timed by daily_checks."""
    saved = signal.receivers
    signal.receivers = []
    signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        signal.receivers = saved
        signal.sender_receivers_cache.clear()


def run(ctx: BenchContext) -> None:
    with signal_muted(loans_reclassified):
        _run(ctx)


def _run(ctx: BenchContext) -> None:
    from loans.services import loans_reclassify

    n = 100_000 if ctx.quick else 1_000_000
    build, _ = timed(lambda: make_book(n_loans=n))
    ctx.report("book ready (built or reused)", seconds=build, loans=n)

    reference, _ = timed(
        lambda: sql(
            "UPDATE loans_loan SET five_level_class = 'normal', four_level_class = 'normal', "
            "five_level_rule = '', four_level_rule = '', specific_provision = 0"
        )
    )
    sql("TRUNCATE loans_classificationchange, loans_classificationrun")
    sql("VACUUM ANALYZE loans_loan")

    first_s, first = timed(lambda: loans_reclassify(as_of=BENCH_AS_OF))
    ctx.report(
        "reclassify book, every loan changes",
        seconds=first_s,
        reference=reference,
        reference_name="one UPDATE of the table",
        target="< 60 s",
        loans=first.examined,
        changed=first.changed,
        history_rows=sql("SELECT count(*) FROM loans_classificationchange")[0][0],
    )
    next_s, nxt = timed(lambda: loans_reclassify(as_of=BENCH_AS_OF + timedelta(days=1)))
    ctx.report(
        "reclassify book, next day (few change)",
        seconds=next_s,
        reference=reference,
        reference_name="one UPDATE of the table",
        target="< 60 s",
        changed=nxt.changed,
    )
    again_s, again = timed(lambda: loans_reclassify(as_of=BENCH_AS_OF + timedelta(days=1)))
    ctx.report(
        "reclassify book, same day again (idempotent)",
        seconds=again_s,
        reference=reference,
        reference_name="one UPDATE of the table",
        changed=again.changed,
        peak_rss_mb=round(peak_rss_mb()),
    )
