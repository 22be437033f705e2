"""Reclassifying the whole book (issue 2), as the daily run does it: target under 60 s for
1,000,000 loans on PostgreSQL.

Included in the timed part: reading and classifying every loan, writing the classes, provisions
and history rows, and what the loans_reclassified signal does on commit: the collection app opens
a case for every loan that became non-performing (about 210,000 on the first day). Not included:
the first divisions of responsibility and the other daily checks (bench_daily_checks times them).

Each trial resets every loan's class with one UPDATE of the table, which is also the reference of
that trial, and removes the cases; then the book is reclassified three times: the first day (every
loan changes, every case opens), the next day (few change) and the same day again (nothing changes).
"""

from __future__ import annotations

from datetime import timedelta

from bench.common import BENCH_AS_OF, BenchContext, make_book, peak_rss_mb, sql, timed, truncate_apps
from loans.services import loans_reclassify

REFERENCE = "one UPDATE of the loans table"


def _reset() -> float:
    """An unclassified book without cases; returns the seconds of the UPDATE (the reference)."""
    truncate_apps("collections_app", "accountability", "notifications", "audit")
    seconds, _ = timed(
        lambda: sql(
            "UPDATE loans_loan SET five_level_class = 'normal', four_level_class = 'normal', "
            "five_level_rule = '', four_level_rule = '', specific_provision = 0"
        )
    )
    sql("TRUNCATE loans_classificationchange, loans_classificationrun")
    sql("VACUUM ANALYZE loans_loan")
    return seconds


def run(ctx: BenchContext) -> None:
    n = 100_000 if ctx.quick else 1_000_000
    build, _ = timed(lambda: make_book(n_loans=n))
    ctx.report("book ready (built or reused)", seconds=build, loans=n)

    references, first, following, again = [], [], [], []
    for _ in range(ctx.trials):
        references.append(_reset())
        seconds, result = timed(lambda: loans_reclassify(as_of=BENCH_AS_OF))
        first.append(seconds)
        cases = sql("SELECT count(*) FROM collections_app_collectioncase WHERE is_open")[0][0]
        assert cases > 0, "the case opener did not run"
        history = sql("SELECT count(*) FROM loans_classificationchange")[0][0]
        seconds, following_result = timed(lambda: loans_reclassify(as_of=BENCH_AS_OF + timedelta(days=1)))
        following.append(seconds)
        seconds, again_result = timed(lambda: loans_reclassify(as_of=BENCH_AS_OF + timedelta(days=1)))
        again.append(seconds)
        assert again_result.changed == 0

    ctx.report(
        "reclassify book, every loan changes, cases opened",
        seconds=first,
        references={REFERENCE: references},
        target="< 60 s",
        loans=result.examined,
        changed=result.changed,
        history_rows=history,
        became_non_performing=len(result.became_non_performing),
        cases_opened=cases,
    )
    ctx.report(
        "reclassify book, next day (few change)",
        seconds=following,
        references={REFERENCE: references},
        target="< 60 s",
        changed=following_result.changed,
        cases_opened=len(following_result.became_non_performing),
    )
    ctx.report(
        "reclassify book, same day again (idempotent)",
        seconds=again,
        references={REFERENCE: references},
        changed=again_result.changed,
        peak_rss_mb=round(peak_rss_mb()),
    )
