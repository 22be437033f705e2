"""Accountability and prevention rules (what holds): pure Python, no database (only Django's lazy
translation of the sentences shown to people).

Who is reminded when, when a time limit counts as missed, when a claim's limitation period
warnings are due, what a bonus is worth, which loans go on the watch list and which new loan looks
like "collecting loans by loans". Every figure is a field of `AccountabilityPolicy`; the Django side
builds it from settings (accountability/policy.py), so a bank changes figures without a code change.
Who may decide a record is a permission: accountability/permissions.py.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from loans.classification import FiveLevel

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


class SanctionType(StrEnum):
    WAGE_STOP = "wage_stop"
    SUSPENSION = "suspension"
    LAYOFF = "layoff"
    COMPENSATION = "compensation"
    LEGAL_ACTION = "legal_action"


class RewardType(StrEnum):
    COMMENDATION = "commendation"
    BONUS = "bonus"


# Types whose record carries an amount of money.
TYPES_WITH_AMOUNT = (SanctionType.COMPENSATION.value, RewardType.BONUS.value)


class WatchReason(StrEnum):
    EARLY_DPD = "early_dpd"  # a normal loan already past due (within the technical delay)
    NEAR_SUBSTANDARD = "near_substandard"  # special mention, close to the substandard floor
    DRIFT = "drift"  # moved from normal to special mention recently


WATCH_REASON_LABELS = {
    WatchReason.EARLY_DPD: _("Past due while still normal"),
    WatchReason.NEAR_SUBSTANDARD: _("Close to substandard"),
    WatchReason.DRIFT: _("Recently downgraded to special mention"),
}


def _tuple_of_days(name: str, value: Iterable[int]) -> tuple[int, ...]:
    days = tuple(value)
    if not days or any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in days):
        raise ValueError(f"accountability policy: {name} must be a list of whole numbers >= 0, got {value!r}")
    if len(set(days)) != len(days):
        raise ValueError(f"accountability policy: {name} has a repeated day, got {value!r}")
    return tuple(sorted(days, reverse=True))


@dataclass(frozen=True)
class AccountabilityPolicy:
    """Every figure accountability and prevention use. Defaults follow DOMAIN.md."""

    # Remind the responsible officers this many days before the recovery time limit.
    reminder_days_before: tuple[int, ...] = (30, 7, 1)
    # Sanctions proposed to the manager for each responsible officer when a time limit is missed.
    missed_deadline_sanctions: tuple[str, ...] = (SanctionType.WAGE_STOP.value,)
    # Warnings this many days before a claim's limitation period runs out (the period itself and
    # the date it runs from are the collection rules': collections_app.case_rules).
    limitation_warning_days: tuple[int, ...] = (90, 30)
    # Bonus promised for a loan recovered within its time limit: this share of the cash recovered.
    bonus_rate: Decimal = Decimal("0.01")
    # Compensation proposed for a loan that went bad through human factors: this share of the loss
    # (rules.cause_loss), split by each person's share of the cause.
    compensation_rate: Decimal = Decimal("0.05")
    # "Loans by loans": a new loan within this many days of a repayment on an overdue loan.
    loans_by_loans_window_days: int = 30
    # A case recovered within its time limit earns its reward when found by the daily check up to
    # this many days later (the recovery itself triggers it at once; this is the catch-up).
    reward_lookback_days: int = 90
    # Watch list: a special-mention loan this many days (or fewer) before the substandard floor.
    watch_days_before_substandard: int = 30
    # Watch list: downgraded from normal to special mention within this many days.
    watch_drift_days: int = 90
    # Watch-list rows are kept this long (the month-end snapshot keeps the long history).
    watch_list_keep_days: int = 35

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "reminder_days_before", _tuple_of_days("reminder_days_before", self.reminder_days_before)
        )
        object.__setattr__(
            self, "limitation_warning_days", _tuple_of_days("limitation_warning_days", self.limitation_warning_days)
        )
        sanctions = tuple(self.missed_deadline_sanctions)
        unknown = [s for s in sanctions if s not in {t.value for t in SanctionType}]
        if unknown:
            raise ValueError(
                f"accountability policy: missed_deadline_sanctions has unknown kinds {unknown}; "
                f"use {[t.value for t in SanctionType]}"
            )
        if SanctionType.COMPENSATION in sanctions:
            raise ValueError(
                "accountability policy: missed_deadline_sanctions cannot propose compensation "
                "(its amount is a manager's decision)"
            )
        object.__setattr__(self, "missed_deadline_sanctions", sanctions)
        ints = (
            "loans_by_loans_window_days",
            "reward_lookback_days",
            "watch_days_before_substandard",
            "watch_drift_days",
            "watch_list_keep_days",
        )
        for name in ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"accountability policy: {name} must be a whole number >= 0, got {value!r}")
        rate = Decimal(str(self.bonus_rate))
        if not (Decimal(0) <= rate <= Decimal(1)):
            raise ValueError(f"accountability policy: bonus_rate must be between 0 and 1, got {self.bonus_rate!r}")
        object.__setattr__(self, "bonus_rate", rate)
        rate = Decimal(str(self.compensation_rate))
        if not (Decimal(0) <= rate <= Decimal(1)):
            raise ValueError(
                f"accountability policy: compensation_rate must be between 0 and 1, got {self.compensation_rate!r}"
            )
        object.__setattr__(self, "compensation_rate", rate)

    @property
    def first_reminder_days(self) -> int:
        """The widest reminder window: a time limit this close (30 days by default) is "due soon"."""
        return self.reminder_days_before[0]


# --- decisions ---------------------------------------------------------------------------------------

# Decisions that are taken only with a reason written down, per kind of record: a waived proposal
# and an imposed sanction (a reward is granted, lifted or honoured as it was proposed).
_REASON_NEEDED = {
    ("waive", "sanction"): _("Say why it is waived."),
    ("waive", "reward"): _("Say why it is waived."),
    ("impose", "sanction"): _("Say why the sanction is imposed."),
}


def decision_reason_missing(*, decision: str, kind: str, reason: str) -> str | None:
    """What to say when `decision` on a record of `kind` needs a reason and `reason` is blank."""
    if reason and reason.strip():
        return None
    message = _REASON_NEEDED.get((decision, kind))
    return str(message) if message is not None else None


# --- responsibility -----------------------------------------------------------------------------


def shares_problem(shares: Iterable[Decimal]) -> str | None:
    """Why a division of responsibility is not valid, or None: each share > 0, together 100%."""
    values = [Decimal(str(s)) for s in shares]
    if not values:
        return str(_("Name at least one responsible officer."))
    if any(v <= 0 or v > HUNDRED for v in values):
        return str(_("Each officer's share must be more than 0% and at most 100%."))
    total = sum(values, Decimal(0))
    if total != HUNDRED:
        return str(_("The shares must add up to 100%%; they add up to %(total)s%%.")) % {
            "total": f"{total.normalize():f}"
        }
    return None


def days_left(deadline: date, as_of: date) -> int:
    """Days until the time limit: 0 on the day itself, negative once it has passed."""
    return (deadline - as_of).days


def _bucket(days: int, thresholds: tuple[int, ...]) -> int | None:
    """The most urgent threshold whose window holds `days`.

    Thresholds (30, 7, 1) make windows 30..8, 7..2 and 1..0. The reminder for a window goes out
    on its first day, or on the first run inside it when a day was skipped (catch-up); one per
    window, so a run on the day after sends nothing new.
    """
    if days < 0:
        return None
    ordered = sorted(thresholds, reverse=True)
    chosen = None
    for t in ordered:
        if days <= t:
            chosen = t
    return chosen


def reminder_threshold(deadline: date, as_of: date, policy: AccountabilityPolicy) -> int | None:
    return _bucket(days_left(deadline, as_of), policy.reminder_days_before)


def threshold_window(threshold: int, thresholds: tuple[int, ...], as_of: date) -> tuple[date, date]:
    """Dates (inclusive) a deadline must fall between for `threshold` to be the current window."""
    smaller = [t for t in thresholds if t < threshold]
    lowest_days = (max(smaller) + 1) if smaller else 0
    return as_of + timedelta(days=lowest_days), as_of + timedelta(days=threshold)


def deadline_missed(deadline: date, as_of: date) -> bool:
    """A time limit is missed the day after it: the whole last day still counts."""
    return as_of > deadline


class DeadlineUrgency(StrEnum):
    MISSED = "missed"
    URGENT = "urgent"  # inside a later reminder window (7 days or fewer by default)
    SOON = "soon"  # inside the first reminder window (30 days or fewer by default)


def deadline_urgency(deadline: date, as_of: date, policy: AccountabilityPolicy) -> DeadlineUrgency | None:
    """How urgent a time limit is, by the reminder windows the officer is reminded in: missed once
    it has passed, "soon" in the first window, "urgent" in any later one, None before them."""
    if deadline_missed(deadline, as_of):
        return DeadlineUrgency.MISSED
    threshold = reminder_threshold(deadline, as_of, policy)
    if threshold is None:
        return None
    return DeadlineUrgency.SOON if threshold == policy.first_reminder_days else DeadlineUrgency.URGENT


def recovered_in_time(recovered_on: date, deadline: date) -> bool:
    return recovered_on <= deadline


def bonus_amount(*, cash_recovered: Decimal, share_percent: Decimal, policy: AccountabilityPolicy) -> Decimal:
    """Cash recovered x rate x the officer's share. Value taken in kind earns no bonus."""
    amount = Decimal(cash_recovered) * policy.bonus_rate * Decimal(share_percent) / HUNDRED
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- why a loan went bad ---------------------------------------------------------------------------


