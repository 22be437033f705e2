"""Reads of the ledger: a loan's entries, the invariant's breaches, recovery sums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ledger import rules
from ledger.models import LedgerEntry
from loans.models import Loan

_ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=18, decimal_places=2))


def entries_of_loan(loan: Loan, user) -> QuerySet[LedgerEntry]:
    """The loan's entries, newest first, as `user` may see them."""
    return (
        LedgerEntry.objects.visible_to(user)
        .filter(loan=loan)
        .select_related("recorded_by", "approved_by", "case", "import_batch")
        .order_by("-value_date", "-id")
    )


def _component_sum(column: str):
    sums = (
        LedgerEntry.objects.filter(loan_id=OuterRef("pk"))
        .order_by()
        .values("loan_id")
        .annotate(total=Sum(column))
        .values("total")
    )
    return Coalesce(Subquery(sums, output_field=DecimalField(max_digits=18, decimal_places=2)), _ZERO)


def invariant_breaches(loans: QuerySet[Loan] | None = None) -> QuerySet[Loan]:
    """Loans whose balance is not the sum of their entries (opening balance included), per
    component; annotated with the ledger's sums (ledger_principal, ledger_interest_on,
    ledger_interest_off). Set-based: one query, a correlated aggregate per component."""
    loans = Loan.objects.all() if loans is None else loans
    return (
        loans.annotate(
            ledger_principal=_component_sum("principal"),
            ledger_interest_on=_component_sum("interest_on_balance"),
            ledger_interest_off=_component_sum("interest_off_balance"),
        )
        .filter(
            ~Q(outstanding_principal=F("ledger_principal"))
            | ~Q(interest_on_balance=F("ledger_interest_on"))
            | ~Q(interest_off_balance=F("ledger_interest_off"))
        )
        .order_by("pk")
    )


@dataclass(frozen=True)
class RecoveredSums:
    cash: Decimal
    in_kind: Decimal


def counting_on(as_of: date) -> Q:
    """Entries that count for time limits, sanctions and rewards as of `as_of`: those that need no
    approval or were approved (on their value date), and refused ones from the day they were recorded."""
    return Q(approval__in=[a.value for a in rules.COUNTING_APPROVALS], value_date__lte=as_of) | Q(
        approval=rules.Approval.REFUSED.value, recorded_on__lte=as_of
    )


def recovered_sums(entries: QuerySet[LedgerEntry]) -> RecoveredSums:
    """Cash recovered and value taken in kind (apart) of `entries` (filter them first)."""
    rows = entries.filter(counts_as_recovery=True).aggregate(
        cash=Coalesce(Sum("amount", filter=Q(form=rules.EntryForm.CASH.value)), _ZERO),
        in_kind=Coalesce(Sum("amount", filter=Q(form=rules.EntryForm.IN_KIND.value)), _ZERO),
    )
    return RecoveredSums(cash=rows["cash"], in_kind=rows["in_kind"])


def awaiting_approval(user) -> QuerySet[LedgerEntry]:
    """Backdated entries awaiting a manager's approval, in `user`'s scope, oldest first."""
    return (
        LedgerEntry.objects.visible_to(user)
        .filter(approval=rules.Approval.AWAITING.value)
        .select_related("loan", "case", "recorded_by")
        .order_by("recorded_at", "id")
    )
