"""Loan classification rules: pure Python, no Django.

Given a loan's facts and an as-of date, `classify` returns the five-level class (with the floor
the rules set) and the four-level class, each with a stable rule code and a reason a loan
officer can read. Every threshold is a field of `ClassificationPolicy`; the Django side builds
the policy from settings (loans/policy.py), so a bank changes figures without a code change.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class FiveLevel(StrEnum):
    NORMAL = "normal"
    SPECIAL_MENTION = "special_mention"
    SUBSTANDARD = "substandard"
    DOUBTFUL = "doubtful"
    LOSS = "loss"

    @property
    def label(self) -> str:
        return FIVE_LEVEL_LABELS[self]


class FourLevel(StrEnum):
    NORMAL = "normal"
    OVERDUE = "overdue"
    IDLE = "idle"
    BAD_DEBT = "bad_debt"

    @property
    def label(self) -> str:
        return FOUR_LEVEL_LABELS[self]


FIVE_LEVEL_LABELS = {
    FiveLevel.NORMAL: "Normal",
    FiveLevel.SPECIAL_MENTION: "Special mention",
    FiveLevel.SUBSTANDARD: "Substandard",
    FiveLevel.DOUBTFUL: "Doubtful",
    FiveLevel.LOSS: "Loss",
}
FOUR_LEVEL_LABELS = {
    FourLevel.NORMAL: "Normal",
    FourLevel.OVERDUE: "Overdue",
    FourLevel.IDLE: "Idle",
    FourLevel.BAD_DEBT: "Bad debt",
}
# Severity rank: a higher number is a worse class.
FIVE_LEVEL_RANK = {c: i for i, c in enumerate(FiveLevel)}
FOUR_LEVEL_RANK = {c: i for i, c in enumerate(FourLevel)}
# The non-performing classes (five levels): the one definition. Everyone else derives from it.
NON_PERFORMING_FIVE = frozenset({FiveLevel.SUBSTANDARD, FiveLevel.DOUBTFUL, FiveLevel.LOSS})
# The same, as codes in order of severity and as an SQL list for raw SQL ("('substandard', ...)").
NON_PERFORMING_FIVE_CODES: tuple[str, ...] = tuple(c.value for c in FiveLevel if c in NON_PERFORMING_FIVE)
NON_PERFORMING_FIVE_SQL = "(" + ", ".join(f"'{code}'" for code in NON_PERFORMING_FIVE_CODES) + ")"

_D = Decimal


def _default_provision_rates() -> dict[str, Decimal]:
    return {
        FiveLevel.NORMAL: _D("0"),
        FiveLevel.SPECIAL_MENTION: _D("0.02"),
        FiveLevel.SUBSTANDARD: _D("0.25"),
        FiveLevel.DOUBTFUL: _D("0.50"),
        FiveLevel.LOSS: _D("1.00"),
    }


@dataclass(frozen=True)
class ClassificationPolicy:
    """Every figure the classification rules use. Defaults follow DOMAIN.md."""

    # Days of delay excused as technical (DPD 1..N stays normal under five levels).
    technical_delay_days: int = 7
    substandard_after_days: int = 90  # DPD > 90
    doubtful_after_days: int = 270  # DPD > 270
    loss_after_days: int = 360  # DPD > 360
    # A restructured loan is at least substandard for this long after restructuring.
    restructured_observation_months: int = 12
    # A non-performing loan may be upgraded only when arrears are cleared and have stayed
    # cleared this long (the rules' run of on-time payments, one a month).
    upgrade_wait_months: int = 3
    # Four-level scheme: overdue becomes idle after this many years.
    idle_after_years: int = 2
    provision_rates: Mapping[str, Decimal] = field(default_factory=_default_provision_rates)
    general_reserve_rate: Decimal = _D("0.01")

    def __post_init__(self) -> None:
        ints = (
            "technical_delay_days",
            "substandard_after_days",
            "doubtful_after_days",
            "loss_after_days",
            "restructured_observation_months",
            "upgrade_wait_months",
            "idle_after_years",
        )
        for name in ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"classification policy: {name} must be a whole number >= 0, got {value!r}")
        if not (
            self.technical_delay_days < self.substandard_after_days < self.doubtful_after_days < self.loss_after_days
        ):
            raise ValueError(
                "classification policy: technical_delay_days < substandard_after_days < "
                "doubtful_after_days < loss_after_days must hold"
            )
        missing = set(FiveLevel) - set(self.provision_rates)
        if missing:
            raise ValueError(f"classification policy: provision_rates lacks {sorted(missing)}")


@dataclass(frozen=True)
class LoanFacts:
    overdue_since: date | None
    restructured_on: date | None = None
    business_ceased: bool = False
    written_off: bool = False
    current_five_level: str | None = None
    manual_five_level: str | None = None
    arrears_cleared_on: date | None = None
    # A loan past maturity with a balance is overdue even when the book gives no overdue date
    # (see effective_overdue_since); `balance` is principal plus interest still owed.
    maturity_on: date | None = None
    balance: Decimal = Decimal("0")


@dataclass(frozen=True)
class Classification:
    days_past_due: int
    five_level_floor: FiveLevel
    five_level: FiveLevel
    five_level_rule: str
    five_level_reason: str
    four_level: FourLevel
    four_level_rule: str
    four_level_reason: str

    @property
    def is_non_performing(self) -> bool:
        return self.five_level in NON_PERFORMING_FIVE


def days_past_due(overdue_since: date | None, as_of: date) -> int:
    """DPD = as_of - overdue_since in days: due yesterday is 1, due today (or later) is 0."""
    if overdue_since is None:
        return 0
    return max(0, (as_of - overdue_since).days)


def effective_overdue_since(
    overdue_since: date | None, maturity_on: date | None, balance: Decimal, as_of: date
) -> date | None:
    """The date the loan is overdue since, for the rules: past maturity is overdue.

    A loan whose maturity has passed (`maturity_on < as_of`) with a balance still owed fell due on
    its maturity date, so it is overdue from the day after (DPD 1 on maturity + 1), unless the book
    gives an earlier overdue date. A later or missing overdue date does not hide the maturity.
    """
    if maturity_on is not None and maturity_on < as_of and balance > 0:
        return maturity_on if overdue_since is None else min(overdue_since, maturity_on)
    return overdue_since


def with_maturity_applied(facts: LoanFacts, as_of: date) -> LoanFacts:
    """The facts with `overdue_since` replaced by effective_overdue_since (what every rule reads)."""
    overdue = effective_overdue_since(facts.overdue_since, facts.maturity_on, facts.balance, as_of)
    if overdue == facts.overdue_since:
        return facts
    return replace(facts, overdue_since=overdue)


def add_months(start: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's end (Jan 31 + 1 = Feb 28/29)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def add_years(start: date, years: int) -> date:
    return add_months(start, 12 * years)


def is_better_five(candidate: str, than: str) -> bool:
    return FIVE_LEVEL_RANK[FiveLevel(candidate)] < FIVE_LEVEL_RANK[FiveLevel(than)]


def five_level_floor_by_dpd(dpd: int, policy: ClassificationPolicy) -> tuple[FiveLevel, str, str]:
    """The floor the DPD rules alone set: (class, rule code, reason)."""
    if dpd > policy.loss_after_days:
        return FiveLevel.LOSS, "dpd_loss", f"{dpd} days past due (more than {policy.loss_after_days})"
    if dpd > policy.doubtful_after_days:
        return (
            FiveLevel.DOUBTFUL,
            "dpd_doubtful",
            f"{dpd} days past due (more than {policy.doubtful_after_days})",
        )
    if dpd > policy.substandard_after_days:
        return (
            FiveLevel.SUBSTANDARD,
            "dpd_substandard",
            f"{dpd} days past due (more than {policy.substandard_after_days})",
        )
    if dpd > policy.technical_delay_days:
        return FiveLevel.SPECIAL_MENTION, "dpd_overdue", f"{dpd} days past due"
    if dpd > 0:
        return (
            FiveLevel.NORMAL,
            "technical_delay",
            f"{dpd} days past due, excused as a technical delay (up to {policy.technical_delay_days})",
        )
    return FiveLevel.NORMAL, "not_overdue", "not overdue"


def in_observation_period(restructured_on: date | None, as_of: date, policy: ClassificationPolicy) -> bool:
    """A restructured loan is watched from the day it is restructured until its observation period ends."""
    return restructured_on is not None and restructured_on <= as_of < observation_ends(restructured_on, policy)


def observation_ends(restructured_on: date, policy: ClassificationPolicy) -> date:
    return add_months(restructured_on, policy.restructured_observation_months)


def observation_window(as_of: date, policy: ClassificationPolicy) -> tuple[date, date]:
    """The restructuring dates in observation on `as_of`, for queries: after the first, up to the second.

    `in_observation_period(r, as_of, policy)` is `first < r <= second`. The first is the latest date
    whose period has ended by `as_of`: not simply `as_of` minus the period, since months are clamped
    at their end (restructured Jan 29-31 with a one-month period, all end on Feb 28).
    """
    ended = add_months(as_of, -policy.restructured_observation_months)
    while observation_ends(ended + timedelta(days=1), policy) <= as_of:
        ended += timedelta(days=1)
    return ended, as_of


def five_level_floor(facts: LoanFacts, as_of: date, policy: ClassificationPolicy) -> tuple[FiveLevel, str, str]:
    """The worst class the rules require, before manual judgement and upgrade holds."""
    facts = with_maturity_applied(facts, as_of)
    dpd = days_past_due(facts.overdue_since, as_of)
    floor, rule, reason = five_level_floor_by_dpd(dpd, policy)
    if facts.written_off and floor != FiveLevel.LOSS:
        floor, rule, reason = FiveLevel.LOSS, "written_off", "written off"
    if (
        in_observation_period(facts.restructured_on, as_of, policy)
        and FIVE_LEVEL_RANK[floor] < FIVE_LEVEL_RANK[FiveLevel.SUBSTANDARD]
    ):
        ends = observation_ends(facts.restructured_on, policy)
        floor, rule, reason = (
            FiveLevel.SUBSTANDARD,
            "restructured_observation",
            f"restructured on {facts.restructured_on.isoformat()}, observation period until {ends.isoformat()}",
        )
    return floor, rule, reason


def upgrade_allowed(facts: LoanFacts, as_of: date, policy: ClassificationPolicy) -> bool:
    """A non-performing loan may move to a better class only with arrears cleared long enough."""
    facts = with_maturity_applied(facts, as_of)
    if facts.overdue_since is not None and facts.overdue_since < as_of:
        return False
    if facts.arrears_cleared_on is None:
        return False
    return as_of >= add_months(facts.arrears_cleared_on, policy.upgrade_wait_months)


def arrears_cleared_on(
    *, was_overdue_since: date | None, overdue_since: date | None, cleared_on: date | None, as_of: date
) -> date | None:
    """When the arrears were cleared: `as_of` when the overdue date empties now, else unchanged
    (the upgrade wait of a non-performing loan counts from it, see `upgrade_allowed`)."""
    if was_overdue_since is not None and overdue_since is None:
        return as_of
    return cleared_on


def four_level_class(facts: LoanFacts, as_of: date, policy: ClassificationPolicy) -> tuple[FourLevel, str, str]:
    facts = with_maturity_applied(facts, as_of)
    if facts.written_off:
        return FourLevel.BAD_DEBT, "written_off", "written off as unrecoverable"
    dpd = days_past_due(facts.overdue_since, as_of)
    if facts.business_ceased:
        return FourLevel.IDLE, "business_ceased", "borrower has stopped operating / project halted"
    if facts.overdue_since is not None and as_of > add_years(facts.overdue_since, policy.idle_after_years):
        return (
            FourLevel.IDLE,
            "overdue_years",
            f"overdue since {facts.overdue_since.isoformat()}, more than {policy.idle_after_years} years",
        )
    if dpd > 0:
        return FourLevel.OVERDUE, "overdue", f"{dpd} days overdue"
    return FourLevel.NORMAL, "not_overdue", "not overdue"


def classify(facts: LoanFacts, as_of: date, policy: ClassificationPolicy) -> Classification:
    facts = with_maturity_applied(facts, as_of)
    dpd = days_past_due(facts.overdue_since, as_of)
    floor, rule, reason = five_level_floor(facts, as_of, policy)
    five, five_rule, five_reason = floor, rule, reason
    if facts.manual_five_level and is_better_five(five, facts.manual_five_level):
        five, five_rule, five_reason = (
            FiveLevel(facts.manual_five_level),
            "manual",
            "classified worse by a manager",
        )
    current = facts.current_five_level
    if (
        current
        and FiveLevel(current) in NON_PERFORMING_FIVE
        and is_better_five(five, current)
        and not upgrade_allowed(facts, as_of, policy)
    ):
        five, five_rule = FiveLevel(current), "upgrade_held"
        five_reason = (
            f"stays {FiveLevel(current).label.lower()}: a non-performing loan is upgraded only after arrears "
            f"are cleared and stay cleared for {policy.upgrade_wait_months} months"
        )
    four, four_rule, four_reason = four_level_class(facts, as_of, policy)
    return Classification(
        days_past_due=dpd,
        five_level_floor=floor,
        five_level=five,
        five_level_rule=five_rule,
        five_level_reason=five_reason,
        four_level=four,
        four_level_rule=four_rule,
        four_level_reason=four_reason,
    )


CENT = Decimal("0.01")


def specific_provision(five_level: str, outstanding_principal: Decimal, policy: ClassificationPolicy) -> Decimal:
    """Specific reserve: the class's rate times outstanding principal, to the cent."""
    rate = Decimal(policy.provision_rates[FiveLevel(five_level)])
    return (outstanding_principal * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def general_reserve(total_outstanding: Decimal, policy: ClassificationPolicy) -> Decimal:
    """General reserve: `general_reserve_rate` of all loans' outstanding principal, to the cent."""
    return (total_outstanding * policy.general_reserve_rate).quantize(CENT, rounding=ROUND_HALF_UP)
