"""The write-off dossier's rules (no database): which evidence a reason requires, what is missing,
and when a second manager must approve. Figures and lists are overridden in NPL_RULES."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

# Why a loss is unrecoverable -> the items of evidence the dossier must hold (codes; labels below).
DEFAULT_WRITE_OFF_EVIDENCE: dict[str, tuple[str, ...]] = {
    # 终结本次执行: the court ended enforcement for lack of executable assets.
    "enforcement_ended": ("judgment", "enforcement_termination_ruling", "asset_investigation"),
    "bankruptcy_closed": ("bankruptcy_closure_ruling", "distribution_record"),
    "death_without_estate": ("death_certificate", "estate_investigation"),
    "deregistered_without_assets": ("deregistration_record", "asset_investigation"),
}

REASON_LABELS = {
    "enforcement_ended": _("Enforcement ended for lack of executable assets"),
    "bankruptcy_closed": _("Bankruptcy proceedings closed"),
    "death_without_estate": _("Death without an estate"),
    "deregistered_without_assets": _("Enterprise deregistered without assets"),
}

REQUIREMENT_LABELS = {
    "judgment": _("Judgment or mediation document"),
    "enforcement_termination_ruling": _("Ruling ending enforcement (终结本次执行)"),
    "asset_investigation": _("Investigation of the debtor's assets"),
    "bankruptcy_closure_ruling": _("Ruling closing the bankruptcy"),
    "distribution_record": _("Record of the bankruptcy distribution"),
    "death_certificate": _("Death certificate"),
    "estate_investigation": _("Investigation showing no estate"),
    "deregistration_record": _("Record of the enterprise's deregistration"),
}


def reason_label(code: str) -> str:
    """A reason's words; a reason the bank added in NPL_RULES shows its code."""
    return str(REASON_LABELS.get(code, code))


def requirement_label(code: str) -> str:
    return str(REQUIREMENT_LABELS.get(code, code))


@dataclass(frozen=True)
class WriteOffPolicy:
    # Reason -> evidence items required; replacing it in NPL_RULES replaces the whole list.
    write_off_evidence: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_WRITE_OFF_EVIDENCE))
    # A write-off of more than this (what the loan still owes) needs a second manager's approval.
    write_off_second_approval_above: Decimal = Decimal("500000.00")

    def __post_init__(self) -> None:
        evidence = self.write_off_evidence
        if not isinstance(evidence, Mapping) or not evidence:
            raise ValueError("write-off policy: write_off_evidence must map each reason to a list of evidence items")
        clean: dict[str, tuple[str, ...]] = {}
        for reason, items in evidence.items():
            if not isinstance(reason, str) or not reason or isinstance(items, str) or not list(items):
                raise ValueError(f"write-off policy: write_off_evidence[{reason!r}] must be a non-empty list of codes")
            clean[reason] = tuple(str(i) for i in items)
        object.__setattr__(self, "write_off_evidence", clean)
        try:
            above = Decimal(str(self.write_off_second_approval_above))
        except Exception as exc:  # noqa: BLE001 - InvalidOperation: say which key
            raise ValueError("write-off policy: write_off_second_approval_above must be an amount") from exc
        if above < 0:
            raise ValueError("write-off policy: write_off_second_approval_above must not be negative")
        object.__setattr__(self, "write_off_second_approval_above", above.quantize(Decimal("0.01")))


def required_items(reason: str, policy: WriteOffPolicy) -> tuple[str, ...]:
    return policy.write_off_evidence.get(reason, ())


def missing_items(reason: str, provided: Iterable[str], policy: WriteOffPolicy) -> list[str]:
    """The items the reason requires that no current file of the dossier proves, in the list's order."""
    have = set(provided)
    return [item for item in required_items(reason, policy) if item not in have]


def needs_second_approval(amount: Decimal, policy: WriteOffPolicy) -> bool:
    """Strictly above the figure: a write-off of exactly the figure needs one approval."""
    return amount > policy.write_off_second_approval_above
