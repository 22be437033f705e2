"""Officers' figures and target progress (the `targets` and `officers` panels), from kept cells,
month-end snapshots and index-served counts: no scan of the loans per page view.

Definitions (each in one place, here):
- open cases: collection cases holding a claim (an active measure, or written off and pursued),
  CaseCell.is_open; a past month: that month-end's snapshot.
- NPL balance: outstanding principal of the loans non-performing under the dashboard's scheme
  (five-level substandard + doubtful + loss; four-level overdue + idle + bad debt), from BookCell;
  a past month: its month-end snapshot.
- NPL balance reduction this year: the previous year-end snapshot's NPL balance minus the NPL
  balance as of the dashboard's date (positive: the balance fell). None without that year-end close.
- cash recovered this year: ledger entries that count as recovery, in cash (not value taken in
  kind), counting (not awaiting approval), from January to the as-of month (LedgerCell).
- net recovery: collections_app.case_rules.net_recovery (cash - costs borne + costs repaid), the
  costs from CostCell over the same months.
- time limits missed: open cases in an active measure (a written-off case has no recovery time
  limit any more) whose recovery time limit is before the as-of date, counted for the case's lead
  responsible officer (served by the index case_open_deadline); a past month: its snapshot.
- sanctions open: sanctions (AccountabilityRecord kind "sanction") proposed, imposed (being served)
  or to be lifted: not waived and not lifted.
- target progress: achieved / target x 100 (None when no target or a zero target).
Every figure is narrowed by `DashboardQuery.cells` (subtree, officer, product, borrower kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet, Sum
from django.http import Http404

from collections_app.case_rules import ACTIVE_MEASURES, net_recovery
from dashboards.closed import closed_rows
from dashboards.models import BookCell, CaseCell, CostCell, LedgerCell, RecoveryTarget
from dashboards.query import DashboardQuery
from ledger.rules import EntryForm
from loans.access import sees_everything
from loans.classification import NON_PERFORMING_FIVE_CODES, FourLevel
from loans.models import Branch, User

ZERO = Decimal("0.00")
NON_PERFORMING_FOUR_CODES = tuple(c.value for c in FourLevel if c != FourLevel.NORMAL)


def npl_classes(scheme: str) -> tuple[str, str]:
    """(the BookCell class column, its non-performing codes) of a scheme."""
    if scheme == "four":
        return "four_level_class", NON_PERFORMING_FOUR_CODES
    return "five_level_class", NON_PERFORMING_FIVE_CODES


def progress_percent(achieved: Decimal | None, target: Decimal | None) -> float | None:
    """achieved / target x 100; None when either is unknown or the target is zero."""
    if achieved is None or target is None or target <= 0:
        return None
    return float(achieved * 100 / target)


@dataclass
class Figures:
    """One officer's (or a subtree's) figures on a dashboard."""

    open_cases: int | None = 0
    npl_balance: Decimal | None = ZERO
    npl_at_year_start: Decimal | None = None
    cash_recovered: Decimal = ZERO
    costs_borne: Decimal = ZERO
    costs_repaid: Decimal = ZERO
    time_limits_missed: int | None = 0
    sanctions_open: int = 0
    target_npl_reduction: Decimal | None = None
    target_cash_recovered: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def net_recovery(self) -> Decimal:
        return net_recovery(
            cash_recovered=self.cash_recovered, costs_borne=self.costs_borne, costs_repaid=self.costs_repaid
        )

    @property
    def npl_reduction(self) -> Decimal | None:
        if self.npl_at_year_start is None or self.npl_balance is None:
            return None
        return self.npl_at_year_start - self.npl_balance

    @property
    def npl_progress(self) -> float | None:
        return progress_percent(self.npl_reduction, self.target_npl_reduction)

    @property
    def cash_progress(self) -> float | None:
        return progress_percent(self.cash_recovered, self.target_cash_recovered)


def _grouped(qs: QuerySet, by: str | None, *, closed: bool = False, **sums: Any) -> dict[Any, Any]:
    """Sums of `qs` per `by` (None: one total, under the key "all"). `closed`: `qs` reads month-end
    snapshots, whose sums are read once per process for the closes as they stand (dashboards.closed)."""
    aggregates = {k: Sum(v) for k, v in sums.items()}
    if by is None:
        return {"all": qs.order_by().aggregate(**aggregates)}
    rows = qs.order_by().values(by).annotate(**aggregates)
    return {r[by]: r for r in (closed_rows(rows) if closed else rows)}


def _snapshot_model():
    from accountability.models import MonthEndClose, MonthEndSnapshot

    return MonthEndClose, MonthEndSnapshot


def _snapshot_npl(scheme: str) -> Any:
    if scheme == "four":
        return F("overdue_balance") + F("idle_balance") + F("bad_debt_balance")
    return F("npl_balance")


def _snapshot_filters_apply(query: DashboardQuery) -> bool:
    """Whether the month-end snapshot can honour the dashboard's product and borrower-kind filters
    (its grain has them once the history helper adds them); if not, its figures are not shown."""
    _close, snapshot = _snapshot_model()
    fields = {f.name for f in snapshot._meta.get_fields()}
    return (not query.product or "product" in fields) and (not query.borrower_kind or "borrower_kind" in fields)


def _closed(month: date) -> bool:
    close, _snapshot = _snapshot_model()
    return close.objects.filter(month=month).exists()


@dataclass
class League:
    """The league's figures of one dashboard: per responsible officer (None: loans without one) and
    for the whole view (`total`, every row summed; sanctions counted for every officer in view)."""

    by_officer: dict[Any, Figures]
    total: Figures


# Within one request (the dashboard view), the league is computed once and read by both panels
# (targets: the total; officers: the rows). Outside `one_request()` every call computes afresh.
_MEMO: ContextVar[dict[DashboardQuery, League] | None] = ContextVar("dashboards_league_memo", default=None)


@contextmanager
def one_request() -> Iterator[None]:
    """Share the league's figures between the panels of one request (set up by the dashboard view)."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def league(query: DashboardQuery) -> League:
    """The league of `query`: once per request inside `one_request()`."""
    memo = _MEMO.get()
    if memo is None:
        return _league(query)
    if query not in memo:
        memo[query] = _league(query)
    return memo[query]


