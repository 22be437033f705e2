"""The legal deadlines as pure rules (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from legal.rules import (
    GuaranteeStanding,
    LegalPolicy,
    appeal_deadline,
    enforcement_deadline,
    guarantee_maturity_range,
    guarantee_period_ends,
    guarantee_standing,
    preservation_expiry,
    reminder_threshold,
)

POLICY = LegalPolicy()


def test_appeal_is_15_days_from_service_of_a_judgment_and_10_of_a_ruling():
    served = date(2026, 3, 1)
    assert appeal_deadline(served, "judgment", POLICY) == date(2026, 3, 16)
    assert appeal_deadline(served, "ruling", POLICY) == date(2026, 3, 11)
    assert appeal_deadline(served, "mediation", POLICY) is None
    assert appeal_deadline(None, "judgment", POLICY) is None


def test_enforcement_must_be_applied_for_within_2_years_of_the_performance_deadline():
    assert enforcement_deadline(date(2024, 2, 29), POLICY) == date(2026, 2, 28)
    assert enforcement_deadline(date(2026, 5, 10), LegalPolicy(enforcement_application_years=3)) == date(2029, 5, 10)


@pytest.mark.parametrize(
    ("kind", "expires"),
    [
        ("bank_account", date(2027, 3, 31)),
        ("vehicle", date(2028, 3, 31)),
        ("other", date(2028, 3, 31)),
        ("real_estate", date(2029, 3, 31)),
        ("equity", date(2029, 3, 31)),
    ],
)
def test_preservation_defaults_deposits_1_year_movables_2_real_estate_3(kind, expires):
    assert preservation_expiry(date(2026, 4, 1), kind, POLICY) == expires


def test_preservation_years_are_a_setting_per_asset_kind():
    policy = LegalPolicy(preservation_years={"bank_account": 2})
    assert preservation_expiry(date(2026, 4, 1), "bank_account", policy) == date(2028, 3, 31)
    assert policy.preservation_years["real_estate"] == 3
    with pytest.raises(ValueError, match="preservation_years"):
        LegalPolicy(preservation_years={"boat": 1})


def test_guarantee_period_is_6_months_from_maturity_unless_the_contract_says():
    assert guarantee_period_ends(date(2026, 8, 31), None, POLICY) == date(2027, 2, 28)
    assert guarantee_period_ends(date(2026, 8, 31), date(2027, 8, 31), POLICY) == date(2027, 8, 31)
    low, high = guarantee_maturity_range(date(2027, 2, 28), date(2027, 2, 28), POLICY)
    assert low <= date(2026, 8, 31) <= high


def test_a_demand_within_the_period_keeps_the_guarantor_liable_the_day_after_it_ends_releases():
    ends = date(2026, 6, 30)
    assert guarantee_standing(ends, None, date(2026, 6, 30)) == GuaranteeStanding.RUNNING
    assert guarantee_standing(ends, None, date(2026, 7, 1)) == GuaranteeStanding.RELEASED
    assert guarantee_standing(ends, date(2026, 6, 30), date(2026, 7, 1)) == GuaranteeStanding.KEPT
    assert guarantee_standing(ends, date(2026, 7, 1), date(2026, 7, 2)) == GuaranteeStanding.RELEASED


def test_reminder_threshold_is_the_smallest_window_the_date_is_in():
    due = date(2026, 6, 30)
    assert reminder_threshold(due, date(2026, 5, 30), (30, 7)) is None
    assert reminder_threshold(due, date(2026, 5, 31), (30, 7)) == 30
    assert reminder_threshold(due, date(2026, 6, 23), (30, 7)) == 7
    assert reminder_threshold(due, date(2026, 7, 1), (30, 7)) is None


def test_bad_figures_are_refused_naming_the_setting():
    with pytest.raises(ValueError, match="appeal_days_judgment"):
        LegalPolicy(appeal_days_judgment=0)
    with pytest.raises(ValueError, match="hearing_reminder_days"):
        LegalPolicy(hearing_reminder_days=(7, -1))


# --- joint-liability vs general guarantors (DOMAIN.md "Legal deadlines") -----------------------------------


@pytest.mark.parametrize(
    ("act_on", "expected"),
    [
        (date(2026, 6, 29), GuaranteeStanding.KEPT),  # day before the period ends
        (date(2026, 6, 30), GuaranteeStanding.KEPT),  # the last day of the period still counts
        (date(2026, 7, 1), GuaranteeStanding.RELEASED),  # a day late
    ],
)
def test_joint_liability_is_kept_by_a_demand_on_the_guarantor_not_by_a_suit(act_on, expected):
    ends, as_of = date(2026, 6, 30), date(2026, 7, 2)
    assert guarantee_standing(ends, act_on, as_of, liability="joint") == expected
    # a suit against the debtor does not keep a joint-liability guarantor
    assert guarantee_standing(ends, None, as_of, liability="joint", first_suit_on=act_on) == (
        GuaranteeStanding.RELEASED
    )


@pytest.mark.parametrize(
    ("act_on", "expected"),
    [
        (date(2026, 6, 29), GuaranteeStanding.KEPT),
        (date(2026, 6, 30), GuaranteeStanding.KEPT),
        (date(2026, 7, 1), GuaranteeStanding.RELEASED),
    ],
)
def test_a_general_guarantee_is_kept_by_a_suit_against_the_debtor_not_by_a_demand(act_on, expected):
    ends, as_of = date(2026, 6, 30), date(2026, 7, 2)
    assert guarantee_standing(ends, None, as_of, liability="general", first_suit_on=act_on) == expected
    # a demand on a general guarantor alone does not keep it
    assert guarantee_standing(ends, act_on, as_of, liability="general") == GuaranteeStanding.RELEASED


def test_a_general_guarantee_without_a_suit_runs_until_the_last_day_of_the_period():
    ends = date(2026, 6, 30)
    assert guarantee_standing(ends, None, date(2026, 6, 29), liability="general") == GuaranteeStanding.RUNNING
    assert guarantee_standing(ends, None, date(2026, 6, 30), liability="general") == GuaranteeStanding.RUNNING
    assert guarantee_standing(ends, None, date(2026, 7, 1), liability="general") == GuaranteeStanding.RELEASED
