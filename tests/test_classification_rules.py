"""The pure classification rules, at every threshold edge. No database."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.classification import (
    FIVE_LEVEL_RANK,
    ClassificationPolicy,
    FiveLevel,
    FourLevel,
    LoanFacts,
    add_years,
    classify,
    days_past_due,
    specific_provision,
)

POLICY = ClassificationPolicy()
AS_OF = date(2026, 6, 30)


def facts_with_dpd(dpd: int | None, **kw) -> LoanFacts:
    return LoanFacts(overdue_since=None if dpd is None else AS_OF - timedelta(days=dpd), **kw)


def test_dpd_counts_due_yesterday_as_one_and_due_today_as_zero():
    assert days_past_due(AS_OF - timedelta(days=1), AS_OF) == 1
    assert days_past_due(AS_OF, AS_OF) == 0
    assert days_past_due(None, AS_OF) == 0
    assert days_past_due(AS_OF + timedelta(days=5), AS_OF) == 0


@pytest.mark.parametrize(
    ("dpd", "expected", "rule"),
    [
        (None, FiveLevel.NORMAL, "not_overdue"),
        (0, FiveLevel.NORMAL, "not_overdue"),
        (1, FiveLevel.NORMAL, "technical_delay"),
        (7, FiveLevel.NORMAL, "technical_delay"),
        (8, FiveLevel.SPECIAL_MENTION, "dpd_overdue"),
        (90, FiveLevel.SPECIAL_MENTION, "dpd_overdue"),
        (91, FiveLevel.SUBSTANDARD, "dpd_substandard"),
        (270, FiveLevel.SUBSTANDARD, "dpd_substandard"),
        (271, FiveLevel.DOUBTFUL, "dpd_doubtful"),
        (360, FiveLevel.DOUBTFUL, "dpd_doubtful"),
        (361, FiveLevel.LOSS, "dpd_loss"),
    ],
)
def test_five_level_floor_at_every_dpd_edge(dpd, expected, rule):
    result = classify(facts_with_dpd(dpd), AS_OF, POLICY)
    assert result.five_level_floor == expected
    assert result.five_level == expected
    assert result.five_level_rule == rule


def test_technical_delay_is_a_setting():
    strict = ClassificationPolicy(technical_delay_days=0)
    assert classify(facts_with_dpd(1), AS_OF, strict).five_level == FiveLevel.SPECIAL_MENTION


def test_thresholds_are_settings():
    policy = ClassificationPolicy(substandard_after_days=60, doubtful_after_days=180, loss_after_days=300)
    assert classify(facts_with_dpd(61), AS_OF, policy).five_level == FiveLevel.SUBSTANDARD
    assert classify(facts_with_dpd(181), AS_OF, policy).five_level == FiveLevel.DOUBTFUL
    assert classify(facts_with_dpd(301), AS_OF, policy).five_level == FiveLevel.LOSS


def test_policy_refuses_thresholds_out_of_order():
    with pytest.raises(ValueError, match="substandard_after_days"):
        ClassificationPolicy(substandard_after_days=400)


@pytest.mark.parametrize(
    ("overdue_since", "as_of", "expected"),
    [
        (date(2024, 3, 1), date(2024, 3, 1), FourLevel.NORMAL),  # due today
        (date(2024, 3, 1), date(2024, 3, 2), FourLevel.OVERDUE),  # 1 day
        (date(2024, 3, 1), date(2026, 2, 28), FourLevel.OVERDUE),  # two years less a day
        (date(2024, 3, 1), date(2026, 3, 1), FourLevel.OVERDUE),  # exactly two years: not "more than"
        (date(2024, 3, 1), date(2026, 3, 2), FourLevel.IDLE),  # two years and a day
        (date(2024, 2, 29), date(2026, 2, 28), FourLevel.OVERDUE),  # leap day + 2 years = Feb 28
        (date(2024, 2, 29), date(2026, 3, 1), FourLevel.IDLE),
    ],
)
def test_four_level_two_year_edge(overdue_since, as_of, expected):
    result = classify(LoanFacts(overdue_since=overdue_since), as_of, POLICY)
    assert result.four_level == expected


def test_idle_years_is_a_setting():
    policy = ClassificationPolicy(idle_after_years=3)
    facts = LoanFacts(overdue_since=date(2023, 1, 1))
    assert classify(facts, date(2025, 6, 1), policy).four_level == FourLevel.OVERDUE
    assert classify(facts, date(2026, 1, 2), policy).four_level == FourLevel.IDLE


def test_business_ceased_makes_a_loan_idle_even_when_not_overdue():
    result = classify(LoanFacts(overdue_since=None, business_ceased=True), AS_OF, POLICY)
    assert result.four_level == FourLevel.IDLE
    assert result.four_level_rule == "business_ceased"
    assert result.five_level == FiveLevel.NORMAL


def test_written_off_loan_is_bad_debt_and_loss():
    result = classify(facts_with_dpd(30, written_off=True), AS_OF, POLICY)
    assert result.four_level == FourLevel.BAD_DEBT
    assert result.five_level == FiveLevel.LOSS


@pytest.mark.parametrize(
    ("restructured_on", "expected"),
    [
        (date(2025, 7, 1), FiveLevel.SUBSTANDARD),  # observation ends 2026-07-01: still inside
        (date(2025, 6, 30), FiveLevel.NORMAL),  # ends exactly on as_of: out
        (date(2025, 6, 29), FiveLevel.NORMAL),
    ],
)
def test_restructured_loan_is_at_least_substandard_during_observation(restructured_on, expected):
    result = classify(LoanFacts(overdue_since=None, restructured_on=restructured_on), AS_OF, POLICY)
    assert result.five_level == expected
    if expected == FiveLevel.SUBSTANDARD:
        assert result.five_level_rule == "restructured_observation"


def test_restructured_floor_does_not_improve_a_worse_dpd_floor():
    result = classify(facts_with_dpd(400, restructured_on=date(2026, 1, 1)), AS_OF, POLICY)
    assert result.five_level == FiveLevel.LOSS


def test_manual_class_worse_than_floor_is_kept():
    result = classify(facts_with_dpd(10, manual_five_level="doubtful"), AS_OF, POLICY)
    assert result.five_level == FiveLevel.DOUBTFUL
    assert result.five_level_rule == "manual"
    assert result.five_level_floor == FiveLevel.SPECIAL_MENTION


def test_manual_class_never_improves_on_the_floor():
    result = classify(facts_with_dpd(400, manual_five_level="special_mention"), AS_OF, POLICY)
    assert result.five_level == FiveLevel.LOSS


def test_non_performing_loan_is_not_upgraded_while_arrears_remain():
    # Was loss; a partial payment moved overdue_since so DPD is now 100 (substandard floor).
    result = classify(facts_with_dpd(100, current_five_level="loss"), AS_OF, POLICY)
    assert result.five_level == FiveLevel.LOSS
    assert result.five_level_rule == "upgrade_held"


def test_non_performing_loan_upgrades_after_arrears_stay_cleared():
    cleared = date(2026, 3, 30)
    held = classify(
        LoanFacts(overdue_since=None, current_five_level="substandard", arrears_cleared_on=cleared),
        date(2026, 6, 29),
        POLICY,
    )
    assert held.five_level == FiveLevel.SUBSTANDARD
    released = classify(
        LoanFacts(overdue_since=None, current_five_level="substandard", arrears_cleared_on=cleared),
        date(2026, 6, 30),
        POLICY,
    )
    assert released.five_level == FiveLevel.NORMAL


def test_performing_loans_move_freely_between_normal_and_special_mention():
    result = classify(facts_with_dpd(0, current_five_level="special_mention"), AS_OF, POLICY)
    assert result.five_level == FiveLevel.NORMAL


@given(
    st.integers(min_value=0, max_value=5000),
    st.integers(min_value=0, max_value=5000),
    st.booleans(),
    st.booleans(),
)
def test_floor_never_improves_as_dpd_grows(dpd_a, dpd_b, restructured, ceased):
    low, high = sorted((dpd_a, dpd_b))
    kw = {"restructured_on": AS_OF - timedelta(days=30) if restructured else None, "business_ceased": ceased}
    floor_low = classify(facts_with_dpd(low, **kw), AS_OF, POLICY).five_level_floor
    floor_high = classify(facts_with_dpd(high, **kw), AS_OF, POLICY).five_level_floor
    assert FIVE_LEVEL_RANK[floor_high] >= FIVE_LEVEL_RANK[floor_low]


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)), st.integers(0, 5))
def test_add_years_lands_on_the_same_day_or_the_month_end(start, years):
    end = add_years(start, years)
    assert end.year == start.year + years and end.month == start.month
    assert end.day == start.day or (start.month == 2 and start.day == 29 and end.day == 28)


def test_provision_per_class():
    from decimal import Decimal

    amount = Decimal("1000.00")
    assert specific_provision("normal", amount, POLICY) == Decimal("0.00")
    assert specific_provision("special_mention", amount, POLICY) == Decimal("20.00")
    assert specific_provision("substandard", amount, POLICY) == Decimal("250.00")
    assert specific_provision("doubtful", amount, POLICY) == Decimal("500.00")
    assert specific_provision("loss", amount, POLICY) == Decimal("1000.00")
