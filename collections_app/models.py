"""Collection cases: the six measures as a state machine, and the timeline of what was done.

Nobody assigns `measure` or saves inside a transition: collections_app/services/ locks the
row, calls a transition, saves, writes the audit row, and schedules side effects on commit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Round
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from collections_app.case_rules import (
    ACTIVE_MEASURES,
    EMPHASIS_LABELS,
    EMPHASIS_OTHER,
    FINISHED_STATES,
    MEASURE_LABELS,
    OPEN_STATES,
    ActorFacts,
    CaseFacts,
    Measure,
    able_but_unwilling_why,
    entry_refusal,
    move_refusal,
    sources_of,
)
from loans.access import scoped_manager
from loans.models import Borrower, Branch, Collateral, Guarantee, Loan, User, money
from npl_recovery.compiled import CompiledQuery

MEASURE_CHOICES = [(m.value, MEASURE_LABELS[m]) for m in Measure]
_OPEN = [m.value for m in OPEN_STATES]
_FINISHED = [m.value for m in FINISHED_STATES]
_ACTIVE = frozenset(m.value for m in ACTIVE_MEASURES)


def _ledger_total_since(*, refinancing: bool) -> models.Subquery:
    """Net change of the loan's balance since the case opened by refinancing entries, or by the other
    entries that bring in no money (the opening balance and write-offs excluded: they move nothing)."""
    from ledger import rules
    from ledger.models import LedgerEntry

    if refinancing:
        kinds = [rules.EntryKind.REFINANCING.value]
    else:
        kinds = [rules.EntryKind.BOOK_REPORTED.value, rules.EntryKind.BOOK_CORRECTION.value]
    entries = (
        LedgerEntry.objects.filter(loan_id=OuterRef("loan_id"), kind__in=kinds, value_date__gte=OuterRef("opened_on"))
        .order_by()
        .values("loan_id")
        # Rounded: SQLite sums decimals as floating point.
        .annotate(t=Round(models.Sum(F("principal") + F("interest_on_balance") + F("interest_off_balance")), 2))
        .values("t")
    )
    return models.Subquery(entries, output_field=models.DecimalField(max_digits=18, decimal_places=2))


def _entry_condition(target: Measure):
    def condition(case: CollectionCase) -> bool:
        return entry_refusal(target, case.entry_facts()) is None

    condition.__name__ = f"entry_condition_{target.value}"
    condition.__doc__ = f"The entry condition of {target.label} (case_rules.entry_refusal)."
    return condition


def _role_rule(target: Measure):
    def permission(case: CollectionCase, user: Any) -> bool:
        return move_refusal(target, case.actor_facts(user)) is None

    permission.__name__ = f"may_move_to_{target.value}"
    return permission


def _move(target: Measure):
    """The transition decorator of a move to `target`: sources, entry condition and role rule in one place."""
    return transition(
        field="measure",
        source=[s.value for s in sources_of(target)],
        target=target.value,
        conditions=[_entry_condition(target)],
        permission=_role_rule(target),
    )


class CollectionCase(ConcurrentTransitionMixin, models.Model):
    """One non-performing loan's recovery, driven through the six measures."""

    Measure = Measure

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="collection_cases")
    # = loan.branch, copied so scoping and the queues need no join to the loans table.
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="collection_cases")
    measure = FSMField(max_length=20, choices=MEASURE_CHOICES, default=Measure.RESPONSIBILITY.value, protected=True)
    # Holds the loan's claim: an active measure, or written off (the claim is kept). Set by the
    # transitions; a check constraint keeps it equal to the measure.
    is_open = models.BooleanField(default=True, editable=False)
    # The lead responsible officer (shares and history: the accountability app).
    officer = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="collection_cases")
    recovery_deadline = models.DateField(_("recovery time limit"))
    team_members = models.ManyToManyField(User, blank=True, related_name="collection_teams")
    opened_on = models.DateField()
    opened_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    opening_reason = models.CharField(max_length=300, blank=True)
    measure_since = models.DateField()
    ended_on = models.DateField(null=True, blank=True)

    # Kept by the services for the queue's urgency order (see services/dates.py).
    next_promise_due = models.DateField(null=True, blank=True)
    limitation_starts_on = models.DateField(null=True, blank=True)
    limitation_expires_on = models.DateField(null=True, blank=True)
    # The next date something is due: min(recovery_deadline, next_promise_due, limitation_expires_on).
    urgency_on = models.DateField()
    # The guideline's emphasis, the queue's first order (case_rules.case_emphasis; 0 comes first): kept
    # by the services at opening, on reclassification and when the borrower's insider flag changes.
    emphasis = models.PositiveSmallIntegerField(
        _("emphasis"),
        choices=list(EMPHASIS_LABELS.items()),
        default=EMPHASIS_OTHER,
        db_default=EMPHASIS_OTHER,
        editable=False,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["emphasis", "urgency_on", "id"]
        constraints = [
            # One open case per loan, in the database: the opener's INSERT ... ON CONFLICT relies on it.
            models.UniqueConstraint(fields=["loan"], condition=Q(is_open=True), name="case_one_open_per_loan"),
            models.CheckConstraint(
                condition=Q(is_open=True, measure__in=_OPEN) | Q(is_open=False, measure__in=_FINISHED),
                name="case_is_open_matches_measure",
            ),
            models.CheckConstraint(
                condition=Q(recovery_deadline__gte=F("opened_on")), name="case_deadline_after_opening"
            ),
        ]
        indexes = [
            # The officer's queue: WHERE officer_id = %s AND is_open ORDER BY urgency_on, id LIMIT 25.
            models.Index(fields=["officer", "urgency_on", "id"], condition=Q(is_open=True), name="case_officer_queue"),
            # A manager's queue: WHERE branch_id IN (subtree) AND is_open ORDER BY urgency_on, id.
            models.Index(fields=["branch", "urgency_on", "id"], condition=Q(is_open=True), name="case_branch_queue"),
            # Head office and the daily checks: every open case by urgency (deadline reminders).
            models.Index(fields=["urgency_on", "id"], condition=Q(is_open=True), name="case_open_urgency"),
            # The queue's default order, the guideline's emphasis first (issue 11):
            # WHERE officer_id = %s AND is_open ORDER BY emphasis, urgency_on, id LIMIT 25 (and the same
            # per branch, and over every open case for the head office).
            models.Index(
                fields=["officer", "emphasis", "urgency_on", "id"],
                condition=Q(is_open=True),
                name="case_officer_emphasis",
            ),
            models.Index(
                fields=["branch", "emphasis", "urgency_on", "id"],
                condition=Q(is_open=True),
                name="case_branch_emphasis",
            ),
            models.Index(fields=["emphasis", "urgency_on", "id"], condition=Q(is_open=True), name="case_open_emphasis"),
            # Limitation warnings: WHERE is_open AND limitation_expires_on <= %s; and the queue sorted
            # by limitation end (ORDER BY limitation_expires_on, id: the pk for stable pages).
            models.Index(
                fields=["limitation_expires_on", "id"], condition=Q(is_open=True), name="case_open_limitation"
            ),
            # The queue sorted by time limit: ORDER BY recovery_deadline, id.
            models.Index(fields=["recovery_deadline", "id"], condition=Q(is_open=True), name="case_open_deadline"),
            # The dashboard's claims running out of time under a branch (issue 13): WHERE is_open AND
            # branch_id IN (subtree) AND limitation_expires_on <= as_of + the warning window.
            models.Index(
                fields=["branch", "limitation_expires_on"],
                condition=Q(is_open=True),
                name="case_open_branch_limitation",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.loan_id and self.loan.loan_no})"

    def get_absolute_url(self) -> str:
        return reverse("collections_app:case_detail", args=[self.pk])

    @property
    def measure_enum(self) -> Measure:
        return Measure(self.measure)

    @property
    def is_active(self) -> bool:
        return self.measure in _ACTIVE

    def days_to_deadline(self, as_of: date) -> int:
        return (self.recovery_deadline - as_of).days

    # --- what the rules read (no side effects) ---------------------------------------------

    def entry_facts(self) -> CaseFacts:
        """One query: every fact an entry condition needs (its SQL built once: _FACTS)."""
        row = _FACTS.dicts(self._state.db or "default", case_id=self.pk)[0]
        why = able_but_unwilling_why(
            able_to_pay=row["able"],
            refuses_to_pay=bool(row["refuses"]),
            paid_since_assessment=row["paid_since"],
            dishonest_listed=row["dishonest"],
        )
        return CaseFacts(
            measure=self.measure,
            collaborative_borrower=row["borrower_kind"] in Borrower.COLLABORATIVE_KINDS,
            government_directed=row["government_directed"],
            notices_served=int(row["has_notice"]),
            team_size=row["team"] or 0,
            has_guarantor=row["has_guarantor"],
            has_collateral=row["has_collateral"],
            has_asset_in_kind=row["has_asset"],
            has_registered_asset=row["has_registered_asset"],
            has_judgment_or_enforcement=row["has_judgment"],
            total_owed=row["owed"] if row["owed"] is not None else Decimal("0"),
            five_level_class=row["five_level"],
            refinanced_fall=-(row["refinanced_total"] or Decimal("0")),
            other_fall=-(row["other_total"] or Decimal("0")),
            able_but_unwilling=bool(why),
            able_but_unwilling_why=why,
        )

    def actor_facts(self, user: Any, *, in_scope: bool | None = None) -> ActorFacts:
        """The user as the role rules see them for this case. `in_scope=True`: the caller read
        this case through `visible_to(user)` (the case page), so scope is not asked again."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return ActorFacts(user_id=None, role="", in_scope=False, assigned=False)
        role = user.role or ("admin" if user.is_superuser else "")
        if in_scope is not True:
            in_scope = CollectionCase.objects.visible_to(user).filter(pk=self.pk).exists()
        assigned = self.officer_id == user.pk or (role == "officer" and self.team_members.filter(pk=user.pk).exists())
        return ActorFacts(user_id=user.pk, role=role, in_scope=in_scope, assigned=assigned)

    # --- transitions: only the case's own fields change here --------------------------------

    def _entered(self, on: date, *, ends: bool = False, still_open: bool = True) -> None:
        self.measure_since = on
        if ends:
            self.ended_on = on
            self.is_open = still_open

    @_move(Measure.COLLABORATIVE)
    def to_collaborative(self, *, on: date) -> None:
        self._entered(on)

    @_move(Measure.LEGAL)
    def to_legal(self, *, on: date) -> None:
        self._entered(on)

    @_move(Measure.SPECIAL_TEAM)
    def to_special_team(self, *, on: date) -> None:
        self._entered(on)

    @_move(Measure.PRESSURE)
    def to_pressure(self, *, on: date) -> None:
        self._entered(on)

    @_move(Measure.DISPOSAL)
    def to_disposal(self, *, on: date) -> None:
        self._entered(on)

    @_move(Measure.RECOVERED)
    def to_recovered(self, *, on: date) -> None:
        self._entered(on, ends=True, still_open=False)

    @_move(Measure.REFINANCED)
    def to_refinanced(self, *, on: date) -> None:
        self._entered(on, ends=True, still_open=False)

    @_move(Measure.REVITALISED)
    def to_revitalised(self, *, on: date) -> None:
        self._entered(on, ends=True, still_open=False)

    @_move(Measure.WRITTEN_OFF)
    def to_written_off(self, *, on: date) -> None:
        # The claim is kept: the case stays open (and the loan's one case) until it is closed.
        self._entered(on, ends=True, still_open=True)

    @_move(Measure.CLOSED)
    def to_closed(self, *, on: date) -> None:
        self._entered(on, ends=True, still_open=False)

    def transition_method(self, target: str):
        return getattr(self, f"to_{target}")


class MeasureChange(models.Model):
    """The case's path through the measures, append-only."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="measure_changes")
    from_measure = models.CharField(max_length=20, choices=MEASURE_CHOICES)
    to_measure = models.CharField(max_length=20, choices=MEASURE_CHOICES)
    changed_on = models.DateField()
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey("CaseRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("case__branch")

    class Meta:
        ordering = ["-changed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.from_measure} -> {self.to_measure} on {self.changed_on}"


class CaseRequest(models.Model):
    """Maker-checker: a move that needs a manager, requested by one person and decided by another."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        # The case moved on so that the requested move is no longer possible.
        LAPSED = "lapsed", _("Lapsed")

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="requests")
    target = models.CharField(max_length=20, choices=MEASURE_CHOICES)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_on = models.DateField()
    reason = models.TextField()
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A write-off: why it is unrecoverable (a key of NPL_RULES write_off_evidence, evidence/dossier.py);
    # its dossier's files are EvidenceFiles attached to this request.
    write_off_reason = models.CharField(_("write-off reason"), max_length=40, blank=True)
    # A write-off above write_off_second_approval_above: the first of two managers' approvals.
    first_approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    first_approved_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("case__branch")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Four eyes, then six: the second approver is neither the maker nor the first approver.
            models.CheckConstraint(
                condition=Q(first_approved_by__isnull=True)
                | (
                    ~Q(first_approved_by=F("requested_by"))
                    & (Q(decided_by__isnull=True) | ~Q(decided_by=F("first_approved_by")))
                ),
                name="case_request_second_approver_apart",
            ),
            models.UniqueConstraint(
                fields=["case", "target"], condition=Q(status="requested"), name="case_request_one_pending"
            ),
            # Maker-checker in the database too: nobody decides their own request.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="case_request_not_own_decision",
            ),
        ]
        indexes = [
            # The managers' approvals inbox: WHERE status = 'requested' ORDER BY created_at.
            models.Index(fields=["created_at"], condition=Q(status="requested"), name="case_request_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} for case {self.case_id} ({self.status})"

    @property
    def target_enum(self) -> Measure:
        return Measure(self.target)


class TimelineRecord(models.Model):
    """What every timeline row has: the case, the business date, who recorded it and when."""

    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("case__branch")

    class Meta:
        abstract = True


class AbilityAssessment(TimelineRecord):
    """An assessment of the debtor's ability to pay (history kept; the latest counts)."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="ability_assessments")
    able_to_pay = models.BooleanField(_("able to pay"))
    # The debtor refuses to pay (said so, or ignores every demand): with "able", able but unwilling.
    refuses_to_pay = models.BooleanField(_("refuses to pay"), default=False)
    evidence = models.TextField(_("evidence"))
    assessed_on = models.DateField(_("assessed on"))

    class Meta:
        ordering = ["-assessed_on", "-id"]
        verbose_name = _("assessment of the ability to pay")
        verbose_name_plural = _("assessments of the ability to pay")

    def __str__(self) -> str:
        return f"{'able' if self.able_to_pay else 'unable'} on {self.assessed_on}"


class DishonestDebtorListing(TimelineRecord):
    """The debtor is on a court's list of dishonest debtors (judgment defaulters)."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="dishonest_listings")
    listed_since = models.DateField(_("on the list since"))
    court = models.CharField(_("court"), max_length=200)
    reference = models.CharField(_("reference"), max_length=100)

    class Meta:
        ordering = ["-listed_since", "-id"]
        verbose_name = _("listing as a dishonest debtor")
        verbose_name_plural = _("listings as a dishonest debtor")

    def __str__(self) -> str:
        return f"{self.court} {self.reference} since {self.listed_since}"


class Contact(TimelineRecord):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        VISIT = "visit", _("Visit")
        LETTER = "letter", _("Letter")
        GOVERNMENT_MEETING = "government_meeting", _("Meeting with a government body")

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    contacted_on = models.DateField()
    person = models.CharField(_("who was contacted"), max_length=200, blank=True)
    summary = models.TextField()
    # The debtor acknowledged the debt in writing: the limitation period starts again.
    debt_acknowledged = models.BooleanField(_("debt acknowledged in writing"), default=False)

    class Meta:
        ordering = ["-contacted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.contacted_on}"


class Notice(TimelineRecord):
    class Method(models.TextChoices):
        IN_PERSON = "in_person", _("Delivered in person")
        REGISTERED_MAIL = "registered_mail", _("Registered mail")
        NOTARY = "notary", _("Through a notary")
        PUBLIC = "public", _("Public notice in a newspaper")

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="notices")
    served_on = models.DateField()
    served_to = models.CharField(max_length=200)
    method = models.CharField(max_length=30, choices=Method.choices, default=Method.IN_PERSON)
    # Registered mail: the post's tracking number (required for that method).
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    # The generated document that was served (evidence app), and the signed receipt kept as evidence.
    document = models.ForeignKey(
        "evidence.GeneratedDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    receipt = models.ForeignKey(
        "evidence.EvidenceFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The debtor signed the receipt: a served-and-signed notice restarts the limitation period.
    signed_acknowledgement = models.BooleanField(_("signed by the debtor"), default=False)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-served_on", "-id"]

    def __str__(self) -> str:
        return f"Notice served on {self.served_on}"


class PromiseToPay(TimelineRecord):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("promise to pay", "Open")
        KEPT = "kept", _("Kept")
        BROKEN = "broken", _("Broken")

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="promises")
    promised_on = models.DateField()
    amount = money()
    due_on = models.DateField()
    # Recoveries received since the promise, credited to it oldest due first.
    amount_paid = money(default=Decimal("0"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(condition=Q(due_on__gte=F("promised_on")), name="promise_due_after_promise"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("amount")), name="promise_paid_within_amount"
            ),
        ]
        indexes = [
            # The broken-promise check: WHERE status = 'open' AND due_on < %s.
            models.Index(fields=["due_on"], condition=Q(status="open"), name="promise_open_due"),
            # The dashboard's broken promises: WHERE status = 'broken' AND status_on BETWEEN %s AND %s
            # ORDER BY status_on DESC, id DESC.
            models.Index(fields=["status_on", "id"], condition=Q(status="broken"), name="promise_broken_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:,.2f} due {self.due_on} ({self.status})"


class GuarantorDemand(TimelineRecord):
    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="guarantor_demands")
    guarantee = models.ForeignKey(Guarantee, on_delete=models.PROTECT, related_name="demands")
    demanded_on = models.DateField()
    amount = money()
    response = models.TextField(blank=True)

    class Meta:
        ordering = ["-demanded_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="guarantor_demand_amount_positive")]

    def __str__(self) -> str:
        return f"Demand of {self.amount:,.2f} on {self.demanded_on}"


class LegalProceeding(TimelineRecord):
    """A case file before a court, a procuratorate, an arbitration body or another authority.

    Hearings, preservation orders and the debtor's assets are in the legal app; the services that
    write all of it are legal/services.py (filing itself stays collections_app's legal_proceeding_file).
    """

    class Forum(models.TextChoices):
        COURT = "court", _("Court")
        PROCURATORATE = "procuratorate", _("Procuratorate")
        ARBITRATION = "arbitration", _("Arbitration")
        OTHER = "other", _("Other authority")

    class Decision(models.TextChoices):
        JUDGMENT = "judgment", _("Judgment")
        RULING = "ruling", _("Ruling")
        MEDIATION = "mediation", _("Mediation agreement")

    class Status(models.TextChoices):
        FILED = "filed", _("Filed")
        DECIDED = "decided", _("Decided")
        EFFECTIVE = "effective", _("Effective")
        ENFORCEMENT = "enforcement", _("In enforcement")
        ENFORCEMENT_ENDED = "enforcement_ended", _("Enforcement ended: no executable assets")
        CLOSED = "closed", pgettext_lazy("legal proceeding", "Closed")

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="proceedings")
    forum = models.CharField(_("forum"), max_length=20, choices=Forum.choices, default=Forum.COURT)
    court = models.CharField(_("court or authority"), max_length=200)
    case_number = models.CharField(_("court case number"), max_length=100)
    cause = models.CharField(_("cause of action"), max_length=200, blank=True)
    claim_principal = money(_("claimed principal"), default=Decimal("0"))
    claim_interest = money(_("claimed interest"), default=Decimal("0"))
    claim_costs = money(_("claimed costs"), default=Decimal("0"))
    lawyer = models.CharField(_("lawyer or law firm"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.FILED)
    filed_on = models.DateField()
    judgment_on = models.DateField(null=True, blank=True)
    # The judgment, ruling or mediation: what it awards and by when the debtor must perform.
    decision_kind = models.CharField(_("decision"), max_length=20, choices=Decision.choices, blank=True)
    decision_served_on = models.DateField(_("decision served on"), null=True, blank=True)
    awarded_amount = money(_("amount awarded"), null=True, blank=True)
    performance_deadline = models.DateField(_("performance deadline"), null=True, blank=True)
    effective_on = models.DateField(_("effective on"), null=True, blank=True)
    # Kept by legal/services.py from the policy when the decision is recorded (the checks query it).
    appeal_deadline = models.DateField(_("appeal deadline"), null=True, blank=True)
    enforcement_deadline = models.DateField(_("enforcement application deadline"), null=True, blank=True)
    enforcement_applied_on = models.DateField(_("enforcement applied for on"), null=True, blank=True)
    enforcement_case_number = models.CharField(_("enforcement case number"), max_length=100, blank=True)
    enforcement_order_on = models.DateField(null=True, blank=True)
    # The ruling ending this round of enforcement for lack of executable assets (终结本次执行).
    enforcement_terminated_on = models.DateField(_("enforcement ended on"), null=True, blank=True)
    enforcement_resumed_on = models.DateField(_("enforcement resumed on"), null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-filed_on", "-id"]
        indexes = [
            # The enforcement-deadline check: WHERE enforcement_applied_on IS NULL AND enforcement_deadline <= %s.
            models.Index(
                fields=["enforcement_deadline"],
                condition=Q(enforcement_applied_on__isnull=True, enforcement_deadline__isnull=False),
                name="proceeding_enforcement_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(claim_principal__gte=0) & Q(claim_interest__gte=0) & Q(claim_costs__gte=0),
                name="proceeding_claim_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(decision_served_on__isnull=True) | Q(decision_served_on__gte=F("filed_on")),
                name="proceeding_decision_after_filing",
            ),
            models.CheckConstraint(
                condition=Q(enforcement_applied_on__isnull=True) | Q(enforcement_applied_on__gte=F("filed_on")),
                name="proceeding_enforcement_applied_after_filing",
            ),
            models.CheckConstraint(
                condition=Q(judgment_on__isnull=True) | Q(judgment_on__gte=F("filed_on")),
                name="proceeding_judgment_after_filing",
            ),
            models.CheckConstraint(
                condition=Q(enforcement_order_on__isnull=True) | Q(enforcement_order_on__gte=F("filed_on")),
                name="proceeding_enforcement_after_filing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.court} {self.case_number}"

    def get_absolute_url(self) -> str:
        return reverse("legal:proceeding_detail", args=[self.pk])

    @property
    def claim_total(self) -> Decimal:
        return self.claim_principal + self.claim_interest + self.claim_costs


class LegalStep(TimelineRecord):
    class Kind(models.TextChoices):
        FREEZE = "freeze", _("Freeze")
        SEAL = "seal", _("Seal up")
        DEDUCT = "deduct", _("Deduct")
        AUCTION = "auction", _("Auction")

    proceeding = models.ForeignKey(LegalProceeding, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    taken_on = models.DateField()
    collateral = models.ForeignKey(
        Collateral, null=True, blank=True, on_delete=models.SET_NULL, related_name="legal_steps"
    )
    amount = money(null=True, blank=True)
    notes = models.TextField(blank=True)

    objects = scoped_manager("proceeding__case__branch")

    class Meta:
        ordering = ["-taken_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.taken_on}"


class AssetInKind(TimelineRecord):
    """Property accepted in place of money: it settles `credited_amount` of the debt (a recovery in kind)."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="assets")
    kind = models.CharField(max_length=30, choices=Collateral.Kind.choices)
    description = models.CharField(max_length=300)
    taken_on = models.DateField()
    appraised_value = money()
    credited_amount = money()
    disposed_on = models.DateField(null=True, blank=True)
    disposal_proceeds = money(null=True, blank=True)

    class Meta:
        ordering = ["-taken_on", "-id"]
        verbose_name = _("asset taken in kind")
        verbose_name_plural = _("assets taken in kind")
        constraints = [
            models.CheckConstraint(condition=Q(appraised_value__gt=0), name="asset_value_positive"),
            models.CheckConstraint(
                condition=Q(credited_amount__gt=0) & Q(credited_amount__lte=F("appraised_value")),
                name="asset_credit_within_value",
            ),
            models.CheckConstraint(
                condition=Q(disposed_on__isnull=True, disposal_proceeds__isnull=True)
                | Q(disposed_on__isnull=False, disposal_proceeds__gte=0),
                name="asset_disposal_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class Recovery(TimelineRecord):
    """Money (or value in kind) received against the loan, split over principal and interest."""

    class Form(models.TextChoices):
        CASH = "cash", _("Cash")
        IN_KIND = "in_kind", _("In kind")

    class PaidBy(models.TextChoices):
        BORROWER = "borrower", _("Borrower")
        GUARANTOR = "guarantor", _("Guarantor")
        COURT_ENFORCEMENT = "court_enforcement", _("Court enforcement")
        # Issue 11: the collaborative measure's sources (DOMAIN: fiscal allocation, property of the body).
        FISCAL_ALLOCATION = "fiscal_allocation", _("Fiscal allocation")
        GOVERNMENT_PROPERTY = "government_property", _("Government or collective property")

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="recoveries")
    received_on = models.DateField()
    amount = money()
    form = models.CharField(max_length=10, choices=Form.choices, default=Form.CASH)
    paid_by = models.CharField(max_length=20, choices=PaidBy.choices, default=PaidBy.BORROWER)
    principal = money(_("to principal"))
    interest_on_balance = money(_("to interest on balance sheet"))
    interest_off_balance = money(_("to interest off balance sheet"))
    asset = models.OneToOneField(AssetInKind, null=True, blank=True, on_delete=models.PROTECT, related_name="recovery")
    note = models.CharField(max_length=300, blank=True)
    # Received after the loan was written off (账销案存: written off, claim kept): reported apart.
    after_write_off = models.BooleanField(_("after write-off"), default=False)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name_plural = _("recoveries")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_amount_positive"),
            models.CheckConstraint(
                condition=Q(principal__gte=0) & Q(interest_on_balance__gte=0) & Q(interest_off_balance__gte=0),
                name="recovery_parts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(amount=F("principal") + F("interest_on_balance") + F("interest_off_balance")),
                name="recovery_parts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(form="cash", asset__isnull=True) | Q(form="in_kind", asset__isnull=False),
                name="recovery_in_kind_has_asset",
            ),
        ]
        indexes = [
            # Limitation: the last payment per case; recovery totals per case.
            models.Index(fields=["case", "received_on"], name="recovery_case_received"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:,.2f} received on {self.received_on}"


class CaseOpeningRun(models.Model):
    """One run of the automatic case opener that opened cases: the subject of its system audit event.

    The cases it opened are those with ids from `first_case_id` to `last_case_id` opened on `as_of`
    (`opened` of them). On PostgreSQL runs take turns (services/opening.py, OPENER_LOCK), so no other
    run's case falls in the range; a case opened by hand meanwhile may, and the count says so.
    """

    as_of = models.DateField()
    # The person whose change made the loans non-performing; empty for the daily checks and commands.
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    opened = models.PositiveIntegerField()
    first_case_id = models.PositiveBigIntegerField()
    last_case_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.opened} case(s) opened as of {self.as_of}"


class FormSubmission(models.Model):
    """A record form of the case page, by the key it was drawn with: sent a second time (a double
    click, the browser's resend), it is recognised and records nothing more."""

    key = models.UUIDField(primary_key=True)
    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} form {self.key} for case {self.case_id}"


class CaseCost(TimelineRecord):
    """A collection cost of the case (court fees, preservation, appraisal, auction, lawyer, travel).

    Net recovery = cash recovered minus the costs the bank bore (`borne_by` bank). A cost the
    debtor owes back (`recoverable`) is repaid first by later recoveries when the policy's
    `recover_costs_first` is on; `recovered_amount` is how much of it came back so far.

    A recorded cost is never edited: a correction is a correcting entry (issue 11). The reversal
    (`reverses`: the cost it cancels) copies the cost with the amount, and what was paid back of it,
    negated, and its note says why; a corrected cost is then recorded anew (`replaces`: the cost it
    corrects), taking over what had been paid back. Every sum over the rows (net recovery, the kept
    cost cells, the month-end snapshot, the exports) so follows the correction by itself.
    """

    class Kind(models.TextChoices):
        LITIGATION = "litigation", _("Litigation (court fees)")
        PRESERVATION = "preservation", _("Preservation fees")
        APPRAISAL = "appraisal", _("Appraisal fees")
        AUCTION = "auction", _("Auction fees")
        LAWYER = "lawyer", _("Lawyer's fees")
        TRAVEL = "travel", _("Travel costs")
        OTHER = "other", _("Other costs")

    class BorneBy(models.TextChoices):
        BANK = "bank", _("Borne by the bank")
        THIRD_PARTY = "third_party", _("Paid by a third party")

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="costs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = money()
    incurred_on = models.DateField(_("incurred on"))
    borne_by = models.CharField(_("who bore it"), max_length=20, choices=BorneBy.choices, default=BorneBy.BANK)
    recoverable = models.BooleanField(_("the debtor owes it back"), default=True)
    recovered_amount = money(_("recovered so far"), default=Decimal("0"))
    source_document = models.CharField(_("source document"), max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True)
    # Correcting entries (issue 11): this row reverses `reverses` (amounts negated), or records the
    # corrected cost that `replaces` the reversed one.
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal", verbose_name=_("reverses")
    )
    replaces = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacement",
        verbose_name=_("corrects"),
    )

    class Meta:
        ordering = ["-incurred_on", "-id"]
        verbose_name = _("collection cost")
        verbose_name_plural = _("collection costs")
        constraints = [
            # A cost is above zero; only its reversal is below (never zero).
            models.CheckConstraint(
                condition=Q(reverses__isnull=True, amount__gt=0) | Q(reverses__isnull=False, amount__lt=0),
                name="case_cost_amount_signed",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0, recovered_amount__gte=0, recovered_amount__lte=F("amount"))
                | Q(amount__lt=0, recovered_amount__lte=0, recovered_amount__gte=F("amount")),
                name="case_cost_recovered_within_amount",
            ),
            models.CheckConstraint(
                condition=~Q(reverses=F("id")) & ~Q(replaces=F("id")), name="case_cost_corrects_another"
            ),
            models.CheckConstraint(
                condition=Q(recoverable=True) | Q(recovered_amount=0), name="case_cost_recovered_only_if_recoverable"
            ),
        ]
        indexes = [
            # Costs per case (the case page, net recovery); per month (the month-end snapshot).
            models.Index(fields=["case", "incurred_on"], name="case_cost_case_incurred"),
            models.Index(fields=["incurred_on"], name="case_cost_incurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:,.2f} on {self.incurred_on}"

    @property
    def outstanding(self) -> Decimal:
        """What the debtor still owes back of this cost."""
        return self.amount - self.recovered_amount if self.recoverable else Decimal("0")

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class CostRepayment(models.Model):
    """Part of a recovery that repaid a collection cost the bank bore (`recover_costs_first`): dated,
    so the month's net recovery counts it in the month the money came in."""

    cost = models.ForeignKey(CaseCost, on_delete=models.PROTECT, related_name="repayments")
    repaid_on = models.DateField()
    amount = money()
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("cost__case__branch")

    class Meta:
        ordering = ["-repaid_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="cost_repayment_amount_positive")]
        indexes = [models.Index(fields=["repaid_on"], name="cost_repayment_repaid_on")]

    def __str__(self) -> str:
        return f"{self.amount:,.2f} of cost {self.cost_id} repaid on {self.repaid_on}"


def _facts_queryset(case_id: int) -> models.QuerySet:
    """The facts of CollectionCase.entry_facts, as one row of values."""
    # The latest assessment of the debtor's ability to pay counts (the history is kept).
    latest_assessment = AbilityAssessment.objects.filter(case=OuterRef("pk")).order_by("-assessed_on", "-id")
    return (
        CollectionCase.objects.filter(pk=case_id)
        .annotate(
            borrower_kind=F("loan__borrower__kind"),
            government_directed=F("loan__government_directed"),
            five_level=F("loan__five_level_class"),
            owed=F("loan__outstanding_principal") + F("loan__interest_on_balance") + F("loan__interest_off_balance"),
            has_notice=Exists(Notice.objects.filter(case=OuterRef("pk"))),
            team=models.Subquery(
                CollectionCase.team_members.through.objects.filter(collectioncase=OuterRef("pk"))
                .order_by()
                .values("collectioncase")
                .annotate(n=models.Count("*"))
                .values("n")[:1]
            ),
            has_guarantor=Exists(Guarantee.objects.filter(loan=OuterRef("loan"))),
            has_collateral=Exists(Collateral.objects.filter(loan=OuterRef("loan"))),
            has_asset=Exists(AssetInKind.objects.filter(case=OuterRef("pk"))),
            refinanced_total=_ledger_total_since(refinancing=True),
            other_total=_ledger_total_since(refinancing=False),
            has_registered_asset=Exists(
                apps.get_model("legal", "DebtorAsset").objects.filter(
                    Q(borrower=OuterRef("loan__borrower")) | Q(guarantor__guarantees__loan=OuterRef("loan")),
                    sold_on__isnull=True,
                )
            ),
            has_judgment=Exists(
                LegalProceeding.objects.filter(case=OuterRef("pk")).filter(
                    Q(judgment_on__isnull=False) | Q(enforcement_order_on__isnull=False)
                )
            ),
            able=models.Subquery(latest_assessment.values("able_to_pay")[:1]),
            refuses=models.Subquery(latest_assessment.values("refuses_to_pay")[:1]),
            # The borrower is on a court's list of dishonest debtors (recorded on any of their cases).
            dishonest=Exists(
                DishonestDebtorListing.objects.filter(case__loan__borrower_id=OuterRef("loan__borrower_id"))
            ),
            paid_since=Exists(
                Recovery.objects.filter(
                    case=OuterRef("pk"),
                    # (inside, the outer row is the recovery: its case's latest assessment)
                    received_on__gte=models.Subquery(
                        AbilityAssessment.objects.filter(case=OuterRef("case"))
                        .order_by("-assessed_on", "-id")
                        .values("assessed_on")[:1]
                    ),
                )
            ),
        )
        .values(
            "borrower_kind",
            "government_directed",
            "five_level",
            "owed",
            "has_notice",
            "team",
            "has_guarantor",
            "has_collateral",
            "has_asset",
            "has_registered_asset",
            "has_judgment",
            "refinanced_total",
            "other_total",
            "able",
            "refuses",
            "paid_since",
            "dishonest",
        )
    )


# The case page asks for the facts on every view: the queryset is built once (npl_recovery.compiled).
_FACTS = CompiledQuery(_facts_queryset, "case_id")
