"""The balance ledger: every change of a loan's outstanding principal and interest (on and off the
balance sheet) is one `LedgerEntry`.

Written by ledger/services.py only. Invariant: for every loan, the sum of its entries (the opening
balance is an entry) equals its balance, per component. Entries are append-only: nothing is updated
or deleted but the approval of a backdated entry (and, on PostgreSQL, a trigger refuses the rest).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ledger import rules
from loans.access import scoped_manager
from loans.models import ImportBatch, Loan, User, money

# The only fields an entry's approval may change after it is written.
APPROVAL_FIELDS = ("approval", "approved_by", "approved_at", "approval_reason")


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        OPENING_BALANCE = rules.EntryKind.OPENING_BALANCE.value, _("Opening balance")
        CASH_RECOVERY = rules.EntryKind.CASH_RECOVERY.value, _("Cash recovery")
        REPAYMENT_IN_KIND = rules.EntryKind.REPAYMENT_IN_KIND.value, _("Repayment in kind")
        GUARANTOR_PAYMENT = rules.EntryKind.GUARANTOR_PAYMENT.value, _("Guarantor payment")
        COURT_DEDUCTION = rules.EntryKind.COURT_DEDUCTION.value, _("Court deduction")
        FISCAL_ALLOCATION = rules.EntryKind.FISCAL_ALLOCATION.value, _("Fiscal allocation")
        GOVERNMENT_PROPERTY = rules.EntryKind.GOVERNMENT_PROPERTY.value, _("Government or collective property")
        DISPOSAL_PROCEEDS = rules.EntryKind.DISPOSAL_PROCEEDS.value, _("Disposal proceeds")
        WRITE_OFF = rules.EntryKind.WRITE_OFF.value, _("Write-off")
        REFINANCING = rules.EntryKind.REFINANCING.value, _("Restructuring or refinancing")
        BOOK_CORRECTION = rules.EntryKind.BOOK_CORRECTION.value, _("Correction from the book")
        BOOK_REPORTED = rules.EntryKind.BOOK_REPORTED.value, _("Reported by the book")

    class Form(models.TextChoices):
        CASH = rules.EntryForm.CASH.value, _("Cash")
        IN_KIND = rules.EntryForm.IN_KIND.value, _("In kind")
        NONE = rules.EntryForm.NONE.value, _("Nothing received")

    class Approval(models.TextChoices):
        NOT_NEEDED = rules.Approval.NOT_NEEDED.value, _("Not needed")
        AWAITING = rules.Approval.AWAITING.value, _("Awaiting approval")
        APPROVED = rules.Approval.APPROVED.value, _("Approved")
        REFUSED = rules.Approval.REFUSED.value, _("Refused")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="ledger_entries")
    case = models.ForeignKey(
        "collections_app.CollectionCase", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # Signed changes of the loan's three balances: a fall is negative.
    principal = money(_("change of outstanding principal"))
    interest_on_balance = money(_("change of interest on balance sheet"))
    interest_off_balance = money(_("change of interest off balance sheet"))
    # What came in (money or value in kind, >= 0): for a recovery, what was paid (= minus the sum of
    # the changes); for disposal proceeds, the sale price (the debt fell when the asset was taken);
    # 0 for entries that are no recovery.
    amount = money(_("amount received"), default=0)
    form = models.CharField(max_length=10, choices=Form.choices, default=Form.NONE)
    counts_as_recovery = models.BooleanField(default=False, editable=False)
    value_date = models.DateField(_("value date"))
    recorded_on = models.DateField(_("recorded on"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("source document"), max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True)

    approval = models.CharField(max_length=12, choices=Approval.choices, default=Approval.NOT_NEEDED)
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_reason = models.TextField(blank=True)

    recovery = models.OneToOneField(
        "collections_app.Recovery", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entry"
    )
    asset = models.ForeignKey(
        "collections_app.AssetInKind", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )

    objects = scoped_manager("loan__branch")

    class Meta:
        ordering = ["-value_date", "-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="ledger_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(approval__in=["not_needed", "awaiting"]) | Q(approved_by__isnull=False),
                name="ledger_decision_has_decider",
            ),
            models.CheckConstraint(
                condition=~Q(approved_by=models.F("recorded_by")),
                name="ledger_approver_not_recorder",
            ),
        ]
        indexes = [
            # Per-loan sums (the invariant) and the loan's entries newest first.
            models.Index(fields=["loan", "value_date"], name="ledger_loan_value_date"),
            # Per-case figures.
            models.Index(fields=["case", "value_date"], name="ledger_case_value_date"),
            # Per-month recovery sums.
            models.Index(
                fields=["value_date", "form"], name="ledger_recovery_month", condition=Q(counts_as_recovery=True)
            ),
            # Awaiting approval: the managers' list.
            models.Index(fields=["approval"], name="ledger_awaiting", condition=Q(approval="awaiting")),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.kind} {self.value_date}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            fields = kwargs.get("update_fields")
            if not fields or set(fields) - set(APPROVAL_FIELDS):
                raise ValidationError("A ledger entry is append-only: only its approval may change.")
        self.counts_as_recovery = rules.counts_as_recovery(self.kind)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("A ledger entry is append-only: it cannot be deleted.")

    @property
    def total(self):
        return self.principal + self.interest_on_balance + self.interest_off_balance

    @property
    def counts_for_time_limits(self) -> bool:
        return self.approval in rules.COUNTING_APPROVALS