class CauseCategory(StrEnum):
    OBJECTIVE = "objective"
    HUMAN = "human"


class CauseKind(StrEnum):
    MARKET = "market"
    POLICY = "policy"
    NATURAL_DISASTER = "natural_disaster"
    DEATH_OR_BANKRUPTCY = "death_or_bankruptcy"
    LENDING_RULES_BROKEN = "lending_rules_broken"
    NEGLIGENCE = "negligence"
    FRAUD = "fraud"
    INTERFERENCE = "interference"


OBJECTIVE_CAUSES = (
    CauseKind.MARKET.value,
    CauseKind.POLICY.value,
    CauseKind.NATURAL_DISASTER.value,
    CauseKind.DEATH_OR_BANKRUPTCY.value,
)
HUMAN_CAUSES = (
    CauseKind.LENDING_RULES_BROKEN.value,
    CauseKind.NEGLIGENCE.value,
    CauseKind.FRAUD.value,
    CauseKind.INTERFERENCE.value,
)


def cause_category(kind: str) -> str:
    """Objective or human: the kind says which."""
    if kind in HUMAN_CAUSES:
        return CauseCategory.HUMAN.value
    if kind in OBJECTIVE_CAUSES:
        return CauseCategory.OBJECTIVE.value
    raise ValueError(f"unknown cause {kind!r}")


