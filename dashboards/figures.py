"""The dashboard's headline figures, as pure functions of a DashboardQuery.

Each function reads kept cells (dashboards.models), month-end snapshots (accountability
MonthEndSnapshot) or an index-served list (open cases by limitation end), never the loans table,
and returns frozen dataclasses of Decimals and ints. `dashboards.recompute` computes every one of them
the slow, obvious way (scanning loans, ledger entries, cases and costs); tests and the benchmark
compare the two. `FIGURES` names each headline aggregate, so the benchmark can time each one.

The current month reads the book now (BookCell) and the month's and year's money (LedgerCell,
CostCell). A past as-of month reads that month's close (MonthEndSnapshot) and the ledger and cost
cells of the months up to it. Ratios, changes and the recovery rate: dashboards.headline_rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from dashboards import headline_rules as hr
from dashboards.closed import closed_rows
from dashboards.models import BookCell, CaseCell, CostCell, LedgerCell, LimitationCell
from dashboards.query import DashboardQuery, add_months
from ledger.rules import CASH_RECOVERY_KINDS, EntryForm, EntryKind
from loans.classification import general_reserve
from loans.policy import classification_policy

ZERO = Decimal("0.00")

# The sources of recoveries, in the order the page lists them: money from the borrower, a guarantor,
# the court, the budget, government or collective property, the sale of an asset; then in kind.
SOURCES: tuple[str, ...] = (
    EntryKind.CASH_RECOVERY.value,
    EntryKind.GUARANTOR_PAYMENT.value,
    EntryKind.COURT_DEDUCTION.value,
    EntryKind.FISCAL_ALLOCATION.value,
    EntryKind.GOVERNMENT_PROPERTY.value,
    EntryKind.DISPOSAL_PROCEEDS.value,
    EntryKind.REPAYMENT_IN_KIND.value,
)
assert set(SOURCES) >= {k.value for k in CASH_RECOVERY_KINDS}
FOUR_NPL_SNAPSHOT = ("overdue", "idle", "bad_debt")


def _d(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


# --- the figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassFigure:
    code: str
    loans: int
    balance: Decimal  # outstanding principal


@dataclass(frozen=True)
class SchemeNPL:
    """One scheme's non-performing loans: count, principal, interest on and off the balance sheet."""

    scheme: str
    loans: int
    balance: Decimal  # outstanding principal
    # None for a past month: the close keeps interest per branch and officer, not per class.
    interest_on: Decimal | None
    interest_off: Decimal | None
    ratio: Decimal | None  # percent of all loans' outstanding principal


@dataclass(frozen=True)
class Book:
    """The loan book at the as-of date: now (kept book cells) or at a month-end close."""

    from_close: bool
    loans: int
    outstanding: Decimal
    interest_on: Decimal
    interest_off: Decimal
    specific_provision: Decimal
    general_reserve: Decimal
    five: tuple[ClassFigure, ...]
    four: tuple[ClassFigure, ...]
    npl: dict[str, SchemeNPL]
    # Loans written off and still on the book (None for a past month: the close does not keep it).
    written_off_loans: int | None

    @property
    def provisions(self) -> Decimal:
        """Provisions required: the specific provisions plus the general reserve."""
        return self.specific_provision + self.general_reserve

    @property
    def general_reserve_percent(self) -> str:
        """The general reserve's rate as a percentage, without trailing zeros ("1", "1.5")."""
        return f"{(classification_policy().general_reserve_rate * 100).normalize():f}"


@dataclass(frozen=True)
class CloseNPL:
    loans: int
    balance: Decimal


@dataclass(frozen=True)
class Closes:
    """The non-performing loans at the closes the changes are measured from: the previous month's
    end and the previous year's end (December). None: that close was never taken."""

    month_close: date  # the month whose close "since the month's start" compares with
    year_close: date
    since_month: dict[str, CloseNPL] | None
    since_year: dict[str, CloseNPL] | None


@dataclass(frozen=True)
class SourceFigure:
    kind: str
    cash_month: Decimal
    cash_year: Decimal
    in_kind_month: Decimal
    in_kind_year: Decimal


