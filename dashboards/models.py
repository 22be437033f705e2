"""Kept aggregates the dashboards read instead of scanning the loans, the ledger and the cases.

Each table holds *cells*: summed figures per combination of the dimensions a dashboard filters and
groups by (branch, responsible officer, product, borrower kind, and the table's own keys). The
tables take deltas: a change to a loan, a ledger entry or a case adds rows (the figure's change),
never updates a shared row, so writers never wait on each other; `dashboards.kept.compact` folds
the rows of each cell into one. A reader always sums by cell (`SUM ... GROUP BY`), so it reads the
same figures before and after compaction. `dashboards.kept.rebuild` recomputes every cell from the
source tables (also the check that the kept figures are right).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from loans.access import scoped_manager
from loans.models import Branch, User, money


class _Cell(models.Model):
    branch = models.ForeignKey(Branch, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    # The loan's responsible officer (None: none assigned).
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    product = models.CharField(max_length=100, blank=True, default="")
    borrower_kind = models.CharField(max_length=30, blank=True, default="")

    class Meta:
        abstract = True


class _BookFigures(models.Model):
    """The loan book now, by both schemes' classes: count and balances."""

    five_level_class = models.CharField(max_length=20)
    four_level_class = models.CharField(max_length=20)
    loans = models.IntegerField(default=0)
    outstanding_principal = money(default=0)
    interest_on_balance = money(default=0)
    interest_off_balance = money(default=0)
    specific_provision = money(default=0)
    # Loans written off (written_off_on set) and their remaining balance, apart.
    written_off_loans = models.IntegerField(default=0)

    class Meta:
        abstract = True


class BookCell(_Cell, _BookFigures):
    """The loan book now, by both schemes' classes: count and balances."""

    class Meta:
        indexes = [models.Index(fields=["branch"], name="book_cell_branch")]

    def __str__(self) -> str:
        return f"Book cell {self.branch_id}/{self.officer_id}/{self.five_level_class}/{self.four_level_class}"


class _LedgerFigures(models.Model):
    """Ledger entries by month, kind and form: what moved the balances and what came in.

    `month` is the first day of the month the entry counts in (its value date; a refused backdating:
    the day it was recorded). Entries awaiting approval are kept under `counting=False` and count
    nowhere until decided. `after_write_off`: the entry's value date is on or after the loan's
    write-off (recovered after write-off)."""

    month = models.DateField()
    kind = models.CharField(max_length=30)
    form = models.CharField(max_length=10)
    counts_as_recovery = models.BooleanField(default=False)
    counting = models.BooleanField(default=True)
    after_write_off = models.BooleanField(default=False)
    entries = models.IntegerField(default=0)
    amount = money(default=0)
    principal = money(default=0)
    interest_on_balance = money(default=0)
    interest_off_balance = money(default=0)

    class Meta:
        abstract = True


class LedgerCell(_Cell, _LedgerFigures):
    """Ledger entries by month, kind and form (see _LedgerFigures)."""

    class Meta:
        indexes = [models.Index(fields=["branch", "month"], name="ledger_cell_branch_month")]

    def __str__(self) -> str:
        return f"Ledger cell {self.month:%Y-%m} {self.branch_id}/{self.officer_id}/{self.kind}"


class _CaseFigures(models.Model):
    """Collection cases by measure, open or ended: count."""

    measure = models.CharField(max_length=20)
    is_open = models.BooleanField(default=True)
    cases = models.IntegerField(default=0)

    class Meta:
        abstract = True


class CaseCell(_Cell, _CaseFigures):
    """Collection cases by measure, open or ended: count."""

    class Meta:
        indexes = [models.Index(fields=["branch"], name="case_cell_branch")]

    def __str__(self) -> str:
        return f"Case cell {self.branch_id}/{self.officer_id}/{self.measure}"


class CostKind(models.TextChoices):
    BORNE = "borne", _("Costs borne")
    REPAID = "repaid", _("Costs repaid")


class _CostFigures(models.Model):
    """Collection costs the bank bore (by the month incurred) and what debtors paid back of them (by
    the month repaid): the other half of net recovery."""

    Kind = CostKind

    month = models.DateField()
    kind = models.CharField(max_length=10, choices=CostKind.choices)
    amount = money(default=0)

    class Meta:
        abstract = True


class CostCell(_Cell, _CostFigures):
    """Collection costs borne and repaid by month (see _CostFigures)."""

    Kind = CostKind

    class Meta:
        indexes = [models.Index(fields=["branch", "month"], name="cost_cell_branch_month")]

    def __str__(self) -> str:
        return f"Cost cell {self.month:%Y-%m} {self.branch_id}/{self.kind}"


