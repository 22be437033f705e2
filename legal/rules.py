"""Legal deadlines: pure Python, no database (Django only to translate the messages).

The appeal deadline, the enforcement application deadline, the default expiry of a preservation
order, the end of a guarantee period and which of them is due. Every figure is a field of
`LegalPolicy` (settings.NPL_RULES overrides it by name, like every other policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from loans.classification import add_months, add_years


class AssetKind(StrEnum):
    BANK_ACCOUNT = "bank_account"
    REAL_ESTATE = "real_estate"
    VEHICLE = "vehicle"
    EQUITY = "equity"
    RECEIVABLE = "receivable"
    OTHER = "other"


class DecisionKind(StrEnum):
    JUDGMENT = "judgment"
    RULING = "ruling"
    MEDIATION = "mediation"


# DOMAIN.md: deposits frozen up to 1 year, movables sealed up to 2, real estate and other property rights up to 3.
DEFAULT_PRESERVATION_YEARS = {
    AssetKind.BANK_ACCOUNT.value: 1,
    AssetKind.VEHICLE.value: 2,
    AssetKind.OTHER.value: 2,
    AssetKind.REAL_ESTATE.value: 3,
    AssetKind.EQUITY.value: 3,
    AssetKind.RECEIVABLE.value: 3,
}


def _days(value: object, name: str) -> tuple[int, ...]:
    days = tuple(value)  # type: ignore[call-overload]
    if not days or any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in days):
        raise ValueError(f"legal policy: {name} must be a list of whole numbers >= 0, got {value!r}")
    return tuple(sorted(set(days), reverse=True))


@dataclass(frozen=True)
class LegalPolicy:
    """Every figure of the legal deadlines. Defaults follow DOMAIN.md ("Legal deadlines")."""

    # Officers are reminded of a hearing this many days before it.
    hearing_reminder_days: tuple[int, ...] = (7, 1)
    # Appeal: days from service of a judgment, or of a ruling.
    appeal_days_judgment: int = 15
    appeal_days_ruling: int = 10
    # Applying for enforcement: years from the last day of performance the judgment set; warnings before.
    enforcement_application_years: int = 2
    enforcement_warning_days: tuple[int, ...] = (60, 30, 7)
    # Preservation orders: default length by asset kind (years), reminders before expiry.
    preservation_years: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PRESERVATION_YEARS))
    preservation_reminder_days: tuple[int, ...] = (30, 7)
    # Guarantee period: months from the principal debt's due date (unless the contract says), warnings before.
    guarantee_period_months: int = 6
    guarantee_warning_days: tuple[int, ...] = (60, 30, 7)

    def __post_init__(self) -> None:
        for name in (
            "appeal_days_judgment",
            "appeal_days_ruling",
            "enforcement_application_years",
            "guarantee_period_months",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"legal policy: {name} must be a whole number >= 1, got {value!r}")
        for name in (
            "hearing_reminder_days",
            "enforcement_warning_days",
            "preservation_reminder_days",
            "guarantee_warning_days",
        ):
            object.__setattr__(self, name, _days(getattr(self, name), name))
        years = dict(DEFAULT_PRESERVATION_YEARS)
        for kind, value in dict(self.preservation_years).items():
            if kind not in years or not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"legal policy: preservation_years takes {', '.join(years)} with whole years >= 1, "
                    f"got {kind!r}: {value!r}"
                )
            years[kind] = value
        object.__setattr__(self, "preservation_years", years)


def appeal_deadline(served_on: date | None, kind: str, policy: LegalPolicy) -> date | None:
    """The last day to appeal: 15 days from service of a judgment, 10 of a ruling; a mediation
    agreement is final (no appeal)."""
    if served_on is None or kind == DecisionKind.MEDIATION:
        return None
    days = policy.appeal_days_ruling if kind == DecisionKind.RULING else policy.appeal_days_judgment
    return served_on + timedelta(days=days)


def enforcement_deadline(performance_deadline: date | None, policy: LegalPolicy) -> date | None:
    """The last day to apply for enforcement: 2 years (policy) from the last day of performance."""
    if performance_deadline is None:
        return None
    return add_years(performance_deadline, policy.enforcement_application_years)


def preservation_expiry(ruling_on: date, asset_kind: str, policy: LegalPolicy) -> date:
    """The default expiry of a freeze, seal or seizure ruled on `ruling_on` (the day before the anniversary)."""
    years = policy.preservation_years.get(asset_kind, policy.preservation_years[AssetKind.OTHER])
    return add_years(ruling_on, years) - timedelta(days=1)


def guarantee_period_ends(maturity_on: date, contract_ends_on: date | None, policy: LegalPolicy) -> date:
    """The last day of a guarantee period: the contract's end date if given, else 6 months (policy)
    from the principal debt's due date (the loan's maturity)."""
    if contract_ends_on is not None:
        return contract_ends_on
    return add_months(maturity_on, policy.guarantee_period_months)


def guarantee_maturity_range(low: date, high: date, policy: LegalPolicy) -> tuple[date, date]:
    """Maturity dates whose default period may end between `low` and `high` (a few days wider:
    month ends clamp; the caller checks each exactly with guarantee_period_ends)."""
    months = policy.guarantee_period_months
    return add_months(low, -months) - timedelta(days=3), add_months(high, -months) + timedelta(days=3)


class GuaranteeStanding(StrEnum):
    RUNNING = "running"  # the period runs and no demand has been served yet
    KEPT = "kept"  # a demand was served within the period: the guarantor stays liable
    RELEASED = "released"  # the period ended without a demand: the guarantor is released


def guarantee_standing(
    ends_on: date,
    first_demand_on: date | None,
    as_of: date,
    *,
    liability: str = "joint",
    first_suit_on: date | None = None,
) -> GuaranteeStanding:
    """Where a guarantee stands on `as_of`. The whole last day of the period still counts.

    What keeps the guarantor liable depends on the kind of guarantee (loans.Guarantee.Liability):
    joint liability ("joint"): a demand served on the guarantor within the period;
    general guarantee ("general"): a suit against the debtor filed within the period."""
    keeping_act = first_suit_on if liability == "general" else first_demand_on
    if keeping_act is not None and keeping_act <= ends_on:
        return GuaranteeStanding.KEPT
    if as_of > ends_on:
        return GuaranteeStanding.RELEASED
    return GuaranteeStanding.RUNNING


def reminder_threshold(due_on: date, as_of: date, thresholds: tuple[int, ...]) -> int | None:
    """The reminder window `due_on` is in on `as_of` (the smallest threshold it is within), or None."""
    left = (due_on - as_of).days
    if left < 0:
        return None
    inside = [t for t in thresholds if left <= t]
    return min(inside) if inside else None