@dataclass(frozen=True)
class Recoveries:
    """Money recovered in the as-of month and the year to it, net of collection costs, by source;
    value taken in kind apart (never in the cash or net figures)."""

    cash_month: Decimal
    cash_year: Decimal
    in_kind_month: Decimal
    in_kind_year: Decimal
    costs_borne_month: Decimal
    costs_borne_year: Decimal
    costs_repaid_month: Decimal
    costs_repaid_year: Decimal
    net_month: Decimal
    net_year: Decimal
    by_source: tuple[SourceFigure, ...]


@dataclass(frozen=True)
class WriteOffs:
    """Written off (the write-off entries' amounts) and recovered after write-off (entries dated on
    or after the loan's write-off), up to the as-of month and in its year."""

    written_off: Decimal
    written_off_year: Decimal
    cash_after: Decimal
    cash_after_year: Decimal
    in_kind_after: Decimal


@dataclass(frozen=True)
class Limitation:
    """Open claims time-barred at the as-of day, and those whose limitation period ends within the
    warning window: count and the loans' outstanding principal."""

    as_of: date
    window_ends: date
    barred_cases: int
    barred_principal: Decimal
    warning_cases: int
    warning_principal: Decimal


@dataclass(frozen=True)
class BranchFigures:
    """One row of the branches table: a child branch's subtree (or the shown branch's own loans)."""

    branch_id: int
    code: str
    name: str
    subtree: bool  # False: the loans booked at the shown branch itself, not below it
    loans: int | None
    outstanding: Decimal | None
    npl_balance: Decimal | None
    npl_ratio: Decimal | None
    provisions: Decimal | None
    cash_year: Decimal
    net_year: Decimal
    open_cases: int | None


@dataclass(frozen=True)
class Branches:
    scheme: str
    rows: tuple[BranchFigures, ...]
    total: BranchFigures | None


@dataclass(frozen=True)
class SchemeTile:
    """A KPI tile of one scheme: the NPL now and its changes since the month's and year's start."""

    scheme: str
    npl: SchemeNPL
    month_change: Decimal | None
    month_change_loans: int | None
    year_change: Decimal | None
    year_change_loans: int | None
    recovery_rate: Decimal | None
    at_year_start: Decimal | None


@dataclass(frozen=True)
class Headline:
    book: Book | None
    closes: Closes
    tiles: dict[str, SchemeTile] = field(default_factory=dict)
    recoveries: Recoveries | None = None
    write_offs: WriteOffs | None = None
    limitation: Limitation | None = None


# --- reading the kept cells and the closes ---------------------------------------------------------


def snapshot_serves(query: DashboardQuery) -> bool:
    """Whether the month-end snapshot can answer this query: it has the product and borrower-kind
    grain only once the history helper adds it. Without it, a filtered past month shows no book."""
    from accountability.models import MonthEndSnapshot

    names = {f.name for f in MonthEndSnapshot._meta.get_fields()}
    return not (query.product and "product" not in names) and not (query.borrower_kind and "borrower_kind" not in names)


def _closed(months: list[date]) -> set[date]:
    from accountability.models import MonthEndClose

    return set(MonthEndClose.objects.filter(month__in=months).values_list("month", flat=True))


def _snapshots(query: DashboardQuery, months: list[date]):
    from accountability.models import MonthEndSnapshot

    return query.cells(MonthEndSnapshot.objects.filter(month__in=months)).order_by()


_SNAPSHOT_SUMS = (
    "loans",
    "outstanding_principal",
    "interest_on_balance",
    "interest_off_balance",
    "specific_provision",
    *(f"{c}_{x}" for c in hr.SCHEME_CLASSES["five"] for x in ("count", "balance")),
    *(f"{c}_{x}" for c in FOUR_NPL_SNAPSHOT for x in ("count", "balance")),
)


