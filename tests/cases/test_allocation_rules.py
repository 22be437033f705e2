"""Recovery allocation and limitation: the pure rules, without Django's database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collections_app.case_rules import (
    ALLOCATION_PARTS,
    CollectionPolicy,
    Owed,
    RecoveryExceedsDebt,
    allocate_recovery,
    limitation_expires,
    limitation_start,
    urgency_date,
)

cents = st.integers(min_value=0, max_value=10**11).map(lambda c: Decimal(c) / 100)
owed_st = st.builds(Owed, principal=cents, interest_on_balance=cents, interest_off_balance=cents)
orders = st.permutations(ALLOCATION_PARTS).map(tuple)


@given(owed=owed_st, order=orders, data=st.data())
def test_the_parts_add_up_to_the_amount_and_none_goes_below_zero(owed, order, data):
    if owed.total == 0:
        return
    amount = data.draw(st.integers(min_value=1, max_value=int(owed.total * 100)).map(lambda c: Decimal(c) / 100))
    allocation = allocate_recovery(amount, owed, order)
    assert allocation.total == amount
    left = owed.minus(allocation)
    for part in ALLOCATION_PARTS:
        assert getattr(allocation, part) >= 0
        assert getattr(left, part) >= 0


@given(owed=owed_st, order=orders, data=st.data())
def test_each_part_is_paid_in_full_before_the_next_one_in_the_order(owed, order, data):
    if owed.total == 0:
        return
    amount = data.draw(st.integers(min_value=1, max_value=int(owed.total * 100)).map(lambda c: Decimal(c) / 100))
    allocation = allocate_recovery(amount, owed, order)
    for earlier, later in zip(order, order[1:], strict=False):
        if getattr(allocation, later) > 0:
            assert getattr(allocation, earlier) == getattr(owed, earlier)


@settings(max_examples=200)
@given(owed=owed_st, order=orders, shares=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=12))
def test_recoveries_plus_what_is_still_owed_always_equal_the_original_debt(owed, order, shares):
    original = owed.total
    recovered = Decimal("0")
    for share in shares:
        if owed.total == 0:
            break
        amount = max(Decimal("0.01"), (owed.total * share / 100).quantize(Decimal("0.01")))
        amount = min(amount, owed.total)
        allocation = allocate_recovery(amount, owed, order)
        owed = owed.minus(allocation)
        recovered += allocation.total
        assert recovered + owed.total == original


@given(owed=owed_st, extra=st.integers(min_value=1, max_value=10**6).map(lambda c: Decimal(c) / 100))
def test_more_than_is_owed_is_refused(owed, extra):
    with pytest.raises(RecoveryExceedsDebt, match="more than"):
        allocate_recovery(owed.total + extra, owed)


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5")])
def test_nothing_or_a_negative_amount_is_refused(amount):
    with pytest.raises(RecoveryExceedsDebt):
        allocate_recovery(amount, Owed(Decimal("10"), Decimal("0"), Decimal("0")))


def test_the_default_order_is_interest_on_balance_then_off_balance_then_principal():
    owed = Owed(principal=Decimal("1000"), interest_on_balance=Decimal("100"), interest_off_balance=Decimal("50"))
    a = allocate_recovery(Decimal("120"), owed, CollectionPolicy().recovery_allocation_order)
    assert (a.interest_on_balance, a.interest_off_balance, a.principal) == (Decimal("100"), Decimal("20"), Decimal("0"))


def test_a_bank_may_set_principal_first():
    policy = CollectionPolicy(recovery_allocation_order=["principal", "interest_off_balance", "interest_on_balance"])
    owed = Owed(principal=Decimal("100"), interest_on_balance=Decimal("10"), interest_off_balance=Decimal("10"))
    a = allocate_recovery(Decimal("105"), owed, policy.recovery_allocation_order)
    assert (a.principal, a.interest_off_balance, a.interest_on_balance) == (Decimal("100"), Decimal("5"), Decimal("0"))


@pytest.mark.parametrize(
    "order", [["principal"], ["principal", "principal", "interest_on_balance"], ["principal", "fees", "x"]]
)
def test_a_bad_allocation_order_is_refused_naming_the_setting(order):
    with pytest.raises(ValueError, match="recovery_allocation_order"):
        CollectionPolicy(recovery_allocation_order=order)


def test_the_limitation_runs_from_the_latest_payment_acknowledgement_or_signed_notice():
    start = limitation_start(
        overdue_since=date(2024, 1, 10),
        last_recovery_on=date(2025, 3, 1),
        last_signed_notice_on=date(2025, 6, 1),
        last_acknowledgement_on=None,
    )
    assert start == date(2025, 6, 1)
    assert limitation_expires(start, CollectionPolicy()) == date(2028, 6, 1)
    assert limitation_start(
        overdue_since=date(2024, 1, 10), last_recovery_on=None, last_signed_notice_on=None, last_acknowledgement_on=None
    ) == date(2024, 1, 10)
    assert limitation_expires(date(2024, 2, 29), CollectionPolicy()) == date(2027, 2, 28)


def test_urgency_is_the_nearest_date_that_is_set():
    assert urgency_date(date(2026, 5, 1), None, date(2026, 3, 1)) == date(2026, 3, 1)
    assert urgency_date(None, None) is None
