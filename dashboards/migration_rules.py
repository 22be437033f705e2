"""The migration matrix's rates: pure Python, no Django.

Between two month-ends, each loan on the book at the earlier end was in a class (its "from class")
and at the later end is in a class or gone (repaid, closed). Per from-class:

- roll rate: the share of the from-class that moved to a WORSE class (higher severity);
- cure rate: the share that moved to a BETTER class (lower severity, normal included).

Both by count (loans) and by balance (the loans' outstanding principal at the earlier end). The
denominator is the whole from-class at the earlier end, the loans that stayed and the loans gone
included (gone is neither a roll nor a cure). Loans new since the earlier end ("new") have no rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

NEW = "new"
GONE = "gone"

# Each scheme's classes, best first (the severity order of loans.classification).
SCHEME_CLASSES: dict[str, tuple[str, ...]] = {
    "five": ("normal", "special_mention", "substandard", "doubtful", "loss"),
    "four": ("normal", "overdue", "idle", "bad_debt"),
}


@dataclass(frozen=True)
class Move:
    """One cell of the matrix: loans from one class to another, with their balance at the earlier end."""

    from_class: str
    to_class: str
    loans: int
    balance_from: Decimal


@dataclass(frozen=True)
class Rates:
    from_class: str
    loans: int  # loans in the class at the earlier end
    balance: Decimal  # their balance at the earlier end
    rolled_loans: int
    rolled_balance: Decimal
    cured_loans: int
    cured_balance: Decimal
    # Percentages (0-100, two decimals); None when the class was empty at the earlier end.
    roll_rate_count: Decimal | None
    roll_rate_balance: Decimal | None
    cure_rate_count: Decimal | None
    cure_rate_balance: Decimal | None


def direction(scheme: str, from_class: str, to_class: str) -> int:
    """+1: to a worse class (roll), -1: to a better class (cure), 0: the same class, new or gone."""
    order = SCHEME_CLASSES[scheme]
    if from_class not in order or to_class not in order:
        return 0
    step = order.index(to_class) - order.index(from_class)
    return (step > 0) - (step < 0)


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def migration_rates(scheme: str, moves: Iterable[Move]) -> list[Rates]:
    """Roll and cure rates per from-class of `scheme` (every class, in severity order), from the
    matrix's cells (several cells of the same from/to pair add up)."""
    order = SCHEME_CLASSES[scheme]
    totals = {c: [0, Decimal(0), 0, Decimal(0), 0, Decimal(0)] for c in order}
    for m in moves:
        if m.from_class not in totals:
            continue  # "new": no earlier class
        t = totals[m.from_class]
        t[0] += m.loans
        t[1] += m.balance_from
        step = direction(scheme, m.from_class, m.to_class)
        if step > 0:
            t[2] += m.loans
            t[3] += m.balance_from
        elif step < 0:
            t[4] += m.loans
            t[5] += m.balance_from
    return [
        Rates(
            from_class=c,
            loans=n,
            balance=balance,
            rolled_loans=rolled,
            rolled_balance=rolled_balance,
            cured_loans=cured,
            cured_balance=cured_balance,
            roll_rate_count=percent(rolled, n),
            roll_rate_balance=percent(rolled_balance, balance),
            cure_rate_count=percent(cured, n),
            cure_rate_balance=percent(cured_balance, balance),
        )
        for c, (n, balance, rolled, rolled_balance, cured, cured_balance) in totals.items()
    ]