def compute(query: DashboardQuery, by: str | None) -> dict[Any, Figures]:
    """Every figure of the league per officer (`by="officer_id"`) or for the whole view (`by=None`,
    key "all")."""
    result = league(query)
    # Copies: a panel sets its targets on what it gets; the next panel reads the league as computed.
    if by is None:
        return {"all": replace(result.total)}
    if by != "officer_id":
        raise ValueError(f"The league is by officer_id, not {by}.")
    return {key: replace(f) for key, f in result.by_officer.items()}


def _league(query: DashboardQuery) -> League:
    """A handful of GROUP BYs by responsible officer over kept cells, snapshots and two
    index-served counts; the total is their sum."""
    from accountability.models import RecordKind, RecordState
    from collections_app.models import CollectionCase

    by = "officer_id"
    out: dict[Any, Figures] = {}

    def row(key: Any) -> Figures:
        if key not in out:
            out[key] = Figures()
        return out[key]

    _close, snapshot = _snapshot_model()
    year_end = date(query.month.year - 1, 12, 1)
    months = (query.year_start, query.month)
    book_known = query.is_current_month or (_snapshot_filters_apply(query) and _closed(query.month))
    if query.is_current_month:
        class_column, codes = npl_classes(query.scheme)
        npl = _grouped(
            query.cells(BookCell.objects.filter(**{f"{class_column}__in": codes})), by, v="outstanding_principal"
        )
        cases = _grouped(query.cells(CaseCell.objects.filter(is_open=True)), by, v="cases")
        # The case's lead officer answers for its time limit (the work queue's "time limit passed").
        missed_cases = CollectionCase.objects.filter(
            is_open=True, measure__in=[m.value for m in ACTIVE_MEASURES], recovery_deadline__lt=query.as_of
        )
        missed_counts = query.rows(missed_cases, officer="officer").order_by()
        missed = {r[by]: r for r in missed_counts.values(by).annotate(v=_count())}
        for key, r in npl.items():
            row(key).npl_balance = r["v"] or ZERO
        for key, r in cases.items():
            row(key).open_cases = r["v"] or 0
        for key, r in missed.items():
            row(key).time_limits_missed = r["v"] or 0
    elif book_known:  # a past month: its month-end close
        rows = _grouped(
            query.cells(snapshot.objects.filter(month=query.month)),
            by,
            closed=True,
            npl=_snapshot_npl(query.scheme),
            cases="open_cases",
            missed="cases_past_deadline",
        )
        for key, r in rows.items():
            f = row(key)
            f.npl_balance, f.open_cases, f.time_limits_missed = r["npl"] or ZERO, r["cases"] or 0, r["missed"] or 0
    ledger = _grouped(
        query.kept_by_officer(
            LedgerCell, counting=True, counts_as_recovery=True, form=EntryForm.CASH.value, month__range=months
        ),
        by,
        v="amount",
    )
    for key, r in ledger.items():
        row(key).cash_recovered = r["v"] or ZERO
    costs = query.kept_by_officer(CostCell, month__range=months)
    costs_rows = {
        r[by]: r for r in costs.order_by().values(by).annotate(borne=_sum_kind("borne"), repaid=_sum_kind("repaid"))
    }
    for key, r in costs_rows.items():
        f = row(key)
        f.costs_borne, f.costs_repaid = r["borne"] or ZERO, r["repaid"] or ZERO
    sanctions = query.cells(
        _records().filter(
            kind=RecordKind.SANCTION,
            state__in=[RecordState.PROPOSED.value, RecordState.IMPOSED.value, RecordState.TO_BE_LIFTED.value],
        )
    ).order_by()
    sanction_rows = {r[by]: r["v"] or 0 for r in sanctions.values(by).annotate(v=_count())}
    for key, n in sanction_rows.items():
        # Sanctions are about the officer, not a product: they mark the league's rows, add none.
        if key in out:
            out[key].sanctions_open = n
    year_start_known = _snapshot_filters_apply(query) and _closed(year_end)
    if year_start_known:
        start = _grouped(
            query.cells(snapshot.objects.filter(month=year_end)), by, closed=True, v=_snapshot_npl(query.scheme)
        )
        for f in out.values():
            f.npl_at_year_start = ZERO
        for key, r in start.items():
            row(key).npl_at_year_start = r["v"] or ZERO
    if not book_known:
        # A past month without its month-end close: the book then is not known.
        for f in out.values():
            f.npl_balance = f.open_cases = f.time_limits_missed = None
    return League(
        by_officer=out,
        total=_total(
            out.values(),
            book_known=book_known,
            year_start_known=year_start_known,
            sanctions=sum(sanction_rows.values()),
        ),
    )


