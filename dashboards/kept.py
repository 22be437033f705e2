"""The kept aggregates (dashboards.models): rebuilding them from the source tables, and reading them.

`rebuild()` recomputes every cell by scanning the loans, the ledger, the cases and the costs: the
definition of each kept figure, and what a check compares the kept cells with. Between rebuilds the
cells are kept current as the source rows change (see the module that maintains them), so a
dashboard sums a few thousand cells instead of a million loans.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connection, transaction
from django.db.models import Case, Count, F, Q, QuerySet, Sum, When
from django.db.models.functions import TruncMonth

from dashboards.models import OFFICER_ROLL_OF, ROLL_OF, BookCell, CaseCell, CostCell, LedgerCell, LimitationCell
from dashboards.triggers import ALL_TABLES, KEPT_TABLES, QUIET_SETTING
from ledger import rules as ledger_rules

CELL_MODELS = (BookCell, LedgerCell, CaseCell, CostCell, LimitationCell)
ROLL_MODELS = tuple(ROLL_OF[m] for m in CELL_MODELS)
OFFICER_ROLL_MODELS = tuple(OFFICER_ROLL_OF.values())
DIMENSIONS = ("branch_id", "officer_id", "product", "borrower_kind")
# PostgreSQL advisory lock: one rebuild or compaction of the kept cells at a time.
MAINTENANCE_LOCK = 0x6B657074  # "kept"


@contextmanager
def one_snapshot() -> Iterator[None]:
    """A transaction whose reads all see one snapshot (PostgreSQL: REPEATABLE READ when this is the
    outermost transaction; inside another one the caller's isolation stands)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _book_rows() -> list[BookCell]:
    from loans.models import Loan

    rows = (
        Loan.objects.order_by()
        .values(
            "branch_id", "responsible_officer_id", "product", "borrower__kind", "five_level_class", "four_level_class"
        )
        .annotate(
            n=Count("id"),
            principal=Sum("outstanding_principal"),
            i_on=Sum("interest_on_balance"),
            i_off=Sum("interest_off_balance"),
            provision=Sum("specific_provision"),
            written_off=Count("id", filter=Q(written_off_on__isnull=False)),
        )
    )
    return [
        BookCell(
            branch_id=r["branch_id"],
            officer_id=r["responsible_officer_id"],
            product=r["product"],
            borrower_kind=r["borrower__kind"],
            five_level_class=r["five_level_class"],
            four_level_class=r["four_level_class"],
            loans=r["n"],
            outstanding_principal=r["principal"],
            interest_on_balance=r["i_on"],
            interest_off_balance=r["i_off"],
            specific_provision=r["provision"],
            written_off_loans=r["written_off"],
        )
        for r in rows
    ]


def _ledger_rows() -> list[LedgerCell]:
    from ledger.models import LedgerEntry

    refused = ledger_rules.Approval.REFUSED.value
    awaiting = ledger_rules.Approval.AWAITING.value
    rows = (
        LedgerEntry.objects.order_by()
        .annotate(
            counted_on=Case(When(approval=refused, then=F("recorded_on")), default=F("value_date")),
            after_wo=Case(
                When(loan__written_off_on__isnull=False, value_date__gte=F("loan__written_off_on"), then=True),
                default=False,
            ),
        )
        .annotate(month_=TruncMonth("counted_on"), counting_=~Q(approval=awaiting))
        .values(
            "loan__branch_id",
            "loan__responsible_officer_id",
            "loan__product",
            "loan__borrower__kind",
            "month_",
            "kind",
            "form",
            "counts_as_recovery",
            "counting_",
            "after_wo",
        )
        .annotate(
            n=Count("id"),
            amount_=Sum("amount"),
            p=Sum("principal"),
            i_on=Sum("interest_on_balance"),
            i_off=Sum("interest_off_balance"),
        )
    )
    return [
        LedgerCell(
            branch_id=r["loan__branch_id"],
            officer_id=r["loan__responsible_officer_id"],
            product=r["loan__product"],
            borrower_kind=r["loan__borrower__kind"],
            month=r["month_"],
            kind=r["kind"],
            form=r["form"],
            counts_as_recovery=r["counts_as_recovery"],
            counting=r["counting_"],
            after_write_off=r["after_wo"],
            entries=r["n"],
            amount=r["amount_"],
            principal=r["p"],
            interest_on_balance=r["i_on"],
            interest_off_balance=r["i_off"],
        )
        for r in rows
    ]


def _case_rows() -> list[CaseCell]:
    from collections_app.models import CollectionCase

    rows = (
        CollectionCase.objects.order_by()
        .values(
            "loan__branch_id",
            "loan__responsible_officer_id",
            "loan__product",
            "loan__borrower__kind",
            "measure",
            "is_open",
        )
        .annotate(n=Count("id"))
    )
    return [
        CaseCell(
            branch_id=r["loan__branch_id"],
            officer_id=r["loan__responsible_officer_id"],
            product=r["loan__product"],
            borrower_kind=r["loan__borrower__kind"],
            measure=r["measure"],
            is_open=r["is_open"],
            cases=r["n"],
        )
        for r in rows
    ]


def _cost_rows() -> list[CostCell]:
    """Costs the bank bore, by the month incurred, and what debtors paid back of costs, by the month
    repaid: the same dimensions (the loan's), read through each row's path to its loan."""
    from collections_app.models import CaseCost, CostRepayment

    sources = (
        (CostCell.Kind.BORNE, CaseCost.objects.filter(borne_by=CaseCost.BorneBy.BANK), "case__loan__", "incurred_on"),
        (CostCell.Kind.REPAID, CostRepayment.objects.all(), "cost__case__loan__", "repaid_on"),
    )
    out: list[CostCell] = []
    for kind, queryset, loan, day in sources:
        dims = (f"{loan}branch_id", f"{loan}responsible_officer_id", f"{loan}product", f"{loan}borrower__kind")
        rows = (
            queryset.order_by().annotate(month_=TruncMonth(day)).values(*dims, "month_").annotate(amount_=Sum("amount"))
        )
        out.extend(
            CostCell(
                branch_id=r[dims[0]],
                officer_id=r[dims[1]],
                product=r[dims[2]],
                borrower_kind=r[dims[3]],
                month=r["month_"],
                kind=kind,
                amount=r["amount_"],
            )
            for r in rows
        )
    return out


def _limitation_rows() -> list[LimitationCell]:
    """Open cases whose limitation period ends, by the month it ends and by the day, with their loans'
    outstanding principal now."""
    from collections_app.models import CollectionCase

    claims = CollectionCase._base_manager.filter(is_open=True, limitation_expires_on__isnull=False).order_by()
    dims = ("loan__branch_id", "loan__responsible_officer_id", "loan__product", "loan__borrower__kind")
    out = []
    for grain, ends in (
        (LimitationCell.MONTH, TruncMonth("limitation_expires_on")),
        (LimitationCell.DAY, F("limitation_expires_on")),
    ):
        rows = (
            claims.annotate(ends_=ends)
            .values(*dims, "ends_")
            .annotate(n=Count("id"), p=Sum("loan__outstanding_principal"))
        )
        out.extend(
            LimitationCell(
                branch_id=r[dims[0]],
                officer_id=r[dims[1]],
                product=r[dims[2]],
                borrower_kind=r[dims[3]],
                grain=grain,
                ends_on=r["ends_"],
                cases=r["n"],
                principal=r["p"],
            )
            for r in rows
        )
    return out


REBUILDERS = {
    BookCell: _book_rows,
    LedgerCell: _ledger_rows,
    CaseCell: _case_rows,
    CostCell: _cost_rows,
    LimitationCell: _limitation_rows,
}


def rolled(model: type, cells: list, roll_model: type | None = None) -> list:
    """A roll-up of `model`'s cells (rebuilt ones): its branch roll-up (default: summed per branch
    and the table's own keys) or `roll_model` (an officer roll-up: per branch and officer). The
    definition of the roll-up tables (dashboards.models._Roll, _OfficerRoll)."""
    roll_model = roll_model or ROLL_OF[model]
    roll = ALL_TABLES[roll_model._meta.db_table]
    sums: dict[tuple, list] = {}
    for cell in cells:
        key = tuple(getattr(cell, c) for c in roll.group)
        values = [getattr(cell, m) or 0 for m in roll.measures]
        old = sums.get(key)
        sums[key] = values if old is None else [a + b for a, b in zip(old, values, strict=True)]
    return [
        roll_model(**dict(zip(roll.group, key, strict=True)), **dict(zip(roll.measures, values, strict=True)))
        for key, values in sums.items()
        if any(values)
    ]


@contextmanager
def quiet_rolls() -> Iterator[None]:
    """Within a transaction: the roll-up triggers add nothing (PostgreSQL; a compaction or a rebuild
    of the cells changes no sum, or writes the roll-ups itself). SQLite's row triggers keep adding."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [QUIET_SETTING])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, '', true)", [QUIET_SETTING])


assert set(KEPT_TABLES) == {m._meta.db_table for m in CELL_MODELS}


def _rebuild_once() -> dict[str, int]:
    with one_snapshot():
        if connection.vendor == "postgresql":
            # Not while a compaction runs (its deletes would conflict with ours). The reads below
            # and the deletes share one snapshot: a delta row a writer commits meanwhile is not
            # deleted, and its change is not in what is read, so it is counted once.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [MAINTENANCE_LOCK])
                if not cursor.fetchone()[0]:
                    raise _Busy
        built = {model: rows() for model, rows in REBUILDERS.items()}
        for model in CELL_MODELS:
            built[ROLL_OF[model]] = rolled(model, built[model])
        for model, roll_model in OFFICER_ROLL_OF.items():
            built[roll_model] = rolled(model, built[model], roll_model)
        with quiet_rolls():
            for model, rows in built.items():
                # The cells first, then their roll-ups (SQLite's roll-up triggers fire meanwhile).
                model.objects.all().delete()
                model.objects.bulk_create(rows, batch_size=2000)
    return {model._meta.model_name: len(rows) for model, rows in built.items()}


class _Busy(Exception):
    pass


def rebuild(attempts: int = 20) -> dict[str, int]:
    """Recompute every kept cell from the source tables, in one transaction (readers see the old
    cells or the new ones, never a mix), reading the sources and deleting the old cells in one
    snapshot (PostgreSQL), so writers may go on meanwhile. Returns the number of cells per table."""
    for attempt in range(attempts):
        try:
            return _rebuild_once()
        except (_Busy, OperationalError):
            # A compaction holds the lock, or (serialization failure) removed rows we read.
            if connection.in_atomic_block or attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def compact() -> dict[str, dict[str, int]]:
    """Fold each cell's delta rows into one (dashboards.maintain.compact)."""
    from dashboards.maintain import compact as _compact

    return _compact()


def summed(cells: QuerySet, *group_by: str, **sums: str) -> QuerySet:
    """`cells` summed per `group_by` (a cell may be several delta rows until compacted):
    summed(BookCell.objects.filter(...), "five_level_class", balance="outstanding_principal")."""
    return cells.order_by().values(*group_by).annotate(**{k: Sum(v) for k, v in sums.items()})
