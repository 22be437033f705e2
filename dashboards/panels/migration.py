"""The migration matrix between two month-ends under the chosen scheme: where the loans of each class
at the earlier end are at the later end (a worse class, the same, a better one, or gone: repaid or
closed), in count and balance, with the roll and cure rates per class (dashboards.migration_rules).

The later end: the as-of month's close, or (the month not closed yet) the previous month's. The
earlier: the month before it (`since=month`) or the previous year's end (`since=year`). Figures from
the migration cells written at the close (dashboards.history); no close before: no matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, Q, Sum, Value
from django.utils.translation import gettext as _

from accountability.models import MonthEndClose
from dashboards.closed import closed_rows
from dashboards.history import earlier_months
from dashboards.migration_rules import GONE, NEW, SCHEME_CLASSES, Move, Rates, migration_rates
from dashboards.models import MigrationCell
from dashboards.query import DashboardQuery, add_months
from dashboards.tables import COUNT, MONEY, PERCENT, TEXT, Column, DashTable, Row, register_table
from loans.models import FIVE_LEVEL_WORDS, FOUR_LEVEL_WORDS

TEMPLATE = "dashboards/panels/migration.html"
ZERO = Decimal("0.00")


def class_label(scheme: str, code: str) -> str:
    if code == NEW:
        return _("New")
    if code == GONE:
        return _("Gone (repaid or closed)")
    words = FIVE_LEVEL_WORDS if scheme == "five" else FOUR_LEVEL_WORDS
    return str(dict((k.value, v) for k, v in words.items()).get(code, code))


@dataclass
class Matrix:
    scheme: str
    from_month: date | None = None
    to_month: date | None = None
    moves: list[Move] = field(default_factory=list)
    # (from, to) -> (loans, balance at the earlier end, balance at the later end)
    cells: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = field(default_factory=dict)
    rates: list[Rates] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.from_month is not None


def migration_matrix(query: DashboardQuery) -> Matrix:
    """One query: the cells' sums for the two candidate pairs of month ends (the as-of month's and,
    not closed yet, the previous month's), in a UNION with the candidate months that are closed."""
    scheme = query.scheme if query.scheme in SCHEME_CLASSES else "five"
    since = query.since if query.since in ("month", "year") else "month"
    matrix = Matrix(scheme=scheme)
    previous = add_months(query.month, -1)
    pairs = {to: earlier_months(to)[since] for to in (query.month, previous)}
    candidates = {*pairs, *pairs.values()}
    cells = (
        query.cells(
            MigrationCell.objects.filter(
                Q(to_month=query.month, from_month=pairs[query.month])
                | Q(to_month=previous, from_month=pairs[previous]),
                scheme=scheme,
            )
        )
        .order_by()
        .values("from_month", "to_month", "from_class", "to_class")
        .annotate(n=Sum("loans"), b_from=Sum("balance_from"), b_to=Sum("balance_to"))
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    closes = (
        MonthEndClose.objects.filter(month__in=candidates)
        .order_by()
        .values(
            from_month_=F("month"),
            to_month_=F("month"),
            from_class_=Value(""),
            to_class_=Value(""),
            n_=Value(0),
            b_from_=Value(ZERO, output_field=money),
            b_to_=Value(ZERO, output_field=money),
        )
    )
    closed: set[date] = set()
    found: dict[date, list[dict]] = {query.month: [], previous: []}
    # Written at the closes and never changed: read once per process (dashboards.closed).
    for r in closed_rows(cells.union(closes, all=True)):
        if r["from_class"] == "":
            closed.add(r["from_month"])
        else:
            found[r["to_month"]].append(r)
    to_month = query.month if query.month in closed else previous if previous in closed else None
    if to_month is None or pairs[to_month] not in closed:
        return matrix
    matrix.from_month, matrix.to_month = pairs[to_month], to_month
    for r in found[to_month]:
        key = (r["from_class"], r["to_class"])
        matrix.cells[key] = (r["n"] or 0, r["b_from"] or ZERO, r["b_to"] or ZERO)
        matrix.moves.append(Move(key[0], key[1], r["n"] or 0, r["b_from"] or ZERO))
    matrix.rates = migration_rates(scheme, matrix.moves)
    return matrix


def _ordered_cells(matrix: Matrix) -> list[tuple[str, str, tuple[int, Decimal, Decimal]]]:
    classes = SCHEME_CLASSES[matrix.scheme]
    froms, tos = (*classes, NEW), (*classes, GONE)
    return [(f, t, matrix.cells[(f, t)]) for f in froms for t in tos if (f, t) in matrix.cells]


def _title(matrix: Matrix) -> str:
    if not matrix.available:
        return _("Migration between month ends")
    return _("Migration from the %(earlier)s month end to the %(later)s month end") % {
        "earlier": f"{matrix.from_month:%Y-%m}",
        "later": f"{matrix.to_month:%Y-%m}",
    }


@register_table("migration")
def migration_table(
    query: DashboardQuery, user: Any, for_export: bool = False, matrix: Matrix | None = None
) -> DashTable:
    matrix = migration_matrix(query) if matrix is None else matrix
    rows = [
        Row(
            values={
                "from_class": class_label(matrix.scheme, f),
                "to_class": class_label(matrix.scheme, t),
                "loans": n,
                "balance_from": b_from,
                "balance_to": b_to,
            }
        )
        for f, t, (n, b_from, b_to) in _ordered_cells(matrix)
    ]
    return DashTable(
        name="migration",
        title=_title(matrix),
        columns=[
            Column("from_class", _("From class"), TEXT),
            Column("to_class", _("To class"), TEXT),
            Column("loans", _("Loans"), COUNT),
            Column("balance_from", _("Balance at the earlier month end"), MONEY),
            Column("balance_to", _("Balance at the later month end"), MONEY),
        ],
        rows=rows,
        empty=_("No earlier month-end close: the migration matrix needs two.")
        if not matrix.available
        else _("No loans in these month ends."),
    )


@register_table("migration_rates")
def migration_rates_table(
    query: DashboardQuery, user: Any, for_export: bool = False, matrix: Matrix | None = None
) -> DashTable:
    matrix = migration_matrix(query) if matrix is None else matrix
    rows = [
        Row(
            values={
                "from_class": class_label(matrix.scheme, r.from_class),
                "loans": r.loans,
                "balance": r.balance,
                "roll_count": r.roll_rate_count,
                "roll_balance": r.roll_rate_balance,
                "cure_count": r.cure_rate_count,
                "cure_balance": r.cure_rate_balance,
            }
        )
        for r in matrix.rates
    ]
    return DashTable(
        name="migration_rates",
        title=_("Roll and cure rates"),
        columns=[
            Column("from_class", _("From class"), TEXT),
            Column("loans", _("Loans at the earlier month end"), COUNT),
            Column("balance", _("Balance at the earlier month end"), MONEY),
            Column("roll_count", _("Roll rate by count"), PERCENT),
            Column("roll_balance", _("Roll rate by balance"), PERCENT),
            Column("cure_count", _("Cure rate by count"), PERCENT),
            Column("cure_balance", _("Cure rate by balance"), PERCENT),
        ],
        rows=rows,
        empty=_("No earlier month-end close: the migration matrix needs two."),
    )


def context(query: DashboardQuery, user: Any) -> dict:
    matrix = migration_matrix(query)
    table = migration_table(query, user, matrix=matrix)
    rates = migration_rates_table(query, user, matrix=matrix)
    classes = SCHEME_CLASSES[matrix.scheme]
    froms, tos = [*classes, NEW], [*classes, GONE]
    data = [
        [tos.index(t), froms.index(f), float(b_from), n]
        for f, t, (n, b_from, _b_to) in _ordered_cells(matrix)
        if f in froms and t in tos
    ]
    top = max((d[2] for d in data), default=0)
    option = {
        "grid": {"left": 40, "right": 40, "top": 24, "bottom": 72, "containLabel": True},
        "tooltip": {"position": "top"},
        "xAxis": {
            "type": "category",
            "name": _("To class"),
            "data": [class_label(matrix.scheme, t) for t in tos],
            "axisLabel": {"interval": 0, "rotate": 30},
            "splitArea": {"show": True},
        },
        "yAxis": {
            "type": "category",
            "name": _("From class"),
            "data": [class_label(matrix.scheme, f) for f in froms],
            "axisLabel": {"interval": 0},
            "inverse": True,
            "splitArea": {"show": True},
        },
        "visualMap": {
            "min": 0,
            "max": top or 1,
            "calculable": True,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
            "dimension": 2,
            "formatter": "number",
            "inRange": {"color": ["#eff6ff", "#dc2626"]},
        },
        "series": [
            {
                "type": "heatmap",
                "name": _("Balance at the earlier month end"),
                "data": data,
                # The cell's label: its loans (the fourth dimension); its colour: its balance.
                "label": {"show": True, "formatter": "{@[3]}"},
            }
        ],
    }
    return {"table": table, "rates": rates, "option": option, "matrix": matrix}
