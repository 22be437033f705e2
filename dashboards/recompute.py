"""Every figure of dashboards.figures computed the slow, obvious way, from the source tables.

Same names, same scope rules (subtree, officer, product, borrower kind), same results: tests and the
benchmark compare `figures.FIGURES[name](query)` with `FIGURES[name](query)` here. Nothing here reads
a kept cell: the book is a GROUP BY over the loans, the money a scan of the ledger entries, costs and
cost repayments with the ledger's own rules (an entry counts in the month of its value date, of the
day it was recorded when its backdating was refused, and nowhere while awaiting approval), the claims
a walk over the open cases. A past month's book has no other source than its close: the snapshot
rows are added up one by one in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, Q, Sum, When

from dashboards import figures as fig
from dashboards import headline_rules as hr
from dashboards.query import DashboardQuery, month_end
from ledger.rules import Approval, EntryForm, EntryKind

ZERO = fig.ZERO


def loan_q(query: DashboardQuery, prefix: str = "", exact_branch: int | None = None) -> Q:
    """The query's scope on the loans (`prefix`: the path from another model to its loan)."""
    q = Q()
    if exact_branch is not None:
        q &= Q(**{f"{prefix}branch_id": exact_branch})
    elif query.branch is not None:
        q &= Q(**{f"{prefix}branch__path__startswith": query.branch.path})
    for officer in (query.officer_id, query.drill_officer_id):
        if officer is not None:
            q &= Q(**{f"{prefix}responsible_officer_id": officer})
    if query.product:
        q &= Q(**{f"{prefix}product": query.product})
    if query.borrower_kind:
        q &= Q(**{f"{prefix}borrower__kind": query.borrower_kind})
    return q


def _snapshot_totals(query: DashboardQuery, month: date, exact_branch: int | None = None) -> dict[str, Any]:
    """One month's snapshot rows of the scope, added up in Python."""
    from accountability.models import MonthEndSnapshot

    rows = MonthEndSnapshot.objects.filter(month=month)
    if exact_branch is not None:
        rows = rows.filter(branch_id=exact_branch)
    elif query.branch is not None:
        rows = rows.filter(branch__path__startswith=query.branch.path)
    for officer in (query.officer_id, query.drill_officer_id):
        if officer is not None:
            rows = rows.filter(officer_id=officer)
    names = {f.name for f in MonthEndSnapshot._meta.get_fields()}
    totals: dict[str, Any] = {}
    fields = (*fig._SNAPSHOT_SUMS, "npl_balance", "open_cases")
    for row in rows:
        if query.product and "product" in names and row.product != query.product:
            continue
        if query.borrower_kind and "borrower_kind" in names and row.borrower_kind != query.borrower_kind:
            continue
        for f in fields:
            totals[f] = totals.get(f, 0) + getattr(row, f)
    return totals


def _closed(month: date) -> bool:
    from accountability.models import MonthEndClose

    return MonthEndClose.objects.filter(month=month).exists()


def book(query: DashboardQuery) -> fig.Book | None:
    from loans.models import Loan

    if not query.is_current_month:
        if not fig.snapshot_serves(query) or not _closed(query.month):
            return None
        return fig.book_from_snapshot(_snapshot_totals(query, query.month))
    rows = list(
        Loan._base_manager.filter(loan_q(query))
        .order_by()
        .values("five_level_class", "four_level_class")
        .annotate(
            n=Count("id"),
            principal=Sum("outstanding_principal"),
            i_on=Sum("interest_on_balance"),
            i_off=Sum("interest_off_balance"),
            provision=Sum("specific_provision"),
            written_off=Count("id", filter=Q(written_off_on__isnull=False)),
        )
    )
    return fig.book_from_rows(rows)


def closes(query: DashboardQuery) -> fig.Closes:
    month_close, year_close = hr.previous_month(query.month), hr.previous_year_end(query.month)

    def at(month: date) -> dict[str, fig.CloseNPL] | None:
        if not fig.snapshot_serves(query) or not _closed(month):
            return None
        return fig.npl_at_close(_snapshot_totals(query, month))

    return fig.Closes(
        month_close=month_close, year_close=year_close, since_month=at(month_close), since_year=at(year_close)
    )


def _entries(query: DashboardQuery, exact_branch: int | None = None):
    """Ledger entries in scope, with the day each counts on and whether it counts at all."""
    from ledger.models import LedgerEntry

    return (
        LedgerEntry._base_manager.filter(loan_q(query, "loan__", exact_branch))
        .exclude(approval=Approval.AWAITING.value)
        .annotate(
            counted_on=Case(When(approval=Approval.REFUSED.value, then=F("recorded_on")), default=F("value_date"))
        )
        .order_by()
    )


def _period(query: DashboardQuery) -> tuple[date, date]:
    return query.year_start, month_end(query.month)


def _costs(query: DashboardQuery, exact_branch: int | None = None) -> dict[str, dict]:
    from collections_app.models import CaseCost, CostRepayment

    start, end = _period(query)
    out: dict[str, dict] = {}
    for kind, rows in (
        (
            fig.CostCell.Kind.BORNE,
            CaseCost._base_manager.filter(
                loan_q(query, "case__loan__", exact_branch), borne_by=CaseCost.BorneBy.BANK
            ).annotate(on=F("incurred_on")),
        ),
        (
            fig.CostCell.Kind.REPAID,
            CostRepayment._base_manager.filter(loan_q(query, "cost__case__loan__", exact_branch)).annotate(
                on=F("repaid_on")
            ),
        ),
    ):
        month_, year_ = ZERO, ZERO
        for on, amount in rows.filter(on__range=(start, end)).values_list("on", "amount"):
            year_ += amount
            if on >= query.month:
                month_ += amount
        out[kind] = {"month_": month_, "year_": year_}
    return out