def book_from_snapshot(totals: dict[str, Any]) -> Book:
    """A Book from the summed snapshot fields of one month (see _SNAPSHOT_SUMS)."""
    t = {k: (totals.get(k) or 0) for k in _SNAPSHOT_SUMS}
    outstanding = _d(t["outstanding_principal"])
    five = tuple(ClassFigure(c, int(t[f"{c}_count"]), _d(t[f"{c}_balance"])) for c in hr.SCHEME_CLASSES["five"])
    four_npl = [ClassFigure(c, int(t[f"{c}_count"]), _d(t[f"{c}_balance"])) for c in FOUR_NPL_SNAPSHOT]
    normal = ClassFigure(
        "normal", int(t["loans"]) - sum(c.loans for c in four_npl), outstanding - sum(c.balance for c in four_npl)
    )
    four = (normal, *four_npl)
    return _book(
        from_close=True,
        loans=int(t["loans"]),
        outstanding=outstanding,
        interest_on=_d(t["interest_on_balance"]),
        interest_off=_d(t["interest_off_balance"]),
        specific_provision=_d(t["specific_provision"]),
        five=five,
        four=four,
        npl_interest=None,
        written_off_loans=None,
    )


def _book(
    *,
    from_close: bool,
    loans: int,
    outstanding: Decimal,
    interest_on: Decimal,
    interest_off: Decimal,
    specific_provision: Decimal,
    five: tuple[ClassFigure, ...],
    four: tuple[ClassFigure, ...],
    npl_interest: dict[str, tuple[Decimal, Decimal]] | None,
    written_off_loans: int | None,
) -> Book:
    npl = {}
    for scheme, classes in (("five", five), ("four", four)):
        bad = [c for c in classes if c.code in hr.NPL_CLASSES[scheme]]
        balance = sum((c.balance for c in bad), ZERO)
        on, off = npl_interest[scheme] if npl_interest is not None else (None, None)
        npl[scheme] = SchemeNPL(
            scheme=scheme,
            loans=sum(c.loans for c in bad),
            balance=balance,
            interest_on=on,
            interest_off=off,
            ratio=hr.npl_ratio(balance, outstanding),
        )
    return Book(
        from_close=from_close,
        loans=loans,
        outstanding=outstanding,
        interest_on=interest_on,
        interest_off=interest_off,
        specific_provision=specific_provision,
        general_reserve=general_reserve(outstanding, classification_policy()),
        five=five,
        four=four,
        npl=npl,
        written_off_loans=written_off_loans,
    )


def book_from_rows(rows: list[dict[str, Any]], *, written_off: bool = True) -> Book:
    """A Book from rows grouped by (five_level_class, four_level_class) with n, principal, i_on,
    i_off, provision, written_off: the kept cells' sums, or the same GROUP BY over the loans."""
    by: dict[str, dict[str, list]] = {"five": {}, "four": {}}
    interest = {"five": [ZERO, ZERO], "four": [ZERO, ZERO]}
    loans, outstanding, i_on, i_off, provision, written = 0, ZERO, ZERO, ZERO, ZERO, 0
    for r in rows:
        n, p = int(r["n"] or 0), _d(r["principal"])
        on, off = _d(r["i_on"]), _d(r["i_off"])
        loans += n
        outstanding += p
        i_on += on
        i_off += off
        provision += _d(r["provision"])
        written += int(r.get("written_off") or 0)
        for scheme in ("five", "four"):
            code = r[hr.CLASS_FIELD[scheme]]
            slot = by[scheme].setdefault(code, [0, ZERO])
            slot[0] += n
            slot[1] += p
            if code in hr.NPL_CLASSES[scheme]:
                interest[scheme][0] += on
                interest[scheme][1] += off

    def classes(scheme: str) -> tuple[ClassFigure, ...]:
        return tuple(ClassFigure(c, *by[scheme].get(c, (0, ZERO))) for c in hr.SCHEME_CLASSES[scheme])

    return _book(
        from_close=False,
        loans=loans,
        outstanding=outstanding,
        interest_on=i_on,
        interest_off=i_off,
        specific_provision=provision,
        five=classes("five"),
        four=classes("four"),
        npl_interest={s: (v[0], v[1]) for s, v in interest.items()},
        written_off_loans=written if written_off else None,
    )