class _LimitationFigures(models.Model):
    """Open claims (open cases) whose limitation period ends on a day: how many, and their loans'
    outstanding principal now, kept twice: by the month it ends (`grain` "month", `ends_on` the
    month's first day) and by the day (`grain` "day", `ends_on` that day). The headline's
    "time-barred or within the warning window" sums the months wholly before or inside the window and
    the days of the two months its ends fall in (dashboards.figures.limitation)."""

    MONTH = "month"
    DAY = "day"

    grain = models.CharField(max_length=5)
    ends_on = models.DateField()
    cases = models.IntegerField(default=0)
    principal = money(default=0)

    class Meta:
        abstract = True


class LimitationCell(_Cell, _LimitationFigures):
    class Meta:
        indexes = [
            models.Index(fields=["branch", "grain", "ends_on"], name="limitation_cell_branch"),
            # An officer's own figures.
            models.Index(fields=["officer", "grain", "ends_on"], name="limitation_cell_officer"),
        ]

    def __str__(self) -> str:
        return f"Limitation cell {self.grain} {self.ends_on} {self.branch_id}/{self.officer_id}"


# --- the branch roll-ups -----------------------------------------------------------------------------


class _Roll(models.Model):
    """A branch roll-up of a cell table: the same figures summed per branch and the table's own keys,
    without the officer, the product and the borrower kind. What a dashboard reads when nothing
    narrows it below a branch (the whole bank, a branch subtree): a few hundred rows a month instead of
    ten thousand. Kept by triggers on the cell table itself (every delta row added to a cell is added
    here, summed per branch; dashboards/triggers.py), folded by the same compaction, checked against
    the same definition (dashboards.kept.rebuild's cells, summed)."""

    branch = models.ForeignKey(Branch, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        abstract = True


class BookRoll(_Roll, _BookFigures):
    class Meta:
        indexes = [models.Index(fields=["branch"], name="book_roll_branch")]

    def __str__(self) -> str:
        return f"Book roll {self.branch_id}/{self.five_level_class}/{self.four_level_class}"


class LedgerRoll(_Roll, _LedgerFigures):
    class Meta:
        indexes = [models.Index(fields=["month", "branch"], name="ledger_roll_month_branch")]

    def __str__(self) -> str:
        return f"Ledger roll {self.month:%Y-%m} {self.branch_id}/{self.kind}"


class CaseRoll(_Roll, _CaseFigures):
    class Meta:
        indexes = [models.Index(fields=["branch"], name="case_roll_branch")]

    def __str__(self) -> str:
        return f"Case roll {self.branch_id}/{self.measure}"


class CostRoll(_Roll, _CostFigures):
    class Meta:
        indexes = [models.Index(fields=["month", "branch"], name="cost_roll_month_branch")]

    def __str__(self) -> str:
        return f"Cost roll {self.month:%Y-%m} {self.branch_id}/{self.kind}"


class LimitationRoll(_Roll, _LimitationFigures):
    class Meta:
        indexes = [models.Index(fields=["grain", "ends_on", "branch"], name="limitation_roll_ends")]

    def __str__(self) -> str:
        return f"Limitation roll {self.grain} {self.ends_on} {self.branch_id}"


# Each cell table's branch roll-up.
ROLL_OF: dict[type[models.Model], type[models.Model]] = {
    BookCell: BookRoll,
    LedgerCell: LedgerRoll,
    CaseCell: CaseRoll,
    CostCell: CostRoll,
    LimitationCell: LimitationRoll,
}


# --- the officer roll-ups ------------------------------------------------------------------------


class _OfficerRoll(models.Model):
    """An officer roll-up of a cell table: the same figures summed per branch, responsible officer
    and the table's own keys, without the product and the borrower kind. What the officer league
    reads (dashboards.league) when nothing narrows the view by product or borrower kind: at a million
    loans, a year of the ledger's cash recoveries for the whole bank is a fifth of the cells (the
    cells split each officer's month by product and borrower kind). Kept like the branch roll-ups:
    statement triggers on the cell table, the same compaction, the same check (dashboards/triggers.py)."""

    branch = models.ForeignKey(Branch, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        abstract = True


class LedgerOfficerRoll(_OfficerRoll, _LedgerFigures):
    class Meta:
        indexes = [
            models.Index(fields=["month", "branch"], name="ledger_oroll_month_branch"),
            # The league's cash recovered this year per officer: an index-only scan of the year's
            # counting cash recoveries (half the roll's rows) instead of the whole roll.
            models.Index(
                fields=["month"],
                include=["officer", "amount"],
                condition=models.Q(counting=True, counts_as_recovery=True, form="cash"),
                name="ledger_oroll_cash_month",
            ),
        ]

    def __str__(self) -> str:
        return f"Ledger officer roll {self.month:%Y-%m} {self.branch_id}/{self.officer_id}/{self.kind}"


class CostOfficerRoll(_OfficerRoll, _CostFigures):
    class Meta:
        indexes = [models.Index(fields=["month", "branch"], name="cost_oroll_month_branch")]

    def __str__(self) -> str:
        return f"Cost officer roll {self.month:%Y-%m} {self.branch_id}/{self.officer_id}/{self.kind}"


# The cell tables the officer league reads by month, and their officer roll-ups.
OFFICER_ROLL_OF: dict[type[models.Model], type[models.Model]] = {
    LedgerCell: LedgerOfficerRoll,
    CostCell: CostOfficerRoll,
}
# Every roll-up (branch and officer) and the cell table it sums.
ROLLED_FROM: dict[type[models.Model], type[models.Model]] = {
    **{roll: cell for cell, roll in ROLL_OF.items()},
    **{roll: cell for cell, roll in OFFICER_ROLL_OF.items()},
}


class MonthEndLoan(models.Model):
    """Each loan on the book at a month's end, with its classes under both schemes: what the
    migration matrix compares. Written at the month-end close in the snapshot's transaction (one
    INSERT ... SELECT), kept for 25 months (the close purges older months).

    On the book: disbursed by the month's last day and still owing principal or interest."""

    month = models.DateField()  # the first day of the month
    loan = models.ForeignKey(
        "loans.Loan", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    branch = models.ForeignKey(Branch, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    product = models.CharField(max_length=100, blank=True, default="")
    borrower_kind = models.CharField(max_length=30, blank=True, default="")
    five_level_class = models.CharField(max_length=20)
    four_level_class = models.CharField(max_length=20)
    outstanding_principal = money(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "loan"], name="month_end_loan_once")]
        indexes = [models.Index(fields=["branch"], name="month_end_loan_branch")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} loan {self.loan_id}: {self.five_level_class}/{self.four_level_class}"


class MigrationCell(_Cell):
    """The migration matrix between two month-ends: loans (and their balances at both ends) that
    were in `from_class` at the earlier month's end and in `to_class` at the later one, under one
    scheme. `from_class` "new": not on the book at the earlier end; `to_class` "gone": off the book
    at the later end (repaid, closed). Written at the close for (previous month end -> this month
    end) and (previous year end -> this month end); the dimensions are the loan's at the later end
    (at the earlier end for a loan gone)."""

    NEW = "new"
    GONE = "gone"

    from_month = models.DateField()
    to_month = models.DateField()
    scheme = models.CharField(max_length=4)  # "five" | "four"
    from_class = models.CharField(max_length=20)
    to_class = models.CharField(max_length=20)
    loans = models.IntegerField(default=0)
    balance_from = money(default=0)
    balance_to = money(default=0)

    class Meta:
        indexes = [models.Index(fields=["to_month", "from_month", "scheme"], name="migration_cell_months")]

    def __str__(self) -> str:
        return (
            f"Migration {self.from_month:%Y-%m}->{self.to_month:%Y-%m} {self.scheme} {self.from_class}->{self.to_class}"
        )


class RecoveryTarget(models.Model):
    """A year's recovery targets for a branch (officer None: the branch's own target) or for one
    officer of it, set by a manager (dashboards.services.target_set, audited): how much the NPL
    balance should fall over the year and how much cash should come in."""

    year = models.PositiveSmallIntegerField(_("year"))
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("officer")
    )
    npl_reduction = money(_("NPL balance reduction"))
    cash_recovered = money(_("cash recovered"))
    set_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("set by"))
    set_at = models.DateTimeField(_("set at"))
    reason = models.TextField(_("reason"))

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-year", "branch__path", "officer__username"]
        verbose_name = _("recovery target")
        verbose_name_plural = _("recovery targets")
        constraints = [
            models.UniqueConstraint(
                fields=["year", "branch", "officer"],
                condition=models.Q(officer__isnull=False),
                name="target_once_per_year_branch_officer",
            ),
            models.UniqueConstraint(
                fields=["year", "branch"],
                condition=models.Q(officer__isnull=True),
                name="target_once_per_year_branch",
            ),
            models.CheckConstraint(
                condition=models.Q(npl_reduction__gte=0, cash_recovered__gte=0), name="target_amounts_not_negative"
            ),
        ]
        indexes = [
            # The league's targets: WHERE year = %s AND officer_id IN (...).
            models.Index(fields=["year", "officer"], name="target_year_officer"),
        ]

    def __str__(self) -> str:
        return f"Target {self.year} {self.branch_id}/{self.officer_id}"
