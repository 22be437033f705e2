"""Legal recourse beside the case file (collections_app.LegalProceeding): hearings, the debtor's
assets, preservation orders, guarantee periods, and what the daily checks have already sent.

Writes go through legal/services.py; nothing here saves itself."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collections_app.models import LegalProceeding
from legal.rules import AssetKind
from loans.access import scoped_manager
from loans.models import Borrower, Branch, Collateral, Guarantee, Guarantor, Loan, User, money

ASSET_KIND_CHOICES = [
    (AssetKind.BANK_ACCOUNT.value, _("Bank account")),
    (AssetKind.REAL_ESTATE.value, _("Real estate")),
    (AssetKind.VEHICLE.value, _("Vehicle")),
    (AssetKind.EQUITY.value, _("Equity")),
    (AssetKind.RECEIVABLE.value, _("Receivable")),
    (AssetKind.OTHER.value, _("Other")),
]


class Hearing(models.Model):
    proceeding = models.ForeignKey(LegalProceeding, on_delete=models.CASCADE, related_name="hearings")
    held_on = models.DateField(_("hearing date"))
    place = models.CharField(_("place"), max_length=200)
    outcome = models.TextField(_("outcome"), blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("proceeding__case__branch")

    class Meta:
        ordering = ["held_on", "id"]
        verbose_name = _("hearing")
        indexes = [
            # The hearing reminders: WHERE held_on BETWEEN %s AND %s.
            models.Index(fields=["held_on"], name="hearing_held_on"),
        ]

    def __str__(self) -> str:
        return f"Hearing on {self.held_on}"

    @property
    def case(self):
        return self.proceeding.case


class DebtorAsset(models.Model):
    """An asset of a borrower or a guarantor found by the bank: what preservation orders and the
    pressure measure's sale of effective assets point at."""

    borrower = models.ForeignKey(Borrower, null=True, blank=True, on_delete=models.PROTECT, related_name="assets")
    guarantor = models.ForeignKey(Guarantor, null=True, blank=True, on_delete=models.PROTECT, related_name="assets")
    # The branch that registered it: the register is scoped by it.
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=ASSET_KIND_CHOICES)
    description = models.CharField(_("description"), max_length=300)
    where_found = models.CharField(_("where found"), max_length=300, blank=True)
    found_on = models.DateField(_("found on"))
    estimated_value = money(_("estimated value"))
    sold_on = models.DateField(_("sold on"), null=True, blank=True)
    sale_proceeds = money(_("sale proceeds"), null=True, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-found_on", "-id"]
        verbose_name = _("debtor's asset")
        verbose_name_plural = _("debtor's assets")
        constraints = [
            models.CheckConstraint(
                condition=Q(borrower__isnull=False, guarantor__isnull=True)
                | Q(borrower__isnull=True, guarantor__isnull=False),
                name="debtor_asset_one_owner",
            ),
            models.CheckConstraint(condition=Q(estimated_value__gte=0), name="debtor_asset_value_not_negative"),
            models.CheckConstraint(
                condition=Q(sold_on__isnull=True, sale_proceeds__isnull=True)
                | Q(sold_on__isnull=False, sale_proceeds__gte=0),
                name="debtor_asset_sale_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def owner(self) -> Borrower | Guarantor:
        return self.borrower or self.guarantor  # type: ignore[return-value]


class PreservationOrder(models.Model):
    """A freeze, seal or seizure ruled in a proceeding, on one asset; it lapses at `expires_on`
    unless renewed (the asset is then free again)."""

    class Kind(models.TextChoices):
        FREEZE = "freeze", _("Freeze")
        SEAL = "seal", _("Seal up")
        SEIZURE = "seizure", _("Seizure")

    proceeding = models.ForeignKey(LegalProceeding, on_delete=models.PROTECT, related_name="preservation_orders")
    kind = models.CharField(_("order"), max_length=10, choices=Kind.choices)
    asset_kind = models.CharField(_("asset kind"), max_length=20, choices=ASSET_KIND_CHOICES)
    asset = models.ForeignKey(
        DebtorAsset, null=True, blank=True, on_delete=models.PROTECT, related_name="preservation_orders"
    )
    collateral = models.ForeignKey(
        Collateral, null=True, blank=True, on_delete=models.PROTECT, related_name="preservation_orders"
    )
    description = models.CharField(_("what is preserved"), max_length=300)
    ruling_on = models.DateField(_("ruling date"))
    expires_on = models.DateField(_("expires on"))
    renewals = models.PositiveSmallIntegerField(default=0)
    last_renewed_on = models.DateField(_("last renewed on"), null=True, blank=True)
    released_on = models.DateField(_("released on"), null=True, blank=True)
    release_reason = models.CharField(_("why released"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("proceeding__case__branch")

    class Meta:
        ordering = ["expires_on", "id"]
        verbose_name = _("preservation order")
        constraints = [
            models.CheckConstraint(condition=Q(expires_on__gt=F("ruling_on")), name="preservation_expiry_after_ruling"),
            models.CheckConstraint(
                condition=Q(released_on__isnull=True) | Q(released_on__gte=F("ruling_on")),
                name="preservation_release_after_ruling",
            ),
        ]
        indexes = [
            # Expiry reminders and lapsed orders: WHERE released_on IS NULL AND expires_on <= %s.
            models.Index(fields=["expires_on"], condition=Q(released_on__isnull=True), name="preservation_in_force"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description}"

    @property
    def case(self):
        """The case the order was ruled for (evidence files are scoped through it)."""
        return self.proceeding.case

    def get_absolute_url(self) -> str:
        return reverse("legal:proceeding_detail", args=[self.proceeding_id])


class GuaranteeTerm(models.Model):
    """The guarantee period's end as the contract sets it (without one: 6 months, policy, from maturity)."""

    guarantee = models.OneToOneField(Guarantee, on_delete=models.CASCADE, related_name="term")
    period_ends_on = models.DateField(_("guarantee period ends on"))
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("guarantee__loan__branch")

    class Meta:
        indexes = [
            # Periods ending in a window (the dashboard's legal deadlines): WHERE period_ends_on BETWEEN ...
            models.Index(fields=["period_ends_on"], name="guarantee_term_ends"),
        ]

    def __str__(self) -> str:
        return f"Guarantee {self.guarantee_id} period ends {self.period_ends_on}"


class GuaranteeRelease(models.Model):
    """A guarantee period that ended without a demand: the guarantor is released and the amount is lost."""

    guarantee = models.OneToOneField(Guarantee, on_delete=models.PROTECT, related_name="release")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    period_ended_on = models.DateField()
    released_on = models.DateField()
    amount_lost = money(_("amount lost"))
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-released_on", "-id"]
        verbose_name = _("guarantee released")

    def __str__(self) -> str:
        return f"Guarantee {self.guarantee_id} released on {self.released_on}"


class LegalReminder(models.Model):
    """What the legal daily checks have sent: one row per thing, window and due date (their unique key).

    `days_before` is the reminder window; -1 marks a lapse (an order expired, a deadline passed,
    a claim time-barred). A new due date (a renewal, a new acknowledgement) starts the reminders again.
    """

    class Kind(models.TextChoices):
        HEARING = "hearing", _("Hearing")
        PRESERVATION = "preservation", _("Preservation order")
        ENFORCEMENT = "enforcement", _("Enforcement application")
        GUARANTEE = "guarantee", _("Guarantee period")
        TIME_BARRED = "time_barred", _("Time-barred claim")

    LAPSED = -1

    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    days_before = models.SmallIntegerField()
    due_on = models.DateField()
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    sent_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-sent_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "days_before", "due_on"], name="legal_reminder_once_per_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}: {self.days_before} days before {self.due_on}"