def _total(rows: Iterable[Figures], *, book_known: bool, year_start_known: bool, sanctions: int) -> Figures:
    """The whole view's figures: the officers' rows summed (None where the month's book or last
    year's close is not known)."""
    rows = list(rows)
    return Figures(
        open_cases=sum(f.open_cases or 0 for f in rows) if book_known else None,
        npl_balance=sum((f.npl_balance or ZERO for f in rows), ZERO) if book_known else None,
        npl_at_year_start=sum((f.npl_at_year_start or ZERO for f in rows), ZERO) if year_start_known else None,
        cash_recovered=sum((f.cash_recovered for f in rows), ZERO),
        costs_borne=sum((f.costs_borne for f in rows), ZERO),
        costs_repaid=sum((f.costs_repaid for f in rows), ZERO),
        time_limits_missed=sum(f.time_limits_missed or 0 for f in rows) if book_known else None,
        sanctions_open=sanctions,
    )


def _count():
    from django.db.models import Count

    return Count("id")


def _sum_kind(kind: str):
    from django.db.models import Q

    return Sum("amount", filter=Q(kind=kind))


def _records():
    from accountability.models import AccountabilityRecord

    return AccountabilityRecord.objects.all()


# --- targets -----------------------------------------------------------------------------------


def bank_root() -> Branch | None:
    return Branch.objects.filter(parent__isnull=True).order_by("pk").first()


def branch_target(query: DashboardQuery) -> RecoveryTarget | None:
    """The shown branch's own target for the as-of year (the whole bank: the head office's)."""
    branch = query.branch if query.branch is not None else bank_root()
    if branch is None:
        return None
    return (
        RecoveryTarget.objects.filter(year=query.month.year, branch=branch, officer__isnull=True)
        .select_related("set_by")
        .first()
    )


def officer_targets(query: DashboardQuery) -> dict[int, tuple[Decimal, Decimal]]:
    """Per officer, his targets for the as-of year set at branches of the shown subtree (summed:
    an officer moved during the year may have one at each branch)."""
    rows = (
        query.cells(RecoveryTarget.objects.filter(year=query.month.year, officer__isnull=False))
        .order_by()
        .values("officer_id")
        .annotate(npl=Sum("npl_reduction"), cash=Sum("cash_recovered"))
    )
    return {r["officer_id"]: (r["npl"], r["cash"]) for r in rows}


# --- the officer a dashboard shows ------------------------------------------------------------


def shown_officer_id(query: DashboardQuery) -> int | None:
    return query.officer_id or query.drill_officer_id


def shown_officer(query: DashboardQuery, user: Any) -> User | None:
    """The officer whose figures the dashboard shows (the user himself, or the one drilled to),
    checked against the viewer's scope: someone outside it is a 404, his name never shown."""
    officer_id = shown_officer_id(query)
    if officer_id is None:
        return None
    officer = User.objects.select_related("branch").filter(pk=officer_id).first()
    if officer is None:
        raise Http404("No officer found.")
    if sees_everything(user) or officer.pk == user.pk:
        return officer
    root = user.branch.path if user.branch_id else None
    in_scope = root is not None and (
        (officer.branch is not None and officer.branch.path.startswith(root))
        # Issue 10: someone of another branch may answer for loans here (a league row of this subtree).
        or BookCell.objects.filter(officer_id=officer.pk, branch__path__startswith=root).exists()
    )
    if not in_scope:
        raise Http404("No officer found.")
    return officer
