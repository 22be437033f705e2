"""The loan book: branches, staff, borrowers, loans, guarantees, collateral, classification history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loans import permissions
from loans.access import scoped_manager
from loans.classification import (
    NON_PERFORMING_FIVE,
    FiveLevel,
    FourLevel,
    days_past_due,
)
from loans.names import person_name
from loans.permissions import Role


def money(verbose_name: str | None = None, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=18, decimal_places=2, **kwargs)


class Branch(models.Model):
    class Kind(models.TextChoices):
        HEAD_OFFICE = "head_office", _("Head office")
        BRANCH = "branch", _("Branch")
        OUTLET = "outlet", _("Outlet")
        COOPERATIVE = "cooperative", _("Credit cooperative")

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BRANCH)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Materialised path "/HO/B01/O03/": a subtree is one indexed prefix match.
    path = models.CharField(max_length=500, editable=False, db_index=True)

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "branches"
        constraints = [
            # The head office sees the whole bank (loans/permissions.py): a branch without a parent
            # that is not the head office would give its managers the whole bank too.
            models.CheckConstraint(
                condition=Q(kind="head_office", parent__isnull=True)
                | (~Q(kind="head_office") & Q(parent__isnull=False)),
                name="branch_parent_unless_head_office",
                violation_error_message=_(
                    "Only the head office has no parent branch: choose the parent of this branch "
                    "(and none for the head office)."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent_id else "/"
        return f"{prefix}{self.code}/"

    def clean(self) -> None:
        if self.parent_id and self.pk:
            node = self.parent
            while node is not None:
                if node.pk == self.pk:
                    raise ValidationError(
                        {"parent": _("A branch cannot be placed under itself or its own sub-branch.")}
                    )
                node = node.parent

    def save(self, *args, **kwargs) -> None:
        old_path = None
        if self.pk:
            old_path = Branch.objects.filter(pk=self.pk).values_list("path", flat=True).first()
        self.path = self.compute_path()
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            # Move the subtree with its root.
            for child in Branch.objects.filter(path__startswith=old_path).exclude(pk=self.pk).order_by("path"):
                child.save()

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class User(AbstractUser):
    """Bank staff. Role and branch decide what the user may see and do (loans/access.py)."""

    Role = Role
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OFFICER)
    branch = models.ForeignKey(Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="staff")
    employee_no = models.CharField(max_length=30, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # The interface language the user chose in the header; blank: the browser's.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default="")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    def get_full_name(self) -> str:
        # As the person's language writes it: 张伟, "Wei Zhang" (loans/names.py).
        return person_name(self.first_name, self.last_name)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    # The role checks are defined once, in loans/permissions.py.
    @property
    def is_manager(self) -> bool:
        return permissions.is_manager(self)

    @property
    def is_officer(self) -> bool:
        return permissions.is_officer(self)

    @property
    def is_bank_admin(self) -> bool:
        return permissions.is_bank_admin(self)

    @property
    def is_auditor(self) -> bool:
        return permissions.is_auditor(self)


class Borrower(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ENTERPRISE = "enterprise", _("Enterprise")
        GOVERNMENT_AGENCY = "government_agency", _("Government agency")
        VILLAGE_COLLECTIVE = "village_collective", _("Village collective")
        PUBLIC_INSTITUTION = "public_institution", _("Public institution")

    class InsiderKind(models.TextChoices):
        NONE = "", _("Not an insider")
        STAFF = "staff", _("Staff of the bank")
        STAFF_RELATIVE = "staff_relative", _("Relative of staff")
        SHAREHOLDER = "shareholder", _("Shareholder")

    # Kinds whose loans go to the collaborative measure (collect with local government / department).
    COLLABORATIVE_KINDS = frozenset(
        {Kind.GOVERNMENT_AGENCY, Kind.ENTERPRISE, Kind.VILLAGE_COLLECTIVE, Kind.PUBLIC_INSTITUTION}
    )

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.INDIVIDUAL)
    id_no = models.CharField("ID number", max_length=50, unique=True)
    # Related parties: borrowers of the same group (enterprise group, family) for the
    # "collect loans by loans" detector.
    group_code = models.CharField(max_length=50, blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=300, blank=True)
    # Insider or related party (staff, their relatives, shareholders): their cases come first in the
    # queue ("first inside, then outside", issue 11). Set through loans.services.borrower_update.
    insider_kind = models.CharField(
        _("insider or related party"), max_length=20, choices=InsiderKind.choices, blank=True, default="", db_default=""
    )
    insider_note = models.CharField(_("insider note"), max_length=300, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("loans__branch", to_many=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id_no})"


# The classes in the regulation's words (docs/GLOSSARY.md); the rules module keeps English codes.
FIVE_LEVEL_WORDS = {
    FiveLevel.NORMAL: _("Normal"),
    FiveLevel.SPECIAL_MENTION: _("Special mention"),
    FiveLevel.SUBSTANDARD: _("Substandard"),
    FiveLevel.DOUBTFUL: _("Doubtful"),
    FiveLevel.LOSS: _("Loss"),
}
FOUR_LEVEL_WORDS = {
    FourLevel.NORMAL: _("Normal"),
    FourLevel.OVERDUE: _("Overdue"),
    FourLevel.IDLE: _("Idle"),
    FourLevel.BAD_DEBT: _("Bad debt"),
}


class Loan(models.Model):
    FiveLevel = FiveLevel
    FourLevel = FourLevel
    FIVE_LEVEL_CHOICES = [(c.value, FIVE_LEVEL_WORDS[c]) for c in FiveLevel]
    FOUR_LEVEL_CHOICES = [(c.value, FOUR_LEVEL_WORDS[c]) for c in FourLevel]

    loan_no = models.CharField("loan number", max_length=40, unique=True)
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="loans")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="loans")
    product = models.CharField(max_length=100, blank=True)
    issuing_officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="issued_loans"
    )
    # "Whoever lends, collects": the issuing officer unless reassigned.
    responsible_officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="responsible_loans"
    )

    principal = money()
    outstanding_principal = money()
    interest_on_balance = money("interest receivable on balance sheet", default=Decimal("0"))
    interest_off_balance = money("interest receivable off balance sheet", default=Decimal("0"))
    disbursed_on = models.DateField()
    maturity_on = models.DateField()
    # Earliest due date (principal or interest) still unpaid; empty when nothing is overdue.
    overdue_since = models.DateField(null=True, blank=True)
    # When overdue_since last became empty: an NPL is upgraded only after arrears stay cleared.
    arrears_cleared_on = models.DateField(null=True, blank=True)
    business_ceased = models.BooleanField("business ceased / project halted", default=False)
    government_directed = models.BooleanField(default=False)
    restructured_on = models.DateField(null=True, blank=True)
    written_off_on = models.DateField(null=True, blank=True)

    five_level_class = models.CharField(max_length=20, choices=FIVE_LEVEL_CHOICES, default=FiveLevel.NORMAL)
    four_level_class = models.CharField(max_length=20, choices=FOUR_LEVEL_CHOICES, default=FourLevel.NORMAL)
    # A manager's judgement: the loan is at least this bad (never better than the floor).
    manual_five_level_class = models.CharField(max_length=20, choices=FIVE_LEVEL_CHOICES, blank=True)
    manual_class_reason = models.TextField(blank=True)
    # Rule codes behind the stored classes (loans.classification); the readable reason is
    # recomputed for display, since "95 days past due" changes every day.
    five_level_rule = models.CharField(max_length=40, blank=True)
    four_level_rule = models.CharField(max_length=40, blank=True)
    specific_provision = money(default=Decimal("0"))
    # The digest of the file row the last import wrote (or found) this loan from: the next import
    # of the same row stages it unchanged without checking it again. On PostgreSQL a trigger
    # (migration 0011) forgets it when any other write changes a column the file sets.
    import_digest = models.BigIntegerField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["loan_no"]
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__gt=0),
                name="loan_principal_positive",
                violation_error_message=_("The principal must be more than 0."),
            ),
            models.CheckConstraint(
                condition=Q(outstanding_principal__gte=0) & Q(outstanding_principal__lte=F("principal")),
                name="loan_outstanding_within_principal",
                violation_error_message=_("The outstanding principal must be between 0 and the principal."),
            ),
            models.CheckConstraint(
                condition=Q(interest_on_balance__gte=0) & Q(interest_off_balance__gte=0),
                name="loan_interest_not_negative",
                violation_error_message=_("Interest receivable (on and off balance sheet) cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(maturity_on__gte=F("disbursed_on")),
                name="loan_maturity_after_disbursal",
                violation_error_message=_("The maturity date cannot be before the disbursement date."),
            ),
        ]
        # No index contains a class column on purpose: the daily reclassification rewrites those
        # columns, and with no indexed column changing (and the fillfactor set in migration 0001)
        # PostgreSQL updates the row in place (HOT) instead of touching every index. Figures by
        # class come from aggregates, not from scans of this table.
        indexes = [
            # The loans-by-loans detector looks up a borrower's loans by disbursement date.
            models.Index(fields=["borrower", "disbursed_on"], name="loan_borrower_disbursed"),
            # The loan list's sort orders (loans/tables.py offers only index-served ones; the pk
            # last, for stable pages). Neither column changes when loans are reclassified.
            models.Index(fields=["outstanding_principal", "id"], name="loan_outstanding_id"),
            models.Index(fields=["overdue_since", "id"], name="loan_overdue_since_id"),
            # Guarantee periods without a contract end run from the maturity: the dashboard's legal
            # deadlines find them by a maturity range (legal.rules.guarantee_maturity_range).
            models.Index(fields=["maturity_on"], name="loan_maturity_on"),
            # The search's trigram indexes on UPPER(loan_no) (and the borrower's name and ID number)
            # are in migration 0007: PostgreSQL only.
        ]

    def __str__(self) -> str:
        return self.loan_no

    @property
    def total_owed(self) -> Decimal:
        return self.outstanding_principal + self.interest_on_balance + self.interest_off_balance

    @property
    def is_non_performing(self) -> bool:
        return self.five_level_class in NON_PERFORMING_FIVE

    def dpd(self, as_of) -> int:
        return days_past_due(self.overdue_since, as_of)

    def get_absolute_url(self) -> str:
        return reverse("loans:loan_detail", args=[self.pk])


class Guarantor(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ENTERPRISE = "enterprise", _("Enterprise")
        GUARANTEE_COMPANY = "guarantee_company", _("Guarantee company")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.INDIVIDUAL)
    id_no = models.CharField("ID number", max_length=50, unique=True)
    # Set when the guarantor is also a borrower (a related party for the loans-by-loans detector).
    borrower = models.ForeignKey(
        Borrower, null=True, blank=True, on_delete=models.SET_NULL, related_name="as_guarantor"
    )
    phone = models.CharField(max_length=40, blank=True)

    objects = scoped_manager("guarantees__loan__branch", to_many=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id_no})"


class Guarantee(models.Model):
    class Liability(models.TextChoices):
        # Joint liability: a demand on the guarantor within the guarantee period keeps it liable.
        # General guarantee: a suit against the debtor filed within the period keeps it liable.
        JOINT = "joint", _("Joint liability")
        GENERAL = "general", _("General guarantee")

    guarantor = models.ForeignKey(Guarantor, on_delete=models.PROTECT, related_name="guarantees")
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="guarantees")
    amount = money()
    signed_on = models.DateField(null=True, blank=True)
    # db_default too: the importer's staging SQL inserts guarantees without this column (= joint).
    liability = models.CharField(
        _("liability"), max_length=10, choices=Liability.choices, default=Liability.JOINT, db_default=Liability.JOINT
    )

    objects = scoped_manager("loan__branch")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="guarantee_amount_positive",
                violation_error_message=_("The guaranteed amount must be more than 0."),
            ),
            models.UniqueConstraint(
                fields=["guarantor", "loan"],
                name="guarantee_unique_per_loan",
                violation_error_message=_("This guarantor already guarantees this loan."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guarantor.name} guarantees {self.loan.loan_no} for {self.amount}"


class Collateral(models.Model):
    class Kind(models.TextChoices):
        REAL_ESTATE = "real_estate", _("Real estate")
        LAND_USE_RIGHT = "land_use_right", _("Land-use right")
        VEHICLE = "vehicle", _("Vehicle")
        EQUIPMENT = "equipment", _("Machinery and equipment")
        DEPOSIT = "deposit", _("Deposit / certificate")
        RECEIVABLES = "receivables", _("Receivables")
        OTHER = "other", _("Other")

    class LienStatus(models.TextChoices):
        FREE = "free", _("Free")
        FROZEN = "frozen", _("Frozen")
        SEALED = "sealed", _("Sealed")
        AUCTIONED = "auctioned", _("Auctioned")

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="collateral")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    description = models.CharField(max_length=300)
    appraised_value = money()
    appraised_on = models.DateField(null=True, blank=True)
    lien_status = models.CharField(max_length=20, choices=LienStatus.choices, default=LienStatus.FREE)

    objects = scoped_manager("loan__branch")

    class Meta:
        verbose_name_plural = "collateral"
        constraints = [
            models.CheckConstraint(
                condition=Q(appraised_value__gte=0),
                name="collateral_value_not_negative",
                violation_error_message=_("The appraised value cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description}"


class ClassificationChange(models.Model):
    """Every change of class, append-only: never updated or deleted."""

    class Scheme(models.TextChoices):
        FIVE_LEVEL = "five_level", _("Five-level")
        FOUR_LEVEL = "four_level", _("Four-level")

    class Source(models.TextChoices):
        RULE = "rule", _("Rule")
        MANUAL = "manual", _("Manual")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="classification_changes")
    scheme = models.CharField(max_length=20, choices=Scheme.choices)
    from_class = models.CharField(max_length=20, blank=True)
    to_class = models.CharField(max_length=20)
    source = models.CharField(max_length=10, choices=Source.choices)
    rule = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("loan__branch")

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["loan", "-as_of"], name="classchange_loan_asof")]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.scheme}: {self.from_class or '-'} -> {self.to_class} ({self.as_of})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError("Classification history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Classification history is append-only.")


class ClassificationRun(models.Model):
    """One run of the classification for an as-of date: over the whole book, or on demand over some
    loans (recorded when it changed something). Its audit row points to the history rows it wrote."""

    as_of = models.DateField()
    whole_book = models.BooleanField(default=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    loans_examined = models.PositiveIntegerField(default=0)
    loans_changed = models.PositiveIntegerField(default=0)
    became_non_performing = models.PositiveIntegerField(default=0)
    left_non_performing = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"classification as of {self.as_of}"


# --- loan-book imports (loans/importing) -----------------------------------------------------


class ImportBatch(models.Model):
    """One loan-book import or dry run: who, when, which file, progress, counts and errors.

    Written by loans.importing.services only. Progress fields are updated outside the import's
    own transaction, so a page polling them sees the rows move while the file is read.
    """

    class Source(models.TextChoices):
        ADMIN = "admin", _("Django admin")
        PAGE = "page", _("Import page")
        COMMAND = "command", _("Command line")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        CHECKED = "checked", _("Checked (dry run)")
        IMPORTED = "imported", _("Imported")
        REJECTED = "rejected", _("Rejected: errors in the file")
        FAILED = "failed", _("Failed")

    class Phase(models.TextChoices):
        WAITING = "waiting", _("Waiting for a worker")
        READING = "reading", _("Reading and validating rows")
        # A CSV re-imported on PostgreSQL: the database reads the file and finds the rows the book
        # holds as they are (loans.importing.services._Import._unchanged_in_database).
        COMPARING = "comparing", _("Comparing the file with the loan book")
        CHECKING = "checking", _("Checking across rows")
        WRITING = "writing", _("Writing")
        DONE = "done", _("Done")

    FINISHED = frozenset({Status.CHECKED, Status.IMPORTED, Status.REJECTED, Status.FAILED})

    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    dry_run = models.BooleanField(default=False)
    as_of = models.DateField()
    file_name = models.CharField(max_length=255)
    # Kept for the worker (and for "import this checked file"); empty for admin and command imports.
    loans_file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    guarantees_file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    collateral_file = models.FileField(upload_to="imports/%Y/%m/", blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.WAITING)
    # Times the batch was handed to the workers: once when it is created, once more each time the
    # recovery of lost jobs sends it again (npl_recovery/jobs.py); with NPL_JOB_MAX_ATTEMPTS spent,
    # a lost batch is failed instead. queued_at: when it was last sent again (else created_at).
    attempts = models.PositiveSmallIntegerField(default=1)
    queued_at = models.DateTimeField(null=True, blank=True)
    # Progress: rows_total is an estimate until the file has been read.
    rows_total = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_validated = models.PositiveIntegerField(default=0)
    rows_to_write = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)

    # Loans: what was (or, for a dry run, would be) created, updated and left unchanged.
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    # The other sheets and the borrowers: {"guarantees": {"created": 1, ...}, ...}.
    counts = models.JSONField(default=dict, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    # The first problems, each "row R, column C: what is wrong" (at most MAX_STORED_ERRORS).
    errors = models.JSONField(default=list, blank=True)
    # What an import lets through but a person should look at (issue 10): "row R, column C: ...".
    warnings = models.JSONField(default=list, blank=True)
    # The language the problems are written in: the uploader's (issue 10), else the site's default.
    language = models.CharField(max_length=10, blank=True, default="")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "import batch"
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "import"
        return f"{kind} #{self.pk} {self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("loans:import_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def summary(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"

    @property
    def progress_percent(self) -> int:
        """Reading and checking each row is most of the work (to 80%); then the checks across
        rows (to 85%) and the write (to 100%)."""
        if self.is_finished:
            return 100
        if self.phase == self.Phase.WAITING:
            return 0
        if self.phase in (self.Phase.READING, self.Phase.COMPARING):
            total = max(self.rows_total, self.rows_read, 1)
            return min(79, int(80 * self.rows_read / total))
        return 85 if self.phase == self.Phase.WRITING else 80


class ImportRow(models.Model):
    """The outcome of one row of an import batch (created, updated or unchanged)."""

    class Outcome(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        UNCHANGED = "unchanged", _("Unchanged")

    # One index, the primary key, serves "a batch's rows in file order" (WHERE batch_id = %s AND
    # sheet = %s ORDER BY row_no): an import writes a row here for every row of its file.
    pk = models.CompositePrimaryKey("batch_id", "sheet", "row_no")
    # No database-level foreign key: the rows are written by one INSERT ... SELECT with the id of
    # the batch being run, and deleted with it (CASCADE, in Django); a key check per row, deferred
    # to commit, would cost about as much as writing the row itself.
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="rows", db_index=False, db_constraint=False
    )
    sheet = models.CharField(max_length=12)
    row_no = models.PositiveIntegerField()
    # The row's key: the loan number (with the guarantor's ID number or the collateral's description).
    key = models.CharField(max_length=400)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)

    class Meta:
        ordering = ["batch", "sheet", "row_no"]
        indexes = [
            # The loans a batch created (their opening balances, the prevention checks' new loans),
            # found without reading the batch's other rows: a re-import of 100,000 rows creates few.
            models.Index(fields=["batch", "sheet"], condition=models.Q(outcome="created"), name="importrow_created"),
        ]

    def __str__(self) -> str:
        return f"{self.sheet} row {self.row_no}: {self.key} {self.outcome}"


class ImportRowRun(models.Model):
    """Consecutive rows of one sheet of an import batch that left the book unchanged, kept as one
    record with the rows' keys (loans/importing/outcomes.py): a daily import of a book that barely
    moves would otherwise add a row to ImportRow for every loan in the book, every day."""

    pk = models.CompositePrimaryKey("batch_id", "sheet", "first_row_no")
    # As ImportRow's: written by one INSERT ... SELECT, deleted with the batch (CASCADE, in Django).
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="unchanged_runs", db_index=False, db_constraint=False
    )
    sheet = models.CharField(max_length=12)
    first_row_no = models.PositiveIntegerField()
    last_row_no = models.PositiveIntegerField()
    # The rows' keys in row order: a JSON array of strings, one per row from first_row_no to last_row_no.
    keys = models.TextField()

    class Meta:
        ordering = ["batch", "sheet", "first_row_no"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_row_no__gte=models.F("first_row_no")), name="importrowrun_rows"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sheet} rows {self.first_row_no}-{self.last_row_no} unchanged"


def _export_file_path(job: ExportJob, filename: str) -> str:
    # Under a private folder (no URL serves the media root); a random part keeps names unguessable.
    import secrets

    return f"exports/{job.owner_id}/{secrets.token_hex(12)}-{filename}"


class ExportJob(models.Model):
    """An export run by a Celery worker (loans/export_jobs.py): its owner, what and how, progress,
    and the file offered for download until `expires_at` (NPL_EXPORT_KEEP_DAYS).

    The rows are chosen when the job runs, through the owner's `visible_to` scope and the recorded
    filters; only the owner may see the job or download its file.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    FINISHED = frozenset({Status.DONE, Status.FAILED, Status.EXPIRED})

    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    export = models.CharField(max_length=30)
    fmt = models.CharField(max_length=4)
    # The list's query parameters as {key: [values]} (the loan list's filters), applied at run time.
    query = models.JSONField(default=dict, blank=True)
    chinese_row = models.BooleanField(default=False)
    as_of = models.DateField()
    # The language the owner worked in: labels in the cells and the messages are written in it.
    language = models.CharField(max_length=10, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_export_file_path, blank=True, max_length=255)
    file_name = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="exportjob_owner_recent")]

    def __str__(self) -> str:
        return f"export #{self.pk} {self.export}.{self.fmt}"

    def get_absolute_url(self) -> str:
        return reverse("loans:export_job", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def title(self) -> str:
        """The export's name in the active language (loans/exporting.py's specs)."""
        from loans.exporting import EXPORTS

        spec = EXPORTS.get(self.export)
        return str(spec.title) if spec else self.export

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_written * 100 // self.rows_total)
