"""Whether a loan gets a case: one rule, in two forms that must agree.

`case_rules.may_open_case` answers for one loan (the manual opener, the loan page);
`selectors.loans_needing_a_case` is the same rule as one query (the automatic opener's INSERT ... SELECT).
Random books of loans check that they agree loan by loan, on PostgreSQL and on SQLite; both runs
happen in CI, whose database is PostgreSQL: there the SQLite run is a pytest subprocess on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_app.case_rules import FINISHED_STATES, OPEN_STATES, may_open_case
from collections_app.models import CollectionCase
from collections_app.policy import collection_policy
from collections_app.selectors import loans_needing_a_case, opening_facts
from loans.classification import ClassificationPolicy, FiveLevel, add_months, in_observation_period, observation_window
from loans.models import Loan
from loans.policy import classification_policy
from tests.factories import BorrowerFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

some_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2029, 12, 31))
# Month ends are where "as of minus the observation period" and the period itself part ways.
month_ends = st.builds(
    lambda year, month: add_months(date(year, month, 1), 1) - timedelta(days=1),
    st.integers(2021, 2028),
    st.integers(1, 12),
)
as_of_dates = st.one_of(some_dates, month_ends)
# Month ends whose month is shorter than the one before: there several restructuring dates share the
# same end of observation (restructured Jan 29, 30 or 31 with a one-month period: all end on Feb 28).
clamping_month_ends = st.sampled_from(
    [date(2025, 2, 28), date(2024, 2, 29), date(2025, 4, 30), date(2025, 6, 30), date(2025, 9, 30), date(2025, 11, 30)]
)


@given(as_of=as_of_dates, months=st.integers(0, 36), offset=st.integers(-4, 4), anywhere=some_dates)
def test_the_observation_window_holds_exactly_the_dates_in_their_observation_period(as_of, months, offset, anywhere):
    policy = ClassificationPolicy(restructured_observation_months=months)
    after, until = observation_window(as_of, policy)
    for restructured_on in (
        add_months(as_of, -months) + timedelta(days=offset),
        as_of + timedelta(days=offset),
        anywhere,
    ):
        assert in_observation_period(restructured_on, as_of, policy) == (after < restructured_on <= until)


@dataclass(frozen=True)
class LoanSpec:
    five_level_class: str
    four_level_class: str
    maturity_on: date
    owed: tuple[Decimal, Decimal, Decimal]
    overdue_since: date | None
    restructured_on: date | None
    written_off_on: date | None
    finished_cases: tuple[str, ...]
    open_case: str | None


@dataclass(frozen=True)
class Book:
    as_of: date
    observation_months: int
    loans: tuple[LoanSpec, ...]
    # Full caliber (issue 11): the switch for four-level overdue past the technical delay.
    four_level_overdue: bool = False
    technical_delay_days: int = 7


amounts = st.sampled_from([Decimal("0"), Decimal("0.01"), Decimal("750.00")])
# Weighted towards loans that pass every other condition, so that each condition in turn decides.
classes = st.sampled_from(["substandard", "doubtful", "loss", "loss", *(c.value for c in FiveLevel)])
# Five-level normal and special mention loans are where the four-level classes decide.
four_classes = st.sampled_from(["normal", "overdue", "overdue", "idle", "bad_debt"])
finished_cases = st.one_of(st.just(()), st.just(()), st.lists(st.sampled_from(FINISHED_STATES), max_size=2).map(tuple))
open_cases = st.one_of(st.none(), st.none(), st.none(), st.sampled_from(OPEN_STATES))


@st.composite
def books(draw) -> Book:
    as_of = draw(st.one_of(clamping_month_ends, month_ends, some_dates))
    # Short periods put many restructuring dates on a clamped month end (Jan 29-31 + 1 month).
    months = draw(st.sampled_from([0, 1, 1, 2, 12, 13]))

    def a_restructuring_date() -> date | None:
        near = draw(st.sampled_from(["none", "period_start", "period_start", "as_of", "anywhere"]))
        if near == "none":
            return None
        if near == "period_start":
            return add_months(as_of, -months) + timedelta(days=draw(st.integers(-1, 4)))
        if near == "as_of":
            return as_of + timedelta(days=draw(st.integers(-2, 2)))
        return draw(some_dates)

    loans = []
    for _ in range(draw(st.integers(1, 12))):
        loans.append(
            LoanSpec(
                five_level_class=draw(classes),
                four_level_class=draw(four_classes),
                maturity_on=draw(
                    st.sampled_from([date(2030, 1, 1), as_of, as_of - timedelta(days=1)])
                    | st.integers(0, 20).map(lambda d: as_of - timedelta(days=d))
                ),
                owed=(draw(amounts), draw(amounts), draw(amounts)),
                overdue_since=draw(st.none() | st.integers(0, 900).map(lambda d: as_of - timedelta(days=d))),
                restructured_on=a_restructuring_date(),
                written_off_on=draw(st.none() | st.just(as_of - timedelta(days=30))),
                finished_cases=tuple(m.value for m in draw(finished_cases)),
                open_case=(lambda m: m and m.value)(draw(open_cases)),
            )
        )
    return Book(
        as_of=as_of,
        observation_months=months,
        loans=tuple(loans),
        four_level_overdue=draw(st.booleans()),
        technical_delay_days=draw(st.sampled_from([0, 7])),
    )


def _write(book: Book, branch, borrower) -> list[Loan]:
    start = Loan.objects.count()
    made = Loan.objects.bulk_create(
        [
            Loan(
                loan_no=f"E{start + i:07d}",
                borrower=borrower,
                branch=branch,
                principal=Decimal("1000.00"),
                outstanding_principal=spec.owed[0],
                interest_on_balance=spec.owed[1],
                interest_off_balance=spec.owed[2],
                disbursed_on=date(2019, 1, 1),
                maturity_on=spec.maturity_on,
                overdue_since=spec.overdue_since,
                restructured_on=spec.restructured_on,
                written_off_on=spec.written_off_on,
                five_level_class=spec.five_level_class,
                four_level_class=spec.four_level_class,
            )
            for i, spec in enumerate(book.loans)
        ]
    )
    on = date(2019, 6, 1)
    cases = [
        CollectionCase(
            loan=loan,
            branch=branch,
            measure=measure,
            is_open=measure in OPEN_STATES,
            recovery_deadline=on,
            opened_on=on,
            measure_since=on,
            urgency_on=on,
        )
        for loan, spec in zip(made, book.loans, strict=True)
        for measure in (*spec.finished_cases, *([spec.open_case] if spec.open_case else []))
    ]
    CollectionCase.objects.bulk_create(cases)
    return list(Loan.objects.filter(pk__in=[loan.pk for loan in made]).order_by("pk"))


def _check(book: Book, branch, borrower) -> None:
    with (
        override_settings(
            NPL_RULES={
                "restructured_observation_months": book.observation_months,
                "technical_delay_days": book.technical_delay_days,
                "case_four_level_overdue": book.four_level_overdue,
            }
        ),
        transaction.atomic(),
    ):
        loans = _write(book, branch, borrower)
        ids = {loan.pk for loan in loans}
        chosen = set(loans_needing_a_case(as_of=book.as_of).values_list("pk", flat=True)) & ids
        policy = classification_policy()
        for loan, spec in zip(loans, book.loans, strict=True):
            facts = opening_facts(loan=loan, as_of=book.as_of)
            assert facts.has_open_case == (spec.open_case is not None)
            assert facts.claim_closed == ("closed" in spec.finished_cases)
            refusal = may_open_case(facts, book.as_of, policy, collection_policy())
            assert (refusal is None) == (loan.pk in chosen), (book.as_of, spec, refusal)
        # Limited to some loans (the classification signal's way), the set is the same rule's.
        some = sorted(ids)[::2]
        assert set(loans_needing_a_case(as_of=book.as_of, loan_ids=some).values_list("pk", flat=True)) == chosen & set(
            some
        )
        transaction.set_rollback(True)


def _agree_on_random_books(branch) -> None:
    borrower = BorrowerFactory()

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(book=books())
    def check(book: Book) -> None:
        _check(book, branch, borrower)

    check()


def test_the_rule_and_the_selector_agree_on_postgresql(require_postgres, branch):
    _agree_on_random_books(branch)


def test_the_rule_and_the_selector_agree_on_sqlite(branch):
    if connection.vendor == "sqlite":
        _agree_on_random_books(branch)
        return
    # This run is on PostgreSQL (as CI is): run this very test again, on SQLite, in a process of its own.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    node = f"{Path(__file__).relative_to(ROOT)}::test_the_rule_and_the_selector_agree_on_sqlite"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", node, "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