def book(query: DashboardQuery) -> Book | None:
    """The loan book at the as-of date: the kept book cells in the current month (one GROUP BY over
    a few thousand cells); the month's close for a past month (None: no close, or the close cannot
    apply the filters)."""
    if not query.is_current_month:
        if not snapshot_serves(query) or not _closed([query.month]):
            return None
        totals = _snapshots(query, [query.month]).aggregate(**{k: Sum(k) for k in _SNAPSHOT_SUMS})
        return book_from_snapshot(totals)
    rows = list(
        query.kept(BookCell)
        .values("five_level_class", "four_level_class")
        .annotate(
            n=Sum("loans"),
            principal=Sum("outstanding_principal"),
            i_on=Sum("interest_on_balance"),
            i_off=Sum("interest_off_balance"),
            provision=Sum("specific_provision"),
            written_off=Sum("written_off_loans"),
        )
    )
    return book_from_rows(rows)


def npl_at_close(totals: dict[str, Any]) -> dict[str, CloseNPL]:
    """Both schemes' non-performing loans from one month's summed snapshot fields."""
    four = FOUR_NPL_SNAPSHOT
    return {
        "five": CloseNPL(
            loans=int(sum(totals.get(f"{c}_count") or 0 for c in hr.NPL_CLASSES["five"])),
            balance=sum((_d(totals.get(f"{c}_balance")) for c in hr.NPL_CLASSES["five"]), ZERO),
        ),
        "four": CloseNPL(
            loans=int(sum(totals.get(f"{c}_count") or 0 for c in four)),
            balance=sum((_d(totals.get(f"{c}_balance")) for c in four), ZERO),
        ),
    }


def closes(query: DashboardQuery) -> Closes:
    """The NPL at the previous month-end and the previous year-end closes (two small queries)."""
    month_close, year_close = hr.previous_month(query.month), hr.previous_year_end(query.month)
    months = sorted({month_close, year_close})
    found: dict[date, dict[str, CloseNPL]] = {}
    if snapshot_serves(query):
        closed = _closed(months)
        if closed:
            fields = [f"{c}_{x}" for c in (*hr.NPL_CLASSES["five"], *FOUR_NPL_SNAPSHOT) for x in ("count", "balance")]
            sums = {
                r["month"]: r
                for r in closed_rows(
                    _snapshots(query, sorted(closed)).values("month").annotate(**{k: Sum(k) for k in fields})
                )
            }
            for m in closed:
                found[m] = npl_at_close(sums.get(m, {}))
    return Closes(
        month_close=month_close,
        year_close=year_close,
        since_month=found.get(month_close),
        since_year=found.get(year_close),
    )


def _money_cells(query: DashboardQuery, model):
    return query.kept(model, month__gte=query.year_start, month__lte=query.month)


def recoveries(query: DashboardQuery) -> Recoveries:
    """Recoveries of the as-of month and of the year to it, by source, and net of the collection
    costs (collections_app.case_rules.net_recovery): two GROUP BYs over kept cells."""
    from collections_app.case_rules import net_recovery

    in_month = Q(month=query.month)
    rows = (
        _money_cells(query, LedgerCell)
        .filter(counting=True, counts_as_recovery=True)
        .values("kind", "form")
        .annotate(month_=Sum("amount", filter=in_month), year_=Sum("amount"))
    )
    costs = {
        r["kind"]: r
        for r in _money_cells(query, CostCell)
        .values("kind")
        .annotate(month_=Sum("amount", filter=in_month), year_=Sum("amount"))
    }
    return recoveries_from_rows(list(rows), costs, net_recovery)


