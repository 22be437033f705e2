"""The pure accountability and prevention rules, at their date edges. No database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accountability.rules import (
    AccountabilityPolicy,
    WatchFacts,
    WatchReason,
    bonus_amount,
    deadline_missed,
    deadline_urgency,
    is_month_end,
    loans_by_loans,
    recovered_in_time,
    reminder_threshold,
    shares_problem,
    threshold_window,
    watch_reasons,
)

POLICY = AccountabilityPolicy()
AS_OF = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(31, None), (30, 30), (29, 30), (8, 30), (7, 7), (6, 7), (2, 7), (1, 1), (0, 1), (-1, None)],
)
def test_reminder_window_opens_on_its_day_and_stays_open_until_the_next(days, expected):
    assert reminder_threshold(AS_OF + timedelta(days=days), AS_OF, POLICY) == expected


@given(st.integers(min_value=-400, max_value=400))
def test_threshold_window_holds_exactly_the_deadlines_of_its_threshold(days):
    deadline = AS_OF + timedelta(days=days)
    threshold = reminder_threshold(deadline, AS_OF, POLICY)
    for t in POLICY.reminder_days_before:
        low, high = threshold_window(t, POLICY.reminder_days_before, AS_OF)
        assert (low <= deadline <= high) == (threshold == t)


def test_time_limit_is_missed_the_day_after_it():
    deadline = date(2026, 6, 30)
    assert not deadline_missed(deadline, deadline - timedelta(days=1))
    assert not deadline_missed(deadline, deadline)
    assert deadline_missed(deadline, deadline + timedelta(days=1))


@pytest.mark.parametrize(
    ("reminders", "days", "expected"),
    [
        ((30, 7, 1), 31, None),
        ((30, 7, 1), 30, "soon"),
        ((30, 7, 1), 8, "soon"),
        ((30, 7, 1), 7, "urgent"),
        ((30, 7, 1), 0, "urgent"),
        ((30, 7, 1), -1, "missed"),
        ((14, 3), 20, None),
        ((14, 3), 14, "soon"),
        ((14, 3), 3, "urgent"),
        ((10,), 1, "soon"),
    ],
)
def test_urgency_of_a_time_limit_follows_the_reminder_windows(reminders, days, expected):
    policy = AccountabilityPolicy(reminder_days_before=reminders)
    assert deadline_urgency(AS_OF + timedelta(days=days), AS_OF, policy) == expected


def test_recovered_on_the_last_day_is_within_the_time_limit():
    assert recovered_in_time(date(2026, 6, 30), date(2026, 6, 30))
    assert not recovered_in_time(date(2026, 7, 1), date(2026, 6, 30))


@pytest.mark.parametrize(
    ("shares", "problem"),
    [
        ([Decimal("100")], None),
        ([Decimal("60"), Decimal("40")], None),
        ([Decimal("33.33"), Decimal("33.33"), Decimal("33.34")], None),
        ([Decimal("60"), Decimal("30")], "add up to 90%"),
        ([Decimal("100"), Decimal("0")], "more than 0%"),
        ([], "at least one"),
    ],
)
def test_shares_must_add_up_to_a_hundred_percent(shares, problem):
    result = shares_problem(shares)
    assert (result is None) if problem is None else (problem in result)


def test_bonus_is_cash_recovered_times_rate_times_share():
    assert bonus_amount(cash_recovered=Decimal("80000"), share_percent=Decimal("100"), policy=POLICY) == Decimal(
        "800.00"
    )
    assert bonus_amount(cash_recovered=Decimal("80000"), share_percent=Decimal("40"), policy=POLICY) == Decimal(
        "320.00"
    )
    assert bonus_amount(
        cash_recovered=Decimal("80000"), share_percent=Decimal("100"), policy=AccountabilityPolicy(bonus_rate="0.02")
    ) == Decimal("1600.00")


@pytest.mark.parametrize(("days", "expected"), [(91, None), (90, 90), (31, 90), (30, 30), (0, 30), (-1, None)])
def test_limitation_warnings_90_and_30_days_before_the_claim_expires(days, expected):
    """The check's windows (threshold_window over limitation_warning_days): the one holding the expiry."""
    expires_on = AS_OF + timedelta(days=days)
    thresholds = POLICY.limitation_warning_days
    windows = {t: threshold_window(t, thresholds, AS_OF) for t in thresholds}
    due = [t for t, (low, high) in windows.items() if low <= expires_on <= high]
    assert due == ([] if expected is None else [expected])


@pytest.mark.parametrize(("apart", "flagged"), [(-31, False), (-30, True), (0, True), (30, True), (31, False)])
def test_loans_by_loans_window_is_30_days_either_side(apart, flagged):
    repaid = date(2026, 6, 1)
    assert loans_by_loans(repaid, repaid + timedelta(days=apart), POLICY) is flagged


def test_watch_list_reasons():
    kw = {"substandard_after_days": 90}
    assert watch_reasons(WatchFacts("normal", 0), AS_OF, POLICY, **kw) == []
    assert watch_reasons(WatchFacts("normal", 3), AS_OF, POLICY, **kw) == [WatchReason.EARLY_DPD]
    assert watch_reasons(WatchFacts("special_mention", 59), AS_OF, POLICY, **kw) == []
    assert watch_reasons(WatchFacts("special_mention", 60), AS_OF, POLICY, **kw) == [WatchReason.NEAR_SUBSTANDARD]
    drifted = WatchFacts("special_mention", 10, downgraded_on=AS_OF - timedelta(days=90))
    assert watch_reasons(drifted, AS_OF, POLICY, **kw) == [WatchReason.DRIFT]
    old_drift = WatchFacts("special_mention", 10, downgraded_on=AS_OF - timedelta(days=91))
    assert watch_reasons(old_drift, AS_OF, POLICY, **kw) == []
    assert watch_reasons(WatchFacts("substandard", 100), AS_OF, POLICY, **kw) == []


def test_month_end():
    assert is_month_end(date(2026, 6, 30)) and is_month_end(date(2028, 2, 29))
    assert not is_month_end(date(2026, 6, 29)) and not is_month_end(date(2026, 7, 1))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reminder_days_before", [30, -1], "reminder_days_before"),
        ("missed_deadline_sanctions", ["flogging"], "unknown kinds"),
        ("missed_deadline_sanctions", ["compensation"], "compensation"),
        ("bonus_rate", Decimal("1.5"), "bonus_rate"),
        ("loans_by_loans_window_days", -3, "loans_by_loans_window_days"),
    ],
)
def test_bad_policy_values_are_refused_by_name(field, value, message):
    with pytest.raises(ValueError, match=message):
        AccountabilityPolicy(**{field: value})


def test_policy_comes_from_npl_rules(settings):
    from accountability.policy import accountability_policy

    settings.NPL_RULES = {"reminder_days_before": [14, 3], "bonus_rate": "0.05"}
    policy = accountability_policy()
    assert policy.reminder_days_before == (14, 3) and policy.bonus_rate == Decimal("0.05")
