"""The headline figures' pure rules: which classes are non-performing under each scheme, what a ratio,
a change and the recovery rate are. Plain Python and Decimals, no Django: the dashboard
(dashboards.figures), its slow twin (dashboards.recompute) and the benchmark all use these.

Definitions (also in the README):
- NPL ratio = NPL balance / outstanding principal of every loan in the view, in percent.
- Change since the month's start = the figure now minus the figure at the previous month-end close;
  since the year's start = minus the figure at the previous year's December close. None when that
  close was never taken (the page says "no close yet"). A fall is good: the guideline's goal is that
  the absolute NPL balance goes down.
- Recovery rate = cash recovered this year (money only: value taken in kind is not in it, and the
  costs are not taken off) / the NPL balance at the year's start (the previous December close, the
  chosen scheme), in percent. None without that close or when that balance was 0.
- Claims time-barred: open cases whose limitation period ended before the as-of day; within the
  warning window: ending from the as-of day up to the widest warning (limitation_warning_days, 90
  days by default) after it: the window the daily limitation check warns in.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from loans.classification import NON_PERFORMING_FIVE, FiveLevel, FourLevel

HUNDRED = Decimal(100)
PERCENT_PLACES = Decimal("0.01")

# The non-performing classes of each scheme (five levels: the classification module's own set).
NPL_CLASSES: dict[str, frozenset[str]] = {
    "five": frozenset(c.value for c in NON_PERFORMING_FIVE),
    "four": frozenset({FourLevel.OVERDUE.value, FourLevel.IDLE.value, FourLevel.BAD_DEBT.value}),
}
SCHEME_CLASSES: dict[str, tuple[str, ...]] = {
    "five": tuple(c.value for c in FiveLevel),
    "four": tuple(c.value for c in FourLevel),
}
# The field of a loan (and of a book cell) that holds each scheme's class.
CLASS_FIELD = {"five": "five_level_class", "four": "four_level_class"}


def other_scheme(scheme: str) -> str:
    return "four" if scheme == "five" else "five"


def percent(part: Decimal | int | None, whole: Decimal | int | None) -> Decimal | None:
    """`part` / `whole` in percent to two places (half up); None when the whole is 0 or unknown."""
    if part is None or not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def npl_ratio(npl_balance: Decimal, outstanding: Decimal) -> Decimal | None:
    return percent(npl_balance, outstanding)


def change(now: Decimal | int | None, then: Decimal | int | None) -> Decimal | int | None:
    """The change from `then` to `now` (negative: fell); None when either is unknown."""
    if now is None or then is None:
        return None
    return now - then


def recovery_rate(cash_recovered_this_year: Decimal, npl_at_year_start: Decimal | None) -> Decimal | None:
    """Cash recovered this year / the NPL balance at the year's start, in percent (see the module)."""
    return percent(cash_recovered_this_year, npl_at_year_start)


def limitation_window(as_of: date, warning_days: tuple[int, ...]) -> tuple[date, date]:
    """(first day, last day) of the warning window: claims whose limitation period ends between
    them (inclusive) are about to be time-barred; ending before the first day: time-barred."""
    return as_of, as_of + timedelta(days=max(warning_days) if warning_days else 0)


def previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def previous_year_end(month: date) -> date:
    """The month of the close the year's figures start from: December of the year before."""
    return date(month.year - 1, 12, 1)