def recoveries_from_rows(rows: list[dict], costs: dict[str, dict], net_recovery: Callable) -> Recoveries:
    """Recoveries from rows by (kind, form) with month_ and year_ sums, and costs by kind."""
    by = {k: [ZERO, ZERO, ZERO, ZERO] for k in SOURCES}
    for r in rows:
        slot = by.setdefault(r["kind"], [ZERO, ZERO, ZERO, ZERO])
        offset = 2 if r["form"] == EntryForm.IN_KIND else 0
        slot[offset] += _d(r["month_"])
        slot[offset + 1] += _d(r["year_"])
    sources = tuple(SourceFigure(k, *v) for k, v in by.items())
    cash_month = sum((s.cash_month for s in sources), ZERO)
    cash_year = sum((s.cash_year for s in sources), ZERO)
    borne, repaid = costs.get(CostCell.Kind.BORNE, {}), costs.get(CostCell.Kind.REPAID, {})
    b_m, b_y = _d(borne.get("month_")), _d(borne.get("year_"))
    r_m, r_y = _d(repaid.get("month_")), _d(repaid.get("year_"))
    return Recoveries(
        cash_month=cash_month,
        cash_year=cash_year,
        in_kind_month=sum((s.in_kind_month for s in sources), ZERO),
        in_kind_year=sum((s.in_kind_year for s in sources), ZERO),
        costs_borne_month=b_m,
        costs_borne_year=b_y,
        costs_repaid_month=r_m,
        costs_repaid_year=r_y,
        net_month=net_recovery(cash_recovered=cash_month, costs_borne=b_m, costs_repaid=r_m),
        net_year=net_recovery(cash_recovered=cash_year, costs_borne=b_y, costs_repaid=r_y),
        by_source=sources,
    )


def write_offs(query: DashboardQuery) -> WriteOffs:
    """Written off and recovered after write-off, up to the as-of month: one aggregate over ledger cells."""
    written = Q(kind=EntryKind.WRITE_OFF.value)
    after = Q(counts_as_recovery=True, after_write_off=True)
    year = Q(month__gte=query.year_start)
    t = (
        query.kept(LedgerCell, counting=True, month__lte=query.month)
        .filter(written | after)
        .aggregate(
            w=Sum("amount", filter=written),
            wy=Sum("amount", filter=written & year),
            c=Sum("amount", filter=after & Q(form=EntryForm.CASH)),
            cy=Sum("amount", filter=after & Q(form=EntryForm.CASH) & year),
            k=Sum("amount", filter=after & Q(form=EntryForm.IN_KIND)),
        )
    )
    return WriteOffs(
        written_off=_d(t["w"]),
        written_off_year=_d(t["wy"]),
        cash_after=_d(t["c"]),
        cash_after_year=_d(t["cy"]),
        in_kind_after=_d(t["k"]),
    )


def limitation_dates(query: DashboardQuery) -> tuple[date, date]:
    from accountability.policy import accountability_policy

    return hr.limitation_window(query.as_of, tuple(accountability_policy().limitation_warning_days))


def limitation(query: DashboardQuery) -> Limitation | None:
    """Open claims time-barred or within the warning window at the as-of day, from the kept limitation
    cells (dashboards.models.LimitationCell; its branch roll-up when that answers): the months wholly
    before the as-of day's month or wholly between it and the window's last month by month, the days
    of those two months by day. One aggregate over a few thousand kept rows, however many claims.
    The claims as they stand today: None for a past month (their history is not kept)."""
    if not query.is_current_month:
        return None
    first, last = limitation_dates(query)
    first_month, last_month = first.replace(day=1), last.replace(day=1)
    month, day = Q(grain=LimitationCell.MONTH), Q(grain=LimitationCell.DAY)
    rows = month & (Q(ends_on__lt=first_month) | Q(ends_on__gt=first_month, ends_on__lt=last_month))
    rows |= day & Q(ends_on__gte=first_month, ends_on__lt=add_months(first_month, 1), ends_on__lte=last)
    rows |= day & Q(ends_on__gte=last_month, ends_on__lte=last)
    barred, warning = Q(ends_on__lt=first), Q(ends_on__gte=first)
    t = (
        query.kept(LimitationCell)
        .filter(rows)
        .aggregate(
            bn=Sum("cases", filter=barred),
            bp=Sum("principal", filter=barred),
            wn=Sum("cases", filter=warning),
            wp=Sum("principal", filter=warning),
        )
    )
    return Limitation(
        as_of=first,
        window_ends=last,
        barred_cases=t["bn"] or 0,
        barred_principal=_d(t["bp"]),
        warning_cases=t["wn"] or 0,
        warning_principal=_d(t["wp"]),
    )


