"""The ledger's pure rules: which entry kinds count as recovery, and when an entry needs approval.

Figures a bank may change are fields of `LedgerPolicy` (settings.NPL_RULES, e.g.
NPL_RULES='{"backdating_days": 3}').
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class EntryKind(StrEnum):
    OPENING_BALANCE = "opening_balance"
    CASH_RECOVERY = "cash_recovery"
    REPAYMENT_IN_KIND = "repayment_in_kind"
    GUARANTOR_PAYMENT = "guarantor_payment"
    COURT_DEDUCTION = "court_deduction"
    FISCAL_ALLOCATION = "fiscal_allocation"
    GOVERNMENT_PROPERTY = "government_property"
    DISPOSAL_PROCEEDS = "disposal_proceeds"
    WRITE_OFF = "write_off"
    REFINANCING = "refinancing"
    BOOK_CORRECTION = "book_correction"
    BOOK_REPORTED = "book_reported"


class EntryForm(StrEnum):
    """What came in: money, value in kind, or nothing (a balance moved without anything paid)."""

    CASH = "cash"
    IN_KIND = "in_kind"
    NONE = "none"


# Money came in: these count as recovery (cash recovered). Value in kind is a recovery in kind,
# counted apart (DOMAIN: keep money recovered and value taken in kind apart in every figure).
CASH_RECOVERY_KINDS = frozenset(
    {
        EntryKind.CASH_RECOVERY,
        EntryKind.GUARANTOR_PAYMENT,
        EntryKind.COURT_DEDUCTION,
        EntryKind.FISCAL_ALLOCATION,
        EntryKind.GOVERNMENT_PROPERTY,
        EntryKind.DISPOSAL_PROCEEDS,
    }
)
IN_KIND_KINDS = frozenset({EntryKind.REPAYMENT_IN_KIND})
RECOVERY_KINDS = CASH_RECOVERY_KINDS | IN_KIND_KINDS
# Never a recovery: the balance moved, but no money came in.
NON_RECOVERY_KINDS = frozenset(
    {
        EntryKind.OPENING_BALANCE,
        EntryKind.WRITE_OFF,
        EntryKind.REFINANCING,
        EntryKind.BOOK_CORRECTION,
        EntryKind.BOOK_REPORTED,
    }
)
assert frozenset(EntryKind) == RECOVERY_KINDS | NON_RECOVERY_KINDS


def counts_as_recovery(kind: str) -> bool:
    return EntryKind(kind) in RECOVERY_KINDS


def form_of(kind: str, form: str | None = None) -> str:
    """The form of an entry of `kind`: in kind for repayments in kind, else cash for recovery kinds,
    else none. A government or collective property entry may be in kind (`form` says so)."""
    kind = EntryKind(kind)
    if kind in IN_KIND_KINDS:
        return EntryForm.IN_KIND
    if kind in CASH_RECOVERY_KINDS:
        if form == EntryForm.IN_KIND and kind == EntryKind.GOVERNMENT_PROPERTY:
            return EntryForm.IN_KIND
        return EntryForm.CASH
    return EntryForm.NONE


class Approval(StrEnum):
    NOT_NEEDED = "not_needed"
    AWAITING = "awaiting"
    APPROVED = "approved"
    REFUSED = "refused"


# Entries whose value date counts for time limits, sanctions and rewards.
COUNTING_APPROVALS = frozenset({Approval.NOT_NEEDED, Approval.APPROVED})


@dataclass(frozen=True)
class LedgerPolicy:
    # An entry of a recovery kind dated more than this many days before the day it is recorded
    # changes the balance at once, but counts for time limits, sanctions and rewards only once a
    # manager (not the recorder) approves it.
    backdating_days: int = 7

    def __post_init__(self) -> None:
        value = self.backdating_days
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"ledger policy: backdating_days must be a whole number >= 0, got {value!r}")


def approval_needed(kind: str, value_date: date, recorded_on: date, policy: LedgerPolicy) -> str:
    """Approval state of a new entry: a recovery dated more than backdating_days back awaits a manager."""
    if EntryKind(kind) in RECOVERY_KINDS and (recorded_on - value_date).days > policy.backdating_days:
        return Approval.AWAITING
    return Approval.NOT_NEEDED
