"""Reads of collection cases, always scoped to the user (or, for the daily checks, to the whole book)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    PositiveSmallIntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from collections_app.case_rules import (
    EMPHASIS_INSIDER,
    EMPHASIS_OTHER,
    EMPHASIS_STRESSED,
    STRESSED_FIVE,
    STRESSED_FOUR,
    ActorFacts,
    CaseFacts,
    CollectionPolicy,
    Measure,
    MoveOption,
    OpeningFacts,
    approval_refusal,
    may_open_case,
    may_work,
    move_options,
    net_recovery,
)
from collections_app.models import (
    AbilityAssessment,
    AssetInKind,
    CaseCost,
    CaseRequest,
    CollectionCase,
    Contact,
    DishonestDebtorListing,
    GuarantorDemand,
    LegalProceeding,
    LegalStep,
    MeasureChange,
    Notice,
    PromiseToPay,
    Recovery,
)
from collections_app.policy import collection_policy, limitation_warning_window
from loans.access import get_for_user_or_404
from loans.classification import (
    ClassificationPolicy,
    FourLevel,
    days_past_due,
    effective_overdue_since,
    observation_window,
)
from loans.models import Loan
from loans.names import person_name
from loans.policy import classification_policy
from npl_recovery.compiled import CompiledQuery
from npl_recovery.db import filter_ids

QUEUE_RELATED = ("loan", "loan__borrower", "branch", "officer")


def case_queue(*, user: Any) -> QuerySet[CollectionCase]:
    """The open cases a user may see, ready for the queue table (one query per page)."""
    return CollectionCase.objects.visible_to(user).filter(is_open=True).select_related(*QUEUE_RELATED)


def limitation_alert_cutoff(as_of: date) -> date:
    """Cases whose limitation ends on or before this date show red (case_rules.limitation_alert as a query)."""
    return as_of + timedelta(days=limitation_warning_window())


def case_detail_for_user(*, user: Any, pk: int) -> CollectionCase:
    return get_for_user_or_404(
        CollectionCase.objects.select_related(
            "loan", "loan__borrower", "loan__responsible_officer", "loan__issuing_officer", "branch", "officer"
        ),
        user,
        pk=pk,
    )


# --- which loans get a case ---------------------------------------------------------------------


def _case_class_filter(*, as_of: date, policy: CollectionPolicy, classification: ClassificationPolicy) -> Q:
    """case_rules.in_case_classes as a filter on loans (one scheme or the other, or the switch)."""
    in_classes = Q(five_level_class__in=policy.case_classes["five_level"]) | Q(
        four_level_class__in=policy.case_classes["four_level"]
    )
    if policy.case_four_level_overdue:
        # DPD > technical delay <=> effective overdue date < as_of - technical delay, where the effective
        # date is the earlier of the book's overdue date and, past maturity with a balance, the maturity
        # (loans.classification.effective_overdue_since).
        cutoff = as_of - timedelta(days=classification.technical_delay_days)
        in_classes |= Q(four_level_class=FourLevel.OVERDUE) & (
            Q(overdue_since__lt=cutoff) | Q(maturity_on__lt=cutoff, owed__gt=0)
        )
    return in_classes


def loans_needing_a_case(*, as_of: date, loan_ids: Iterable[int] | None = None) -> QuerySet[Loan]:
    """The loans that may get a new case on `as_of`, as one query: the automatic opener's set.

    case_rules.may_open_case written for the database (the manual opener and the loan page ask that
    one for a single loan); tests/cases/test_eligibility.py checks, on random books, that the two agree.
    """
    classification = classification_policy()
    observation_after, observation_until = observation_window(as_of, classification)
    holds_the_claim = CollectionCase.objects.filter(loan=OuterRef("pk")).filter(
        Q(is_open=True) | Q(measure=Measure.CLOSED)
    )
    loans = (
        Loan.objects.alias(owed=F("outstanding_principal") + F("interest_on_balance") + F("interest_off_balance"))
        .filter(_case_class_filter(as_of=as_of, policy=collection_policy(), classification=classification))
        .filter(owed__gt=0)
        .exclude(Exists(holds_the_claim))
        .exclude(
            overdue_since__isnull=True, restructured_on__gt=observation_after, restructured_on__lte=observation_until
        )
        .order_by("pk")
    )
    if loan_ids is None:
        return loans
    # One array parameter however many loans (a statement takes at most 65,535 parameters).
    return filter_ids(loans, "pk", sorted(set(loan_ids)))


def emphasis_conditions(loan_path: str = "") -> list[tuple[int, Q]]:
    """case_rules.case_emphasis as filters over a loan, one per value, mutually exclusive (`loan_path`:
    "" from loans, "loan__" from cases). tests/cases/test_caliber.py checks they agree with the rule."""
    insider = ~Q(**{f"{loan_path}borrower__insider_kind": ""})
    stressed = Q(**{f"{loan_path}five_level_class__in": sorted(STRESSED_FIVE)}) | Q(
        **{f"{loan_path}four_level_class__in": sorted(STRESSED_FOUR)}
    )
    return [
        (EMPHASIS_INSIDER, insider),
        (EMPHASIS_STRESSED, ~insider & stressed),
        (EMPHASIS_OTHER, ~insider & ~stressed),
    ]


def emphasis_expression(loan_path: str = "") -> Case:
    """The same conditions as one SQL expression (the opener's INSERT writes it)."""
    return Case(
        *(When(condition, then=Value(value)) for value, condition in emphasis_conditions(loan_path)),
        output_field=PositiveSmallIntegerField(),
    )


def _opening_facts(loan: Loan, cases: Iterable[tuple[bool, str]], as_of: date) -> OpeningFacts:
    """`cases`: (is_open, measure) of each of the loan's cases."""
    cases = list(cases)
    overdue = effective_overdue_since(loan.overdue_since, loan.maturity_on, loan.total_owed, as_of)
    return OpeningFacts(
        loan_no=loan.loan_no,
        five_level_class=loan.five_level_class,
        four_level_class=loan.four_level_class,
        days_past_due=days_past_due(overdue, as_of),
        total_owed=loan.total_owed,
        overdue_since=loan.overdue_since,
        restructured_on=loan.restructured_on,
        has_open_case=any(is_open for is_open, _ in cases),
        claim_closed=any(measure == Measure.CLOSED for _, measure in cases),
    )


def opening_facts(*, loan: Loan, as_of: date) -> OpeningFacts:
    """What case_rules.may_open_case needs about one loan (one query for its cases)."""
    return _opening_facts(loan, CollectionCase.objects.filter(loan=loan).values_list("is_open", "measure"), as_of)


@dataclass(frozen=True)
class LoanCases:
    """The loan page's case buttons: the case to link to, and why no case may be opened (None: it may)."""

    case: CollectionCase | None  # the open case, else the latest one
    open_refusal: str | None

    @property
    def may_open(self) -> bool:
        return self.open_refusal is None


def loan_cases(*, loan: Loan, as_of: date) -> LoanCases:
    cases = list(
        CollectionCase.objects.filter(loan=loan)
        .order_by("-is_open", "-opened_on", "-id")
        .only("id", "measure", "is_open", "opened_on", "loan_id")
    )
    facts = _opening_facts(loan, ((c.is_open, c.measure) for c in cases), as_of)
    return LoanCases(
        case=cases[0] if cases else None,
        open_refusal=may_open_case(facts, as_of, classification_policy(), collection_policy()),
    )


@dataclass
class CaseMoves:
    facts: CaseFacts
    actor: ActorFacts
    options: list[MoveOption]
    pending: list[CaseRequest]

    @property
    def may_work(self) -> bool:
        return may_work(self.actor) is None

    @property
    def pending_decisions(self) -> list[tuple[CaseRequest, str | None]]:
        """Each open request with why this user may not decide it (None: they may)."""
        return [(r, approval_refusal(self.actor, r.requested_by_id)) for r in self.pending]


def case_moves(*, case: CollectionCase, user: Any, in_scope: bool | None = None) -> CaseMoves:
    """The move buttons of the case page, from the same rules the services enforce. `in_scope`:
    True when the case was read through `visible_to(user)` (no need to ask again)."""
    pending = list(
        CaseRequest.objects.filter(case=case, status=CaseRequest.Status.REQUESTED).select_related("requested_by")
    )
    facts = case.entry_facts()
    actor = case.actor_facts(user, in_scope=in_scope)
    options = move_options(facts, actor, {r.target: r.pk for r in pending})
    return CaseMoves(facts=facts, actor=actor, options=options, pending=pending)


# --- the timeline -----------------------------------------------------------------------------------

# kind -> (model, business date field, related rows to load, how to reach the case)
TIMELINE_SOURCES: dict[str, tuple[type, str, tuple[str, ...], str]] = {
    "contact": (Contact, "contacted_on", ("recorded_by",), "case"),
    "notice": (Notice, "served_on", ("recorded_by", "document"), "case"),
    "promise": (PromiseToPay, "promised_on", ("recorded_by",), "case"),
    "demand": (GuarantorDemand, "demanded_on", ("recorded_by", "guarantee__guarantor"), "case"),
    "proceeding": (LegalProceeding, "filed_on", ("recorded_by",), "case"),
    "step": (LegalStep, "taken_on", ("recorded_by", "proceeding", "collateral"), "proceeding__case"),
    "asset": (AssetInKind, "taken_on", ("recorded_by",), "case"),
    "recovery": (Recovery, "received_on", ("recorded_by", "asset"), "case"),
    "cost": (CaseCost, "incurred_on", ("recorded_by",), "case"),
    "move": (MeasureChange, "changed_on", ("actor", "request__requested_by"), "case"),
    "request": (CaseRequest, "requested_on", ("requested_by", "decided_by"), "case"),
    "ability": (AbilityAssessment, "assessed_on", ("recorded_by",), "case"),
    "dishonest": (DishonestDebtorListing, "listed_since", ("recorded_by",), "case"),
}


@dataclass
class TimelineEntry:
    kind: str
    on: date
    obj: Any


def _timeline_keys(case_id: int) -> QuerySet:
    """(kind, id, business date, created) of every record of the case, newest first."""
    parts = [
        model.objects.filter(**{f"{case_path}_id": case_id})
        .order_by()
        .annotate(
            k=Value(kind, output_field=CharField()),
            oid=F("pk"),
            d=F(date_field),
            t=F("created_at"),
        )
        .values_list("k", "oid", "d", "t")
        for kind, (model, date_field, _, case_path) in TIMELINE_SOURCES.items()
    ]
    return parts[0].union(*parts[1:], all=True).order_by("-d", "-t", "-oid")


# The case page reads the timeline on every view: its union is built once (npl_recovery.compiled).
_TIMELINE = CompiledQuery(_timeline_keys, "case_id")


class _TimelineRows:
    """The timeline's keys as the paginator reads them: a count and one page, by the built SQL."""

    def __init__(self, case_id: int, alias: str) -> None:
        self.case_id, self.alias = case_id, alias

    def count(self) -> int:
        return _TIMELINE.count(self.alias, case_id=self.case_id)

    def __getitem__(self, window: slice) -> list[tuple]:
        start, stop = window.start or 0, window.stop
        return _TIMELINE.tuples(
            self.alias, suffix="LIMIT %s OFFSET %s", extra=(stop - start, start), case_id=self.case_id
        )


def case_timeline(*, case: CollectionCase, page: int | str = 1, per_page: int = 15) -> tuple[Page, list[TimelineEntry]]:
    """Everything done on the case, newest first, one page: a UNION of the record tables for the
    page's keys (plus a count), then one query per kind of record on the page."""
    alias = case._state.db or "default"
    rows = _TimelineRows(case.pk, alias) if connections[alias].vendor == "postgresql" else _timeline_keys(case.pk)
    paginator = Paginator(rows, per_page)
    page_obj = paginator.get_page(page)
    keys = list(page_obj.object_list)
    by_kind: dict[str, list[int]] = {}
    for kind, oid, _, _ in keys:
        by_kind.setdefault(kind, []).append(oid)
    loaded: dict[str, dict[int, Any]] = {}
    for kind, ids in by_kind.items():
        model, _, related, _ = TIMELINE_SOURCES[kind]
        loaded[kind] = model.objects.select_related(*related).in_bulk(ids)
    entries = [TimelineEntry(kind=k, on=d, obj=loaded[k][oid]) for k, oid, d, _ in keys if oid in loaded[k]]
    return page_obj, entries


@dataclass
class RecoveryTotals:
    cash: Decimal
    in_kind: Decimal
    principal: Decimal
    interest_on_balance: Decimal
    interest_off_balance: Decimal
    # Of the money and value above, what came after the write-off (账销案存: written off, claim kept).
    after_write_off: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal:
        return self.cash + self.in_kind


def recovery_totals(*, case: CollectionCase) -> RecoveryTotals:
    """Money and value in kind kept apart: one aggregate query."""
    zero = Decimal("0")
    row = Recovery.objects.filter(case=case).aggregate(
        cash=Sum("amount", filter=Q(form=Recovery.Form.CASH)),
        in_kind=Sum("amount", filter=Q(form=Recovery.Form.IN_KIND)),
        principal=Sum("principal"),
        interest_on_balance=Sum("interest_on_balance"),
        interest_off_balance=Sum("interest_off_balance"),
        after_write_off=Sum("amount", filter=Q(after_write_off=True)),
    )
    return RecoveryTotals(**{k: v or zero for k, v in row.items()})


@dataclass
class CostTotals:
    """A case's collection costs: those the bank bore (net recovery subtracts them), what the debtor
    paid back of them, what they still owe back, and those a third party paid."""

    borne_by_bank: Decimal
    repaid: Decimal
    recoverable_outstanding: Decimal
    third_party: Decimal


def cost_totals(*, case: CollectionCase) -> CostTotals:
    """One aggregate query."""
    zero = Decimal("0")
    bank = Q(borne_by=CaseCost.BorneBy.BANK)
    row = CaseCost.objects.filter(case=case).aggregate(
        borne_by_bank=Sum("amount", filter=bank),
        repaid=Sum("recovered_amount", filter=bank),
        recoverable=Sum(F("amount") - F("recovered_amount"), filter=bank & Q(recoverable=True)),
        third_party=Sum("amount", filter=~bank),
    )
    return CostTotals(
        borne_by_bank=row["borne_by_bank"] or zero,
        repaid=row["repaid"] or zero,
        recoverable_outstanding=row["recoverable"] or zero,
        third_party=row["third_party"] or zero,
    )


@dataclass
class CaseMoney:
    """What the case page shows of money: cash and value in kind apart (from the ledger: the entries
    of the case that count as recovery), the costs, and net recovery."""

    recoveries: RecoveryTotals
    cash_recovered: Decimal
    in_kind: Decimal
    costs: CostTotals

    @property
    def net_recovery(self) -> Decimal:
        return net_recovery(
            cash_recovered=self.cash_recovered,
            costs_borne=self.costs.borne_by_bank,
            costs_repaid=self.costs.repaid,
        )


def case_money(*, case: CollectionCase) -> CaseMoney:
    from ledger.models import LedgerEntry  # the ledger app builds on this one
    from ledger.selectors import recovered_sums

    sums = recovered_sums(LedgerEntry.objects.filter(case=case))
    return CaseMoney(
        recoveries=recovery_totals(case=case),
        cash_recovered=sums.cash,
        in_kind=sums.in_kind,
        costs=cost_totals(case=case),
    )


def case_costs(*, case: CollectionCase) -> QuerySet[CaseCost]:
    return case.costs.select_related("recorded_by", "reversal", "reverses", "replaces").order_by("-incurred_on", "-id")


def case_proceedings(*, case: CollectionCase) -> QuerySet[LegalProceeding]:
    return case.proceedings.prefetch_related("steps__collateral").order_by("-filed_on", "-id")


def case_open_promises(*, case: CollectionCase) -> QuerySet[PromiseToPay]:
    return case.promises.filter(status=PromiseToPay.Status.OPEN).order_by("due_on", "id")


def pending_requests_for(*, user: Any) -> QuerySet[CaseRequest]:
    """The approvals inbox: open requests on cases in the user's branches, oldest first."""
    return (
        CaseRequest.objects.visible_to(user)
        .filter(status=CaseRequest.Status.REQUESTED)
        .select_related("case", "case__loan", "case__loan__borrower", "case__branch", "requested_by")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class InboxRow:
    request: CaseRequest
    refusal: str | None  # why this user may not decide it (None: they may)


def inbox_rows(*, user: Any, requests: Iterable[CaseRequest]) -> list[InboxRow]:
    """Each request of the inbox page with the maker-checker rule applied (no query: all are in scope)."""
    role = getattr(user, "role", "") or ("admin" if getattr(user, "is_superuser", False) else "")
    actor = ActorFacts(user_id=user.pk, role=role, in_scope=True, assigned=False)
    return [InboxRow(request=r, refusal=approval_refusal(actor, r.requested_by_id)) for r in requests]


def pending_request_count(*, user: Any) -> int:
    """The menu's badge: open requests this user may decide (one COUNT query)."""
    return pending_requests_for(user=user).exclude(requested_by=user).count()


@dataclass(frozen=True)
class DivisionShare:
    name: str
    share: Decimal
    is_lead: bool


@dataclass(frozen=True)
class Division:
    starts_on: date
    recovery_deadline: date
    shares: list[DivisionShare]


def case_current_division(*, case: CollectionCase) -> Division | None:
    """The current division of responsibility and its shares (kept by the accountability app), one query."""
    rows = list(
        case.responsibility_assignments.filter(ended_on__isnull=True)
        .order_by("-starts_on", "-id")
        .values_list(
            "starts_on",
            "recovery_deadline",
            "lead_officer_id",
            "shares__officer_id",
            "shares__officer__first_name",
            "shares__officer__last_name",
            "shares__officer__username",
            "shares__share",
        )
    )
    if not rows:
        return None
    starts_on, deadline, lead_id = rows[0][:3]
    shares = []
    for row in rows:
        if row[:3] != (starts_on, deadline, lead_id) or row[3] is None:
            continue
        first, last, username = row[4], row[5], row[6]
        name = person_name(first or "", last or "") or username
        shares.append(DivisionShare(name=name, share=row[7], is_lead=row[3] == lead_id))
    shares.sort(key=lambda s: (-s.share, s.name))
    return Division(starts_on=starts_on, recovery_deadline=deadline, shares=shares)


# --- for the daily checks (accountability) -------------------------------------------------------


def open_cases_limitation(*, expiring_on_or_before: date | None = None) -> QuerySet[CollectionCase]:
    """Open cases (written-off ones included: the claim is kept) with the date the limitation
    period runs from (`limitation_starts_on`: the last recovery, signed notice or written
    acknowledgement on the loan, else the date the debt fell due) and when it runs out
    (`limitation_expires_on`). Ordered by expiry; uses the index case_open_limitation."""
    qs = CollectionCase.objects.filter(is_open=True, limitation_expires_on__isnull=False)
    if expiring_on_or_before is not None:
        qs = qs.filter(limitation_expires_on__lte=expiring_on_or_before)
    return qs.order_by("limitation_expires_on", "id")


def promises_due_unpaid(*, as_of: date) -> QuerySet[PromiseToPay]:
    """Open promises whose due date has passed by `as_of`: candidates for promise_mark_broken."""
    return PromiseToPay.objects.filter(status=PromiseToPay.Status.OPEN, due_on__lt=as_of).order_by("due_on", "id")