# --- branches side by side -----------------------------------------------------------------------


def shown_branch(query: DashboardQuery):
    """The branch whose children the table shows: the chosen one, else the head office."""
    from loans.models import Branch

    if query.branch is not None:
        return query.branch
    return Branch.objects.filter(parent__isnull=True).order_by("path").first()


def branch_groups(query: DashboardQuery) -> tuple[Any, list[Any], dict[int, int]]:
    """(shown branch, its row branches: the children by code then itself, {branch id: row branch id})."""
    from loans.models import Branch

    shown = shown_branch(query)
    if shown is None:
        return None, [], {}
    subtree = list(Branch.objects.filter(path__startswith=shown.path).only("id", "code", "name", "path", "parent_id"))
    children = sorted((b for b in subtree if b.parent_id == shown.pk), key=lambda b: b.path)
    row_of: dict[int, int] = {}
    for b in subtree:
        row_of[b.pk] = shown.pk
        for c in children:
            if b.path.startswith(c.path):
                row_of[b.pk] = c.pk
                break
    return shown, [*children, shown], row_of


@dataclass
class _Acc:
    loans: int = 0
    outstanding: Decimal = ZERO
    npl: Decimal = ZERO
    provision: Decimal = ZERO
    cash: Decimal = ZERO
    borne: Decimal = ZERO
    repaid: Decimal = ZERO
    cases: int = 0


def branch_rows(
    query: DashboardQuery, shown: Any, row_branches: list[Any], acc: dict[int, _Acc], has_book: bool
) -> Branches:
    """Finish the table from per-row accumulators (shared with dashboards.recompute)."""
    from collections_app.case_rules import net_recovery

    policy = classification_policy()

    def figures(branch: Any, a: _Acc, subtree: bool) -> BranchFigures:
        reserve = general_reserve(a.outstanding, policy)
        return BranchFigures(
            branch_id=branch.pk,
            code=branch.code,
            name=branch.name,
            subtree=subtree,
            loans=a.loans if has_book else None,
            outstanding=a.outstanding if has_book else None,
            npl_balance=a.npl if has_book else None,
            npl_ratio=hr.npl_ratio(a.npl, a.outstanding) if has_book else None,
            provisions=a.provision + reserve if has_book else None,
            cash_year=a.cash,
            net_year=net_recovery(cash_recovered=a.cash, costs_borne=a.borne, costs_repaid=a.repaid),
            open_cases=a.cases if has_book else None,
        )

    rows = []
    total = _Acc()
    for b in row_branches:
        a = acc.get(b.pk, _Acc())
        for name in ("loans", "outstanding", "npl", "provision", "cash", "borne", "repaid", "cases"):
            setattr(total, name, getattr(total, name) + getattr(a, name))
        own = b.pk == shown.pk
        if own and a == _Acc():
            continue  # nothing booked at the shown branch itself
        rows.append(figures(b, a, subtree=not own))
    return Branches(scheme=query.scheme, rows=tuple(rows), total=figures(shown, total, subtree=True))


