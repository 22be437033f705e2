"""Reads of the loan book, always scoped to the user."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from loans.access import get_for_user_or_404
from loans.classification import NON_PERFORMING_FIVE, FiveLevel, general_reserve
from loans.models import FIVE_LEVEL_WORDS, ClassificationChange, Loan
from loans.policy import classification_policy


def loans_for_user(*, user: Any) -> QuerySet[Loan]:
    return Loan.objects.visible_to(user).select_related("borrower", "branch", "responsible_officer")


def loan_detail_for_user(*, user: Any, pk: int) -> Loan:
    return get_for_user_or_404(
        Loan.objects.select_related("borrower", "branch", "responsible_officer", "issuing_officer"),
        user,
        pk=pk,
    )


def loan_history(*, loan: Loan) -> QuerySet[ClassificationChange]:
    return loan.classification_changes.select_related("actor").order_by("-as_of", "-id")


@dataclass
class ClassSlice:
    code: str
    label: str
    count: int
    outstanding: Decimal
    share: float


@dataclass
class BookSummary:
    loans: int
    outstanding: Decimal
    npl_loans: int
    npl_outstanding: Decimal
    provision: Decimal
    slices: list[ClassSlice]
    # General reserve (a share of all loans, NPL_RULES general_reserve_rate) beside the specific provision.
    general_reserve: Decimal = Decimal(0)
    general_reserve_rate: Decimal = Decimal(0)

    @property
    def general_reserve_percent(self) -> str:
        """The rate as a percentage, without trailing zeros ("1", "1.5")."""
        return f"{(self.general_reserve_rate * 100).normalize():f}"

    @property
    def npl_ratio(self) -> float:
        return float(self.npl_outstanding / self.outstanding * 100) if self.outstanding else 0.0


def book_summary(*, user: Any) -> BookSummary:
    """Totals by five-level class for the user's branches: one GROUP BY query.

    At a million loans this moves to aggregates the services keep (see the dashboards issue).
    """
    rows = {
        r["five_level_class"]: r
        for r in Loan.objects.visible_to(user)
        .order_by()
        .values("five_level_class")
        .annotate(n=Count("id"), outstanding=Sum("outstanding_principal"), provision=Sum("specific_provision"))
    }
    total = sum((r["outstanding"] or Decimal(0) for r in rows.values()), Decimal(0))
    slices = []
    for cls in FiveLevel:
        r = rows.get(cls.value, {})
        out = r.get("outstanding") or Decimal(0)
        slices.append(
            ClassSlice(
                code=cls.value,
                label=FIVE_LEVEL_WORDS[cls],
                count=r.get("n", 0),
                outstanding=out,
                share=float(out / total * 100) if total else 0.0,
            )
        )
    npl = [s for s in slices if s.code in NON_PERFORMING_FIVE]
    policy = classification_policy()
    return BookSummary(
        loans=sum(s.count for s in slices),
        outstanding=total,
        npl_loans=sum(s.count for s in npl),
        npl_outstanding=sum((s.outstanding for s in npl), Decimal(0)),
        provision=sum((r.get("provision") or Decimal(0) for r in rows.values()), Decimal(0)),
        slices=slices,
        general_reserve=general_reserve(total, policy),
        general_reserve_rate=policy.general_reserve_rate,
    )