def cause_loss(
    *, outstanding_principal: Decimal, interest_on_balance: Decimal, interest_off_balance: Decimal
) -> Decimal:
    """The loss a compensation is sized on: what the loan still owes when the cause is recorded,
    principal and interest on and off the balance sheet."""
    return Decimal(outstanding_principal) + Decimal(interest_on_balance) + Decimal(interest_off_balance)


def compensation_amount(*, loss: Decimal, share_percent: Decimal, policy: AccountabilityPolicy) -> Decimal:
    """The compensation proposed for one person: compensation_rate x the loss x their share."""
    amount = Decimal(loss) * policy.compensation_rate * Decimal(share_percent) / HUNDRED
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- prevention ---------------------------------------------------------------------------------


def loans_by_loans(repaid_on: date, disbursed_on: date, policy: AccountabilityPolicy) -> bool:
    """A new loan disbursed within the window before or after a repayment of an overdue loan."""
    return abs((disbursed_on - repaid_on).days) <= policy.loans_by_loans_window_days


@dataclass(frozen=True)
class WatchFacts:
    five_level_class: str
    days_past_due: int
    # When the loan last moved from normal to special mention (five-level), if it did.
    downgraded_on: date | None = None


def watch_reasons(
    facts: WatchFacts,
    as_of: date,
    policy: AccountabilityPolicy,
    *,
    substandard_after_days: int,
) -> list[WatchReason]:
    """Why a performing loan may turn bad; empty when it is not on the watch list."""
    reasons: list[WatchReason] = []
    if facts.five_level_class == FiveLevel.NORMAL and facts.days_past_due > 0:
        reasons.append(WatchReason.EARLY_DPD)
    if facts.five_level_class == FiveLevel.SPECIAL_MENTION:
        if facts.days_past_due >= substandard_after_days - policy.watch_days_before_substandard:
            reasons.append(WatchReason.NEAR_SUBSTANDARD)
        if facts.downgraded_on is not None and (as_of - facts.downgraded_on).days <= policy.watch_drift_days:
            reasons.append(WatchReason.DRIFT)
    return reasons


# --- month end ----------------------------------------------------------------------------------


def is_month_end(as_of: date) -> bool:
    return as_of.day == calendar.monthrange(as_of.year, as_of.month)[1]


def month_start(as_of: date) -> date:
    return as_of.replace(day=1)