def branches(query: DashboardQuery) -> Branches | None:
    """The shown branch's child branches side by side (each its whole subtree), its own loans
    apart, and the total: five small GROUP BYs by branch over kept cells or the month's close."""
    shown, row_branches, row_of = branch_groups(query)
    if shown is None:
        return None
    scope = query.with_(branch=shown)
    acc: dict[int, _Acc] = {}

    def at(branch_id: int) -> _Acc:
        return acc.setdefault(row_of.get(branch_id, shown.pk), _Acc())

    npl_classes = sorted(hr.NPL_CLASSES[query.scheme])
    has_book = True
    if query.is_current_month:
        npl = Q(**{f"{hr.CLASS_FIELD[query.scheme]}__in": npl_classes})
        for r in (
            scope.kept(BookCell)
            .values("branch_id")
            .annotate(
                n=Sum("loans"),
                p=Sum("outstanding_principal"),
                npl=Sum("outstanding_principal", filter=npl),
                prov=Sum("specific_provision"),
            )
        ):
            a = at(r["branch_id"])
            a.loans += r["n"] or 0
            a.outstanding += _d(r["p"])
            a.npl += _d(r["npl"])
            a.provision += _d(r["prov"])
        for r in scope.kept(CaseCell, is_open=True).values("branch_id").annotate(n=Sum("cases")):
            at(r["branch_id"]).cases += r["n"] or 0
    elif snapshot_serves(query) and _closed([query.month]):
        npl_fields = ["npl_balance"] if query.scheme == "five" else [f"{c}_balance" for c in FOUR_NPL_SNAPSHOT]
        sums = {f: Sum(f) for f in {"loans", "outstanding_principal", "specific_provision", "open_cases", *npl_fields}}
        for r in _snapshots(scope, [query.month]).values("branch_id").annotate(**sums):
            a = at(r["branch_id"])
            a.loans += r["loans"] or 0
            a.outstanding += _d(r["outstanding_principal"])
            a.npl += sum((_d(r[f]) for f in npl_fields), ZERO)
            a.provision += _d(r["specific_provision"])
            a.cases += r["open_cases"] or 0
    else:
        has_book = False
    for r in (
        _money_cells(scope, LedgerCell)
        .filter(counting=True, counts_as_recovery=True, form=EntryForm.CASH)
        .values("branch_id")
        .annotate(s=Sum("amount"))
    ):
        at(r["branch_id"]).cash += _d(r["s"])
    for r in _money_cells(scope, CostCell).values("branch_id", "kind").annotate(s=Sum("amount")):
        a = at(r["branch_id"])
        if r["kind"] == CostCell.Kind.BORNE:
            a.borne += _d(r["s"])
        else:
            a.repaid += _d(r["s"])
    return branch_rows(query, shown, row_branches, acc, has_book)


# --- the headline -------------------------------------------------------------------------------


def tiles(query: DashboardQuery, book_: Book | None, closes_: Closes, recoveries_: Recoveries) -> dict[str, SchemeTile]:
    out = {}
    for scheme in ("five", "four"):
        if book_ is None:
            continue
        now = book_.npl[scheme]
        month = (closes_.since_month or {}).get(scheme)
        year = (closes_.since_year or {}).get(scheme)
        out[scheme] = SchemeTile(
            scheme=scheme,
            npl=now,
            month_change=hr.change(now.balance, month.balance if month else None),
            month_change_loans=hr.change(now.loans, month.loans if month else None),
            year_change=hr.change(now.balance, year.balance if year else None),
            year_change_loans=hr.change(now.loans, year.loans if year else None),
            recovery_rate=hr.recovery_rate(recoveries_.cash_year, year.balance if year else None),
            at_year_start=year.balance if year else None,
        )
    return out


def headline(query: DashboardQuery, source: Any = None) -> Headline:
    """Every headline figure for the query (`source`: this module, or dashboards.recompute)."""
    import sys

    src = source or sys.modules[__name__]
    book_ = src.book(query)
    closes_ = src.closes(query)
    recoveries_ = src.recoveries(query)
    return Headline(
        book=book_,
        closes=closes_,
        tiles=tiles(query, book_, closes_, recoveries_),
        recoveries=recoveries_,
        write_offs=src.write_offs(query),
        limitation=src.limitation(query),
    )


# The headline aggregates by name: the benchmark times each one beside dashboards.recompute's twin
# (same names, equal results).
FIGURES: dict[str, Callable[[DashboardQuery], Any]] = {
    "book": book,
    "closes": closes,
    "recoveries": recoveries,
    "write_offs": write_offs,
    "limitation": limitation,
    "branches": branches,
}
