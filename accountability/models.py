"""Accountability: who answers for each non-performing loan, what they earned or owe, and what the
daily checks found.

Writes go through accountability/services.py (people) and accountability/daily_checks/ (the
checks). Nobody assigns `AccountabilityRecord.state`: the services call its transitions.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accountability import rules
from accountability.permissions import decision_refusal
from accountability.rules import (
    HUMAN_CAUSES,
    OBJECTIVE_CAUSES,
    TYPES_WITH_AMOUNT,
    RewardType,
    SanctionType,
    WatchReason,
    days_left,
)
from collections_app.models import CollectionCase, PromiseToPay, Recovery
from loans.access import ScopedQuerySet, scoped_manager
from loans.models import Branch, Loan, User, money
from loans.permissions import is_officer

# --- responsibility -----------------------------------------------------------------------------

# The reason of the first division the system gives a case: stored in English, shown translated.
DEFAULT_DIVISION_REASON = gettext_noop("Opened with the case: whoever lends, collects (100%, the case's time limit).")


class ResponsibilityAssignment(models.Model):
    """One division of responsibility for a case: who answers for it, in what shares, until when.

    A new division ends the current one (`ended_on`) and starts another; nothing is overwritten.
    """

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="responsibility_assignments")
    # = case.loan and case.branch, copied so scoping and the checks need no join.
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="responsibility_assignments")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    # The officer with the largest share; mirrored to case.officer (collections_app).
    lead_officer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recovery_deadline = models.DateField(_("recovery time limit"))
    starts_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    # What the officers were promised for recovering within the time limit.
    promised_reward = models.CharField(
        max_length=20,
        choices=[(RewardType.BONUS.value, _("Bonus")), (RewardType.COMMENDATION.value, _("Commendation"))],
        default=RewardType.BONUS.value,
    )
    assigned_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            # One current division per case; the earlier ones are history.
            models.UniqueConstraint(
                fields=["case"], condition=Q(ended_on__isnull=True), name="responsibility_one_current_per_case"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("starts_on")),
                name="responsibility_ends_after_start",
            ),
        ]
        indexes = [
            # Reminders and missed time limits: WHERE ended_on IS NULL AND recovery_deadline BETWEEN ...
            models.Index(
                fields=["recovery_deadline", "id"],
                condition=Q(ended_on__isnull=True),
                name="resp_current_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"Responsibility for case {self.case_id} until {self.recovery_deadline}"

    @property
    def reason_shown(self) -> str:
        return gettext(self.reason) if self.reason == DEFAULT_DIVISION_REASON else self.reason

    @property
    def is_current(self) -> bool:
        return self.ended_on is None

    def days_left(self, as_of: date) -> int:
        return days_left(self.recovery_deadline, as_of)


class ResponsibilityShare(models.Model):
    """An officer's share of one division. The shares of a division add up to 100% (the services
    check it; on PostgreSQL a deferred constraint trigger checks it again at commit)."""

    assignment = models.ForeignKey(ResponsibilityAssignment, on_delete=models.CASCADE, related_name="shares")
    officer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="responsibility_shares")
    share = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)

    objects = scoped_manager("assignment__branch")

    class Meta:
        ordering = ["-share", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "officer"], name="responsibility_share_once_per_officer"),
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lte=100), name="responsibility_share_range"),
        ]
        indexes = [
            # "My responsibilities": WHERE officer_id = %s, joined to the current assignments.
            models.Index(fields=["officer", "assignment"], name="responsibility_share_officer"),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id}: {self.share}%"


class ResponsibilityTally(models.Model):
    """Kept figures for the board's per-officer summary (issue 15): how many current shares of open
    cases each officer holds, per branch of the case and time limit, as signed deltas.

    Written only by PostgreSQL triggers (migration 0007) in the transaction of every change that
    moves a share in or out of "current share of an open case": a share written, changed or deleted;
    a division ended, re-dated or moved; a case closed or reopened. Each statement adds one row per
    (branch, officer, time limit) it touched, never updates one, so writers never wait on each other;
    `responsibility_tally_compact()` (daily, and after the first divisions) folds the rows into one
    per key. The board sums them (accountability/selectors.py); SQLite keeps the direct aggregate.
    """

    branch_id = models.BigIntegerField()
    officer_id = models.BigIntegerField()
    recovery_deadline = models.DateField()
    shares = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["officer_id", "recovery_deadline"], name="resp_tally_officer", include=["shares"]),
            models.Index(fields=["branch_id", "officer_id"], name="resp_tally_branch", include=["shares"]),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id} @ {self.branch_id} until {self.recovery_deadline}: {self.shares:+d}"


# --- sanctions and rewards ------------------------------------------------------------------------


class RecordKind(models.TextChoices):
    SANCTION = "sanction", _("Sanction")
    REWARD = "reward", _("Reward")


class RecordType(models.TextChoices):
    WAGE_STOP = SanctionType.WAGE_STOP.value, _("Wage stop")
    SUSPENSION = SanctionType.SUSPENSION.value, _("Suspension")
    LAYOFF = SanctionType.LAYOFF.value, _("Layoff")
    COMPENSATION = SanctionType.COMPENSATION.value, _("Compensation")
    LEGAL_ACTION = SanctionType.LEGAL_ACTION.value, _("Legal action")
    COMMENDATION = RewardType.COMMENDATION.value, _("Commendation")
    BONUS = RewardType.BONUS.value, _("Bonus")


SANCTION_TYPES = [t.value for t in SanctionType]
REWARD_TYPES = [t.value for t in RewardType]
AMOUNT_TYPES = list(TYPES_WITH_AMOUNT)


class RecordState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    IMPOSED = "imposed", _("Imposed")
    WAIVED = "waived", _("Waived")
    TO_BE_LIFTED = "to_be_lifted", _("To be lifted")
    LIFTED = "lifted", _("Lifted")
    HONOURED = "honoured", _("Honoured")


# States a manager still has to act on; "to be lifted" first (recovered in time: without delay).
OPEN_RECORD_STATES = [RecordState.TO_BE_LIFTED.value, RecordState.PROPOSED.value, RecordState.IMPOSED.value]
TO_DECIDE_STATES = [RecordState.TO_BE_LIFTED.value, RecordState.PROPOSED.value]


class RecordOrigin(models.TextChoices):
    MISSED_DEADLINE = "missed_deadline", _("Time limit missed")
    RECOVERED_IN_TIME = "recovered_in_time", _("Recovered within the time limit")
    MANUAL = "manual", _("Proposed by a manager")
    HUMAN_CAUSE = "human_cause", _("Non-performing through human factors")


# The question each decision asks before it is taken: what will happen (key: decision, kind; "" any).
_CONFIRMATIONS = {
    ("impose", "sanction"): _("Impose the %(type)s on %(name)s? This cannot be undone; %(name)s is told."),
    ("impose", "reward"): _("Grant the %(type)s to %(name)s? This cannot be undone; %(name)s is told."),
    ("waive", ""): _("Waive the %(type)s proposed for %(name)s? This cannot be undone; %(name)s is told."),
    ("lift", ""): _("Lift the %(type)s on %(name)s? This cannot be undone; %(name)s is told."),
    ("honour", ""): _("Honour the %(type)s of %(name)s? It is then closed for good; %(name)s is told."),
}


def _may_decide(record: AccountabilityRecord, user: Any) -> bool:
    return record.decision_refusal(user) is None


def _is_sanction(record: AccountabilityRecord) -> bool:
    return record.kind == RecordKind.SANCTION


def _is_reward(record: AccountabilityRecord) -> bool:
    return record.kind == RecordKind.REWARD


class RecordQuerySet(ScopedQuerySet):
    branch_lookup = "branch"

    def visible_to(self, user: Any) -> RecordQuerySet:
        """The branch scope, and an officer sees only the records about themselves."""
        qs = super().visible_to(user)
        if is_officer(user):
            qs = qs.filter(officer=user)
        return qs


class AccountabilityRecord(ConcurrentTransitionMixin, models.Model):
    """A sanction or a reward for one officer. The system (or a manager) proposes; another manager
    decides: proposed -> imposed / waived -> lifted (sanction) or honoured (reward)."""

    Kind = RecordKind
    Type = RecordType
    State = RecordState
    Origin = RecordOrigin

    kind = models.CharField(max_length=10, choices=RecordKind.choices)
    record_type = models.CharField(_("type"), max_length=20, choices=RecordType.choices)
    state = FSMField(max_length=20, choices=RecordState.choices, default=RecordState.PROPOSED, protected=True)
    origin = models.CharField(max_length=20, choices=RecordOrigin.choices, default=RecordOrigin.MANUAL)

    officer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="accountability_records")
    # The branch of the loan concerned (else the officer's): scoping like everything else.
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        CollectionCase, null=True, blank=True, on_delete=models.PROTECT, related_name="accountability_records"
    )
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey(
        ResponsibilityAssignment, null=True, blank=True, on_delete=models.PROTECT, related_name="records"
    )
    # The officer's share of the division concerned, and its time limit.
    share = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    deadline = models.DateField(_("time limit concerned"), null=True, blank=True)

    # Compensation owed or bonus earned.
    amount = money(null=True, blank=True)
    # What a reward is based on, money and value in kind kept apart: a bonus counts cash only.
    cash_recovered = money(null=True, blank=True)
    in_kind_value = money(_("value taken in kind"), null=True, blank=True)

    reason = models.TextField(_("why proposed"))
    proposed_on = models.DateField()
    proposed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One proposal per division, officer and type from each check: a rerun proposes nothing twice.
            models.UniqueConstraint(
                fields=["assignment", "officer", "record_type"],
                condition=Q(origin__in=["missed_deadline", "recovered_in_time"]),
                name="record_one_proposal_per_event",
            ),
            # One compensation per person and case from the recorded cause: recording it again
            # proposes nothing twice.
            models.UniqueConstraint(
                fields=["case", "officer", "record_type"],
                condition=Q(origin="human_cause"),
                name="record_one_compensation_per_cause",
            ),
            models.CheckConstraint(
                condition=Q(kind="sanction", record_type__in=SANCTION_TYPES)
                | Q(kind="reward", record_type__in=REWARD_TYPES),
                name="record_type_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(record_type__in=AMOUNT_TYPES, amount__gt=0)
                | (~Q(record_type__in=AMOUNT_TYPES) & Q(amount__isnull=True)),
                name="record_amount_for_compensation_and_bonus",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["proposed", "imposed", "waived", "to_be_lifted", "lifted"], kind="sanction")
                | Q(state__in=["proposed", "imposed", "waived", "honoured"], kind="reward"),
                name="record_state_matches_kind",
            ),
            # Maker-checker in the database too: nobody decides or closes their own record, and
            # nobody decides what they proposed.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("officer")),
                name="record_not_decided_by_its_officer",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | Q(proposed_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="record_not_decided_by_its_proposer",
            ),
            models.CheckConstraint(
                condition=Q(closed_by__isnull=True) | ~Q(closed_by=F("officer")),
                name="record_not_closed_by_its_officer",
            ),
        ]
        indexes = [
            # The board's "decide first": WHERE state IN ('to_be_lifted', 'proposed') [AND branch_id IN ...].
            models.Index(
                fields=["branch", "created_at"],
                condition=Q(state__in=["to_be_lifted", "proposed"]),
                name="record_to_decide",
            ),
            # Records by officer: WHERE officer_id = %s [AND state = ...].
            models.Index(fields=["officer", "state"], name="record_officer_state"),
            # The board's list, newest first: ORDER BY proposed_on DESC, id DESC (the pk for stable pages).
            models.Index(fields=["proposed_on", "id"], name="record_proposed_on_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_record_type_display()} for {self.officer_id} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        return reverse("accountability:record_detail", args=[self.pk])

    @property
    def is_sanction(self) -> bool:
        return self.kind == RecordKind.SANCTION

    @property
    def state_label(self) -> str:
        if self.kind == RecordKind.REWARD and self.state == RecordState.IMPOSED:
            return _("Granted")
        return RecordState(self.state).label  # lazy: rendered in the reader's language

    @property
    def reason_shown(self) -> str:
        """Why it was proposed, in the reader's language: the daily checks' own sentences are
        written again from the record's facts; a manager's reason as the manager wrote it."""
        from accountability.daily_checks import messages  # the checks import these models

        if self.origin == RecordOrigin.MISSED_DEADLINE and self.loan and self.deadline and self.share:
            return messages.missed_deadline_reason(loan_no=self.loan.loan_no, deadline=self.deadline, share=self.share)
        if (
            self.origin == RecordOrigin.RECOVERED_IN_TIME
            and self.loan
            and self.case
            and self.case.ended_on
            and self.deadline
            and self.share
        ):
            from accountability.policy import accountability_policy

            return messages.recovered_in_time_reason(
                loan_no=self.loan.loan_no,
                recovered_on=self.case.ended_on,
                deadline=self.deadline,
                share=self.share,
                bonus=self.amount if self.record_type == RecordType.BONUS else None,
                bonus_rate=accountability_policy().bonus_rate,
                cash=self.cash_recovered or 0,
                in_kind=self.in_kind_value or 0,
            )
        return self.reason

    def decision_refusal(self, user: Any, *, in_scope: bool | None = None) -> str | None:
        """Why `user` may not decide this record (None: they may): accountability.permissions.

        `in_scope` may be passed when the record was read through `visible_to(user)` already.
        """
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return _("Log in first.")
        if in_scope is None:
            in_scope = AccountabilityRecord.objects.visible_to(user).filter(pk=self.pk).exists()
        return decision_refusal(
            role=user.role,
            actor_id=user.pk,
            in_scope=in_scope,
            officer_id=self.officer_id,
            proposed_by_id=self.proposed_by_id,
        )

    def decisions(self) -> list[tuple[str, str]]:
        """The decisions open in the record's state, as (transition, button label), the main one
        first: its transitions whose conditions hold and that a person decides (those with a
        permission; "to be lifted" is the system's). Who may decide is `decision_refusal`."""
        open_now = [t for t in self.get_available_state_transitions() if t.permission is not None]
        open_now.sort(key=lambda t: t.custom.get("order", 1))
        return [(t.name, str(t.custom.get(f"label_{self.kind}", t.custom["label"]))) for t in open_now]

    def decision_choices(self) -> list[tuple[str, str, str]]:
        """`decisions()` with the question each button asks first: what will happen, for whom."""
        return [(code, label, self.confirmation(code)) for code, label in self.decisions()]

    def confirmation(self, decision: str) -> str:
        """The question asked before `decision` (none of them can be undone)."""
        values = {"type": str(self.get_record_type_display()).lower(), "name": self.officer.display_name}
        question = _CONFIRMATIONS.get((decision, self.kind)) or _CONFIRMATIONS[(decision, "")]
        return str(question) % values

    # --- transitions: only the record's own fields change here ---------------------------------
    # `custom["label"]` is the decision's button (`label_<kind>` where a kind says it otherwise),
    # `order` its place (the main decision first); a transition from several states may be two
    # decorators, one label each.

    @transition(
        field=state,
        source=RecordState.PROPOSED,
        target=RecordState.IMPOSED,
        permission=_may_decide,
        custom={"label": _("Impose"), "label_reward": _("Grant")},
    )
    def impose(self, *, by: User, reason: str) -> None:
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason

    @transition(
        field=state,
        source=RecordState.PROPOSED,
        target=RecordState.WAIVED,
        permission=_may_decide,
        custom={"label": _("Waive"), "order": 2},
    )
    def waive(self, *, by: User, reason: str) -> None:
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason

    @transition(
        field=state,
        source=[RecordState.PROPOSED, RecordState.IMPOSED],
        target=RecordState.TO_BE_LIFTED,
        conditions=[_is_sanction],
    )
    def mark_to_be_lifted(self, *, reason: str) -> None:
        self.close_reason = reason

    @transition(
        field=state,
        source=[RecordState.IMPOSED, RecordState.TO_BE_LIFTED],
        target=RecordState.LIFTED,
        conditions=[_is_sanction],
        permission=_may_decide,
        custom={"label": _("Lift")},
    )
    def lift(self, *, by: User, reason: str) -> None:
        self.closed_by, self.closed_at, self.close_reason = by, timezone.now(), reason

    @transition(
        field=state,
        source=RecordState.PROPOSED,
        target=RecordState.HONOURED,
        conditions=[_is_reward],
        permission=_may_decide,
        custom={"label": _("Grant and honour"), "order": 0},
    )
    @transition(
        field=state,
        source=RecordState.IMPOSED,
        target=RecordState.HONOURED,
        conditions=[_is_reward],
        permission=_may_decide,
        custom={"label": _("Honour")},
    )
    def honour(self, *, by: User, reason: str) -> None:
        if self.decided_by_id is None:
            self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason
        self.closed_by, self.closed_at, self.close_reason = by, timezone.now(), reason


# --- what the daily checks found ------------------------------------------------------------------


class DeadlineReminder(models.Model):
    """A reminder sent to a division's officers before its time limit: one per window (30/7/1)."""

    assignment = models.ForeignKey(ResponsibilityAssignment, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    deadline = models.DateField()
    sent_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("assignment__branch")

    class Meta:
        ordering = ["-sent_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "days_before"], name="reminder_once_per_window"),
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day reminder, division {self.assignment_id}"


class LimitationWarning(models.Model):
    """A warning that a case's claim runs out (90/30 days before), one per window and expiry date."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="limitation_warnings")
    days_before = models.PositiveSmallIntegerField()
    expires_on = models.DateField()
    sent_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("case__branch")

    class Meta:
        ordering = ["-sent_on", "-id"]
        constraints = [
            # A new payment or acknowledgement moves the expiry: the warnings start again.
            models.UniqueConstraint(
                fields=["case", "days_before", "expires_on"], name="limitation_warning_once_per_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day limitation warning, case {self.case_id}"


class PromiseAlert(models.Model):
    """A promise to pay falling due today, or found broken: one per promise and event."""

    class Event(models.TextChoices):
        DUE = "due", _("Due today")
        BROKEN = "broken", _("Broken")

    promise = models.ForeignKey(PromiseToPay, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=10, choices=Event.choices)
    found_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("case__branch")

    class Meta:
        ordering = ["-found_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["promise", "event"], name="promise_alert_once")]

    def __str__(self) -> str:
        return f"Promise {self.promise_id} {self.event}"


class LoansByLoansFlag(models.Model):
    """A new loan that a manager reviews (the prevention page), of one of three kinds:

    - "loans by loans": a new loan to the borrower of an overdue loan (or a related party) close to
      a repayment of it, or to a fall of its balance reported by the book (a ledger entry);
    - "interest by loans": the same when only the interest fell;
    - "first pay off, then increase": a new loan in an import to a borrower or group that has a
      non-performing loan, or lent by an officer or branch with missed time limits.
    """

    class Kind(models.TextChoices):
        LOANS_BY_LOANS = "loans_by_loans", _("Loans by loans")
        INTEREST_BY_LOANS = "interest_by_loans", _("Interest by loans")
        FIRST_PAY_OFF = "first_pay_off", _("First pay off, then increase")

    class Relation(models.TextChoices):
        SAME_BORROWER = "same_borrower", _("Same borrower")
        GUARANTOR = "guarantor", _("Guarantor of the overdue loan")
        SAME_GROUP = "same_group", _("Same group")
        OFFICER_MISSED = "officer_missed", _("Lent by an officer with missed time limits")
        BRANCH_MISSED = "branch_missed", _("Lent by a branch with missed time limits")

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        CONFIRMED = "confirmed", _("Confirmed")
        CLEARED = "cleared", _("Cleared (explained)")

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.LOANS_BY_LOANS)
    new_loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="+")
    # The older loan repaid (or non-performing, for "first pay off"); none when only the officer or
    # the branch is the reason.
    overdue_loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # What fell: a recorded recovery (the daily check) or a ledger entry (a fall reported by the book).
    repayment = models.ForeignKey(Recovery, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    ledger_entry = models.ForeignKey(
        "ledger.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="refinancing_flags"
    )
    relation = models.CharField(max_length=20, choices=Relation.choices)
    # The branch of the new loan (whose lending is in question).
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    lending_officer = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    repaid_on = models.DateField(null=True, blank=True)
    repaid_amount = money(null=True, blank=True)
    disbursed_on = models.DateField()
    new_loan_principal = money()
    found_on = models.DateField()
    # The import that found it, and the row of the loan concerned (the import report's warning).
    import_batch = models.ForeignKey(
        "loans.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    row_no = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    review_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-found_on", "-id"]
        constraints = [
            # One refinancing flag per new loan and overdue loan (the closest repayment is named).
            models.UniqueConstraint(
                fields=["new_loan", "overdue_loan"],
                condition=~Q(kind="first_pay_off"),
                name="loans_by_loans_once_per_loan_pair",
            ),
            # One "first pay off" flag per new loan (the strongest reason is named).
            models.UniqueConstraint(
                fields=["new_loan"], condition=Q(kind="first_pay_off"), name="first_pay_off_once_per_loan"
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "status"], name="loans_by_loans_branch_status"),
            # The dashboard's flags not cleared, those to review first:
            # WHERE status IN ('open', 'confirmed') ORDER BY status DESC, found_on DESC, id DESC.
            models.Index(
                fields=["status", "found_on", "id"],
                condition=Q(status__in=["open", "confirmed"]),
                name="flag_not_cleared",
            ),
            # Does a fall reported by the book count yet? WHERE ledger_entry_id = %s AND status <> 'cleared'.
            models.Index(fields=["ledger_entry"], condition=Q(ledger_entry__isnull=False), name="flag_ledger_entry"),
        ]

    @property
    def days_apart(self) -> int | None:
        return None if self.repaid_on is None else (self.disbursed_on - self.repaid_on).days

    def __str__(self) -> str:
        return f"Loan {self.new_loan_id} flagged ({self.kind}) beside loan {self.overdue_loan_id}"


class WatchListEntry(models.Model):
    """A performing loan that may turn bad, as found on `as_of` (one row per day and loan; old days
    are pruned, the month-end snapshot keeps the long history)."""

    as_of = models.DateField()
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    five_level_class = models.CharField(max_length=20, choices=Loan.FIVE_LEVEL_CHOICES)
    days_past_due = models.PositiveIntegerField()
    outstanding_principal = money()
    # Comma-separated accountability.rules.WatchReason codes.
    reasons = models.CharField(max_length=100)
    # The first day of the loan's current stay on the list.
    first_seen_on = models.DateField()

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-as_of", "-days_past_due", "id"]
        verbose_name_plural = "watch list entries"
        constraints = [models.UniqueConstraint(fields=["as_of", "loan"], name="watch_list_once_per_day")]
        indexes = [
            models.Index(fields=["as_of", "branch"], name="watch_list_day_branch"),
            models.Index(fields=["officer", "as_of"], name="watch_list_officer_day"),
            # The watch list's sort orders on the day shown (accountability/tables.py offers only these):
            # WHERE as_of = %s ORDER BY <column>, id.
            models.Index(fields=["as_of", "days_past_due", "id"], name="watch_list_day_dpd"),
            models.Index(fields=["as_of", "outstanding_principal", "id"], name="watch_list_day_outstanding"),
            models.Index(fields=["as_of", "first_seen_on", "id"], name="watch_list_day_first_seen"),
        ]

    @property
    def reason_codes(self) -> list[WatchReason]:
        return [WatchReason(r) for r in self.reasons.split(",") if r]

    def __str__(self) -> str:
        return f"Loan {self.loan_id} on the watch list of {self.as_of}"


class MonthEndClose(models.Model):
    """The claim on a month's snapshot: inserted first, in the snapshot's transaction, so a second
    run (or a second worker) for the same month finds it taken and writes nothing."""

    month = models.DateField(unique=True, help_text="The first day of the month.")
    as_of = models.DateField(help_text="The month's last day, whose closing figures the rows hold.")
    taken_at = models.DateTimeField(default=timezone.now)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Month end {self.month:%Y-%m}"


class MonthEndSnapshot(models.Model):
    """Figures at a month's end per branch, responsible officer, product and borrower kind: what
    dashboards trend from (the dashboard's product and borrower-kind filters apply to past months).

    Small by design (months x branches x officers x products x kinds rows); a dashboard sums the
    rows of a branch subtree and never reads the loans table. Money recovered and value taken in
    kind are kept apart. Months closed before issue 13 have one row per branch and officer, with
    product and borrower kind empty.
    """

    month = models.DateField(help_text="The first day of the month.")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    product = models.CharField(max_length=100, blank=True, default="")
    borrower_kind = models.CharField(max_length=30, blank=True, default="")

    loans = models.PositiveIntegerField(default=0)
    outstanding_principal = money(default=0)
    normal_count = models.PositiveIntegerField(default=0)
    normal_balance = money(default=0)
    special_mention_count = models.PositiveIntegerField(default=0)
    special_mention_balance = money(default=0)
    substandard_count = models.PositiveIntegerField(default=0)
    substandard_balance = money(default=0)
    doubtful_count = models.PositiveIntegerField(default=0)
    doubtful_balance = money(default=0)
    loss_count = models.PositiveIntegerField(default=0)
    loss_balance = money(default=0)
    npl_count = models.PositiveIntegerField(default=0)
    npl_balance = money(_("non-performing balance"), default=0)
    # The four-level scheme's non-performing classes, beside the five-level ones.
    overdue_count = models.PositiveIntegerField(default=0)
    overdue_balance = money(default=0)
    idle_count = models.PositiveIntegerField(default=0)
    idle_balance = money(default=0)
    bad_debt_count = models.PositiveIntegerField(default=0)
    bad_debt_balance = money(default=0)
    # Interest receivable at the month's end, on and off the balance sheet apart.
    interest_on_balance = money(default=0)
    interest_off_balance = money(default=0)
    specific_provision = money(default=0)
    # Recoveries received in the month.
    cash_recovered = money(default=0)
    in_kind_value = money(_("value taken in kind"), default=0)
    # Collection costs the bank bore that were incurred in the month, what debtors paid back of
    # such costs in the month, and net recovery (case_rules.net_recovery).
    costs_borne = money(default=0)
    costs_repaid = money(default=0)
    net_recovery = money(default=0)
    open_cases = models.PositiveIntegerField(default=0)
    cases_past_deadline = models.PositiveIntegerField(default=0)

    objects = scoped_manager("branch")

    class Meta:
        ordering = ["-month", "branch", "officer"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "branch", "officer", "product", "borrower_kind"],
                condition=Q(officer__isnull=False),
                name="snapshot_once_per_month_cell",
            ),
            # Loans without a responsible officer: one row per month, branch, product and kind.
            models.UniqueConstraint(
                fields=["month", "branch", "product", "borrower_kind"],
                condition=Q(officer__isnull=True),
                name="snapshot_once_per_month_cell_no_officer",
            ),
        ]
        indexes = [
            # Trends of a branch subtree: WHERE branch_id IN (...) AND month BETWEEN ... GROUP BY month.
            models.Index(fields=["branch", "month"], name="snapshot_branch_month"),
            # An officer's trend.
            models.Index(fields=["officer", "month"], name="snapshot_officer_month"),
            # The whole bank's trend of one product (and borrower kind).
            models.Index(fields=["product", "borrower_kind", "month"], name="snapshot_product_kind_month"),
        ]

    def __str__(self) -> str:
        where = f"branch {self.branch_id} officer {self.officer_id}"
        return f"{self.month:%Y-%m} {where} ({self.product}, {self.borrower_kind})"


class DailyCheckRun(models.Model):
    """One run of one daily check (by beat, the command or a rerun): when, where, what it did."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    check_name = models.CharField(max_length=40)
    as_of = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # Which process ran it: "celery@host pid 123" or "command".
    runner = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["check_name", "as_of"], name="daily_check_run_name_day")]

    def __str__(self) -> str:
        return f"{self.check_name} as of {self.as_of}: {self.status}"

    @property
    def label(self) -> str:
        """The check in words (its registry entry), not its code."""
        from accountability.daily_checks.registry import CHECKS  # the registry imports these models

        check = CHECKS.get(self.check_name)
        return str(check.label) if check is not None else self.check_name

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


# --- why the loan went bad -------------------------------------------------------------------------


class CauseCategory(models.TextChoices):
    OBJECTIVE = rules.CauseCategory.OBJECTIVE.value, _("Objective")
    HUMAN = rules.CauseCategory.HUMAN.value, _("Human factors")


class CauseKind(models.TextChoices):
    MARKET = rules.CauseKind.MARKET.value, _("Market conditions")
    POLICY = rules.CauseKind.POLICY.value, _("Policy change")
    NATURAL_DISASTER = rules.CauseKind.NATURAL_DISASTER.value, _("Natural disaster")
    DEATH_OR_BANKRUPTCY = rules.CauseKind.DEATH_OR_BANKRUPTCY.value, _("Borrower's death or bankruptcy")
    LENDING_RULES_BROKEN = rules.CauseKind.LENDING_RULES_BROKEN.value, _("Lending rules broken")
    NEGLIGENCE = rules.CauseKind.NEGLIGENCE.value, _("Negligence")
    FRAUD = rules.CauseKind.FRAUD.value, _("Fraud")
    INTERFERENCE = rules.CauseKind.INTERFERENCE.value, _("Interference")


class CaseCause(models.Model):
    """Why a case's loan went bad, recorded by a manager: an objective cause, or a human one with
    the staff concerned (`CauseShare`). A human cause proposes a compensation per person
    (accountability/causes.py). One per case; recording it again replaces it (audited)."""

    Category = CauseCategory
    Kind = CauseKind

    case = models.OneToOneField(CollectionCase, on_delete=models.PROTECT, related_name="cause")
    # = case.branch, copied so scoping needs no join.
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=20, choices=CauseCategory.choices)
    kind = models.CharField(_("cause"), max_length=30, choices=CauseKind.choices)
    description = models.TextField(_("what happened"))
    # What a compensation is sized on: the loan's outstanding principal plus interest on and off the
    # balance sheet when the cause was recorded (rules.cause_loss).
    loss = money(_("loss"))
    recorded_on = models.DateField()
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("branch")

    class Meta:
        verbose_name = _("cause of the non-performing loan")
        constraints = [
            models.CheckConstraint(
                condition=Q(category="objective", kind__in=OBJECTIVE_CAUSES)
                | Q(category="human", kind__in=HUMAN_CAUSES),
                name="cause_kind_matches_category",
            ),
            models.CheckConstraint(condition=Q(loss__gte=0), name="cause_loss_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Cause of case {self.case_id}: {self.kind}"

    @property
    def is_human(self) -> bool:
        return self.category == CauseCategory.HUMAN


class CauseShare(models.Model):
    """A person concerned by a human cause and their share of it (the shares add up to 100%)."""

    cause = models.ForeignKey(CaseCause, on_delete=models.CASCADE, related_name="shares")
    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    share = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)

    objects = scoped_manager("cause__branch")

    class Meta:
        ordering = ["-share", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cause", "person"], name="cause_share_once_per_person"),
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lte=100), name="cause_share_range"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.share}%"
