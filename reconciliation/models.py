"""Falls of a loan's balance reported by the book (an import), waiting for the officer to say
what they were: a cash repayment, a refinancing, or something else (with a note).

The ledger entry of kind "reported by the book" stays as written (the ledger is append-only); the
classification is this row, and a cash repayment or a refinancing is carried into the ledger by two
entries (the reported fall reversed, the same change posted with its kind: see services.py).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.access import scoped_manager
from loans.models import Branch, Loan, User, money


class ReportedFall(models.Model):
    class Status(models.TextChoices):
        TO_CLASSIFY = "to_classify", _("To classify")
        CLASSIFIED = "classified", _("Classified")

    class Outcome(models.TextChoices):
        CASH_REPAYMENT = "cash_repayment", _("Cash repayment")
        REFINANCING = "refinancing", _("Refinancing")
        OTHER = "other", _("Other")

    entry = models.OneToOneField("ledger.LedgerEntry", on_delete=models.PROTECT, related_name="reported_fall")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("collections_app.CollectionCase", on_delete=models.PROTECT, related_name="+")
    # = loan.branch, and the case's officer when the fall was reported (whose queue lists it).
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # How much fell (> 0), and whether only interest fell.
    amount = money()
    reported_on = models.DateField()

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.TO_CLASSIFY)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    value_date = models.DateField(_("value date"), null=True, blank=True)
    note = models.TextField(blank=True)
    classified_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    classified_at = models.DateTimeField(null=True, blank=True)
    # The entries that carry a cash repayment or a refinancing into the ledger.
    reversal = models.OneToOneField(
        "ledger.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    posted = models.OneToOneField(
        "ledger.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["reported_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="reported_fall_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="to_classify", outcome="")
                | Q(status="classified", classified_by__isnull=False) & ~Q(outcome=""),
                name="reported_fall_classified_has_outcome",
            ),
        ]
        indexes = [
            # The officer's "To classify" count: WHERE officer_id = %s AND status = 'to_classify'.
            models.Index(
                fields=["officer", "reported_on"], condition=Q(status="to_classify"), name="fall_officer_to_classify"
            ),
            # A manager's: WHERE branch_id IN (subtree) AND status = 'to_classify'.
            models.Index(
                fields=["branch", "reported_on"], condition=Q(status="to_classify"), name="fall_branch_to_classify"
            ),
        ]

    def __str__(self) -> str:
        return f"Fall of loan {self.loan_id} reported on {self.reported_on}"


class RiseAcknowledgement(models.Model):
    """A rise of a non-performing loan's balance reported by an import, looked at and acknowledged by
    the loan's officer or a manager, with why (issue 11, item 2): it leaves the list of rises. The
    ledger entry stays as written; this row is the acknowledgement."""

    entry = models.OneToOneField("ledger.LedgerEntry", on_delete=models.PROTECT, related_name="rise_acknowledgement")
    # = the loan's branch when acknowledged (scope).
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("why"))
    acknowledged_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-acknowledged_at", "-id"]
        verbose_name = _("acknowledged rise of a balance")
        verbose_name_plural = _("acknowledged rises of a balance")
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="rise_acknowledgement_has_reason")]

    def __str__(self) -> str:
        return f"Rise {self.entry_id} acknowledged by {self.acknowledged_by_id}"
