"""Reads of the loan book, always scoped to the user."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from loans.access import get_for_user_or_404
from loans.classification import NON_PERFORMING_FIVE, FiveLevel, general_reserve
from loans.models import FIVE_LEVEL_WORDS, Borrower, ClassificationChange, Loan
from loans.policy import classification_policy


def loans_for_user(*, user: Any) -> QuerySet[Loan]:
    return Loan.objects.visible_to(user).select_related("borrower", "branch", "responsible_officer")


# Shorter than this, a name is searched by its start only: a trigram index cannot narrow "%ab%"
# (pg_trgm needs three characters), but it does narrow "AB%" (the start of a word is padded).
SEARCH_PART_MIN_LENGTH = 3
# A search yields at most this many loans (the oldest first, by id); the list says when it stopped
# there. A few letters matching half the book would otherwise join and sort half the book.
SEARCH_MAX_MATCHES = 10_000


def loan_ids_matching(text: str) -> RawSQL | None:
    """A subquery of the ids of the loans whose loan number or borrower ID number starts with
    `text`, or whose borrower's name contains it (starts with it, under SEARCH_PART_MIN_LENGTH
    characters), case-insensitively: at most SEARCH_MAX_MATCHES, the lowest ids. None when blank.

    Unscoped: it filters a scoped queryset (`loans_search`, the queue's search). Django writes
    istartswith/icontains on PostgreSQL as `UPPER(col::text) LIKE UPPER(%s)` with % and _ escaped,
    which the pg_trgm GIN indexes on UPPER(col::text) answer (loans migration 0007). The loan-number
    matches and the borrower matches are a UNION of two indexed lookups (one OR across the join
    would scan the loans table), handed to the outer query as an array, so that it looks the loans
    up by primary key whatever the planner guesses about the LIKE. SQLite runs the same, unindexed.
    """
    text = text.strip()
    if not text:
        return None
    name_lookup = "icontains" if len(text) >= SEARCH_PART_MIN_LENGTH else "istartswith"
    by_number = Loan._base_manager.filter(loan_no__istartswith=text).order_by().values("id")
    borrowers = Borrower._base_manager.filter(Q(**{f"name__{name_lookup}": text}) | Q(id_no__istartswith=text)).values(
        "id"
    )
    by_borrower = Loan._base_manager.filter(borrower_id__in=borrowers).order_by().values("id")
    union_sql, params = by_number.union(by_borrower).query.sql_with_params()
    first = f"SELECT matched.id FROM ({union_sql}) matched ORDER BY matched.id LIMIT {SEARCH_MAX_MATCHES}"
    if connection.vendor == "postgresql":
        return RawSQL(f"SELECT unnest(ARRAY({first}))", params)
    return RawSQL(first, params)


def loans_search(queryset: QuerySet[Loan], text: str) -> QuerySet[Loan]:
    """`queryset` (already scoped) narrowed to the loans matching `text` (see loan_ids_matching)."""
    ids = loan_ids_matching(text)
    return queryset if ids is None else queryset.filter(pk__in=ids)


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