def recoveries(query: DashboardQuery) -> fig.Recoveries:
    from collections_app.case_rules import net_recovery

    start, end = _period(query)
    sums: dict[tuple[str, str], dict] = {}
    for kind, form, on, amount in (
        _entries(query)
        .filter(counts_as_recovery=True, counted_on__range=(start, end))
        .values_list("kind", "form", "counted_on", "amount")
    ):
        slot = sums.setdefault((kind, form), {"kind": kind, "form": form, "month_": ZERO, "year_": ZERO})
        slot["year_"] += amount
        if on >= query.month:
            slot["month_"] += amount
    return fig.recoveries_from_rows(list(sums.values()), _costs(query), net_recovery)


def write_offs(query: DashboardQuery) -> fig.WriteOffs:
    start, end = _period(query)
    w, wy, c, cy, k = ZERO, ZERO, ZERO, ZERO, ZERO
    for kind, form, recovery, on, value_date, written_off_on, amount in (
        _entries(query)
        .filter(Q(kind=EntryKind.WRITE_OFF.value) | Q(counts_as_recovery=True, loan__written_off_on__isnull=False))
        .filter(counted_on__lte=end)
        .values_list("kind", "form", "counts_as_recovery", "counted_on", "value_date", "loan__written_off_on", "amount")
    ):
        if kind == EntryKind.WRITE_OFF:
            w += amount
            if on >= start:
                wy += amount
        elif recovery and written_off_on is not None and value_date >= written_off_on:
            if form == EntryForm.CASH:
                c += amount
                if on >= start:
                    cy += amount
            elif form == EntryForm.IN_KIND:
                k += amount
    return fig.WriteOffs(written_off=w, written_off_year=wy, cash_after=c, cash_after_year=cy, in_kind_after=k)


def limitation(query: DashboardQuery) -> fig.Limitation | None:
    from collections_app.models import CollectionCase

    if not query.is_current_month:
        return None
    first, last = fig.limitation_dates(query)
    bn, bp, wn, wp = 0, ZERO, 0, ZERO
    for expires, principal in CollectionCase._base_manager.filter(loan_q(query, "loan__"), is_open=True).values_list(
        "limitation_expires_on", "loan__outstanding_principal"
    ):
        if expires is None or expires > last:
            continue
        if expires < first:
            bn, bp = bn + 1, bp + principal
        else:
            wn, wp = wn + 1, wp + principal
    return fig.Limitation(
        as_of=first, window_ends=last, barred_cases=bn, barred_principal=bp, warning_cases=wn, warning_principal=wp
    )


def _row(query: DashboardQuery, exact_branch: int | None) -> fig._Acc:
    """One row of the branches table from the source tables (`query.branch`: the row's subtree)."""
    from collections_app.models import CollectionCase
    from loans.models import Loan

    a = fig._Acc()
    npl_classes = hr.NPL_CLASSES[query.scheme]
    if query.is_current_month:
        field = hr.CLASS_FIELD[query.scheme]
        for cls, n, p, prov in (
            Loan._base_manager.filter(loan_q(query, "", exact_branch))
            .order_by()
            .values(field)
            .annotate(n=Count("id"), p=Sum("outstanding_principal"), prov=Sum("specific_provision"))
            .values_list(field, "n", "p", "prov")
        ):
            a.loans += n
            a.outstanding += p or ZERO
            a.provision += prov or ZERO
            if cls in npl_classes:
                a.npl += p or ZERO
        a.cases = CollectionCase._base_manager.filter(loan_q(query, "loan__", exact_branch), is_open=True).count()
    else:
        t = _snapshot_totals(query, query.month, exact_branch)
        a.loans = t.get("loans", 0)
        a.outstanding = Decimal(t.get("outstanding_principal", 0))
        a.provision = Decimal(t.get("specific_provision", 0))
        a.cases = t.get("open_cases", 0)
        fields = ["npl_balance"] if query.scheme == "five" else [f"{c}_balance" for c in fig.FOUR_NPL_SNAPSHOT]
        a.npl = sum((Decimal(t.get(f, 0)) for f in fields), ZERO)
    start, end = _period(query)
    a.cash = sum(
        _entries(query, exact_branch)
        .filter(counts_as_recovery=True, form=EntryForm.CASH, counted_on__range=(start, end))
        .values_list("amount", flat=True),
        ZERO,
    )
    costs = _costs(query, exact_branch)
    a.borne = costs[fig.CostCell.Kind.BORNE]["year_"]
    a.repaid = costs[fig.CostCell.Kind.REPAID]["year_"]
    return a


def branches(query: DashboardQuery) -> fig.Branches | None:
    shown = fig.shown_branch(query)
    if shown is None:
        return None
    from loans.models import Branch

    children = list(Branch.objects.filter(parent=shown).order_by("path"))
    acc = {c.pk: _row(query.with_(branch=c), None) for c in children}
    acc[shown.pk] = _row(query.with_(branch=shown), shown.pk)
    has_book = query.is_current_month or (fig.snapshot_serves(query) and _closed(query.month))
    return fig.branch_rows(query, shown, [*children, shown], acc, has_book)


FIGURES: dict[str, Callable[[DashboardQuery], Any]] = {
    "book": book,
    "closes": closes,
    "recoveries": recoveries,
    "write_offs": write_offs,
    "limitation": limitation,
    "branches": branches,
}
assert FIGURES.keys() == fig.FIGURES.keys()


def headline(query: DashboardQuery) -> fig.Headline:
    import sys

    return fig.headline(query, source=sys.modules[__name__])
