"""The kept figures' branch roll-ups and the claims' limitation cells (migration
0004_dash_money_rollup): a dashboard that nothing narrows below a branch reads the roll-ups; the
claims running out of time are summed from kept cells by the month their limitation ends, and by the
day in the two months the window's ends fall in. Every figure equals dashboards.recompute, and
the kept tables their definition, as loans, cases and borrowers change (the triggers, PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from collections_app.models import CollectionCase
from dashboards import figures, kept, recompute
from dashboards.maintain import compact, differences
from dashboards.models import (
    BookCell,
    BookRoll,
    CaseCell,
    CaseRoll,
    CostCell,
    CostRoll,
    LedgerCell,
    LedgerRoll,
    LimitationCell,
    LimitationRoll,
)
from dashboards.query import DashboardQuery
from loans.models import Borrower, Loan
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

TODAY = date(2026, 6, 15)  # the window: 15 Jun to 13 Sep 2026 (90 days)
D = Decimal

# (limitation ends, open, principal): time-barred before 15 Jun, within the window to 13 Sep.
CLAIMS = [
    (date(2026, 3, 10), True, "1000"),  # barred, a month wholly before the window (kept cells)
    (date(2026, 6, 1), True, "2000"),  # barred, the as-of month (by day)
    (date(2026, 6, 14), True, "4000"),  # barred, the day before
    (date(2026, 6, 15), True, "8000"),  # within: the first day
    (date(2026, 6, 30), True, "16000"),  # within, the as-of month
    (date(2026, 7, 20), True, "32000"),  # within, a month wholly inside (kept cells)
    (date(2026, 8, 31), True, "64000"),  # within, a month wholly inside
    (date(2026, 9, 1), True, "128000"),  # within, the window's last month (by day)
    (date(2026, 9, 13), True, "256000"),  # within: the last day
    (date(2026, 9, 14), True, "512000"),  # after the window
    (date(2027, 1, 1), True, "1024000"),  # long after
    (date(2026, 3, 1), False, "2048000"),  # an ended case counts nowhere
    (None, True, "4096000"),  # no limitation period
]


def _claims(branch, outlet, other_branch, officer, outlet_officer, outsider) -> list[CollectionCase]:
    places = [(branch, officer), (outlet, outlet_officer), (other_branch, outsider)]
    out = []
    for n, (ends, is_open, principal) in enumerate(CLAIMS):
        where, who = places[n % 3]
        loan = LoanFactory(
            loan_no=f"LIM{n}",
            branch=where,
            responsible_officer=who,
            borrower=BorrowerFactory(kind=Borrower.Kind.ENTERPRISE if n % 2 else Borrower.Kind.INDIVIDUAL),
            product="Farm" if n % 4 == 0 else "Working capital",
            principal=D(principal),
            outstanding_principal=D(principal),
            five_level_class="loss",
            four_level_class="bad_debt",
        )
        out.append(
            CollectionCase.objects.create(
                loan=loan,
                branch=where,
                officer=who,
                measure="legal" if is_open else "closed",
                is_open=is_open,
                recovery_deadline=date(2026, 12, 31),
                opened_on=date(2026, 1, 5),
                measure_since=date(2026, 1, 5),
                urgency_on=ends or date(2026, 12, 31),
                limitation_expires_on=ends,
            )
        )
    return out


def _queries(branch, outsider, officer) -> list[DashboardQuery]:
    whole = DashboardQuery(branch=None, month=TODAY.replace(day=1), today=TODAY)
    return [
        whole,
        whole.with_(branch=branch),
        whole.with_(officer_id=officer.pk),
        whole.with_(drill_officer_id=outsider.pk),
        whole.with_(product="Farm"),
        whole.with_(borrower_kind=Borrower.Kind.ENTERPRISE),
    ]


def _assert_all_equal(queries) -> None:
    assert [d.as_json() for d in differences().differences] == []
    for q in queries:
        for name, figure in figures.FIGURES.items():
            assert figure(q) == recompute.FIGURES[name](q), (name, q)


def test_claims_running_out_of_time_at_every_edge_of_the_window(
    head_office, branch, outlet, other_branch, officer, outlet_officer, outsider
):
    _claims(branch, outlet, other_branch, officer, outlet_officer, outsider)
    whole, *_ = queries = _queries(branch, outsider, officer)
    lim = figures.limitation(whole)
    assert (lim.as_of, lim.window_ends) == (TODAY, date(2026, 9, 13))
    assert (lim.barred_cases, lim.barred_principal) == (3, D("7000.00"))
    assert (lim.warning_cases, lim.warning_principal) == (6, D("504000.00"))
    # Kept by month and by day.
    assert LimitationRoll.objects.filter(grain="month", ends_on=date(2026, 3, 1), cases=1).exists()
    assert LimitationCell.objects.filter(grain="day", ends_on=date(2026, 6, 14), cases=1).exists()
    _assert_all_equal(queries)


def test_the_claims_follow_their_loans_and_cases(head_office, branch, outlet, other_branch, officer, outlet_officer,
                                                 outsider):  # fmt: skip
    claims = _claims(branch, outlet, other_branch, officer, outlet_officer, outsider)
    queries = _queries(branch, outsider, officer)
    # A payment on a time-barred claim's loan, a claim ended, one's limitation restarted, a loan moved
    # to another branch and officer, a borrower's kind changed, a claim reopened: set-based updates.
    Loan.objects.filter(pk=claims[0].loan_id).update(outstanding_principal=D("600"))
    CollectionCase.objects.filter(pk=claims[5].pk).update(is_open=False, measure="closed")
    CollectionCase.objects.filter(pk=claims[1].pk).update(limitation_expires_on=date(2026, 7, 2))
    Loan.objects.filter(pk=claims[6].loan_id).update(branch=other_branch, responsible_officer=outsider)
    Borrower.objects.filter(pk=claims[7].loan.borrower_id).update(kind=Borrower.Kind.INDIVIDUAL)
    CollectionCase.objects.filter(pk=claims[11].pk).update(is_open=True, measure="legal")
    lim = figures.limitation(queries[0])
    # Barred: 600 (10 Mar), 4,000 (14 Jun), 2,048,000 (1 Mar, reopened); within: 2,000 moved to 2 Jul,
    # 8,000, 16,000, 64,000, 128,000, 256,000 (32,000 ended).
    assert (lim.barred_cases, lim.barred_principal) == (3, D("2052600.00"))
    assert (lim.warning_cases, lim.warning_principal) == (6, D("474000.00"))
    _assert_all_equal(queries)
    compact()
    _assert_all_equal(queries)
    CollectionCase.objects.filter(pk=claims[3].pk).delete()
    _assert_all_equal(queries)


def test_a_view_narrowed_below_a_branch_reads_the_cells_the_others_the_roll_ups(head_office, branch, officer):
    whole = DashboardQuery(branch=None, month=TODAY.replace(day=1), today=TODAY)
    rolled = {BookCell: BookRoll, LedgerCell: LedgerRoll, CaseCell: CaseRoll, CostCell: CostRoll,
              LimitationCell: LimitationRoll}  # fmt: skip
    for q in (whole, whole.with_(branch=branch)):
        assert q.rolls_up
        for cell, roll in rolled.items():
            assert q.kept(cell).model is roll
    for q in (
        whole.with_(officer_id=officer.pk),
        whole.with_(drill_officer_id=officer.pk),
        whole.with_(product="Farm"),
        whole.with_(borrower_kind=Borrower.Kind.ENTERPRISE),
    ):
        assert not q.rolls_up
        for cell in rolled:
            assert q.kept(cell).model is cell


def test_the_roll_ups_are_their_cells_summed_per_branch(head_office, branch, outlet, other_branch, officer,
                                                       outlet_officer, outsider):  # fmt: skip
    _claims(branch, outlet, other_branch, officer, outlet_officer, outsider)
    compact()
    for cell, roll, figure in (
        (BookCell, BookRoll, "outstanding_principal"),
        (LimitationCell, LimitationRoll, "principal"),
    ):
        by_cells = {r["branch_id"]: r["n"] for r in kept.summed(cell.objects.all(), "branch_id", n=figure)}
        by_rolls = {r["branch_id"]: r["n"] for r in kept.summed(roll.objects.all(), "branch_id", n=figure)}
        assert by_cells == by_rolls and len(by_rolls) == 3
        # Compacted: one roll-up row per branch and key; the cells more (officer, product, borrower kind).
        assert roll.objects.count() < cell.objects.count()
    # A rebuild writes the roll-ups from its cells; the triggers stay quiet meanwhile (nothing doubled).
    kept.rebuild()
    assert [d.as_json() for d in differences().differences] == []
