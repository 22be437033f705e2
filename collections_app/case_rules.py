"""Collection rules: pure Python, no database (Django only to translate the messages).

Whether a loan gets a case, the six measures and their order, the entry condition of each move,
who may make it, how a recovery is split between principal and interest, and the limitation date. The model's
transitions, the services and the case page's move buttons all ask this module, so a rule is
written once. Figures a bank may change are fields of `CollectionPolicy` (settings.NPL_RULES).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from loans.classification import (
    FIVE_LEVEL_LABELS,
    FIVE_LEVEL_RANK,
    FOUR_LEVEL_LABELS,
    FOUR_LEVEL_RANK,
    ClassificationPolicy,
    FiveLevel,
    FourLevel,
    add_years,
    in_observation_period,
    observation_ends,
)
from npl_recovery.i18n import format_amount, format_day


class Measure(StrEnum):
    RESPONSIBILITY = "responsibility"
    COLLABORATIVE = "collaborative"
    LEGAL = "legal"
    SPECIAL_TEAM = "special_team"
    PRESSURE = "pressure"
    DISPOSAL = "disposal"
    RECOVERED = "recovered"
    REFINANCED = "refinanced"
    REVITALISED = "revitalised"
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return MEASURE_LABELS[self]


# The glossary's words (docs/GLOSSARY.md): 责任清收、协同清收、依法清收、专班清收、施压清收、处置清收 …
MEASURE_LABELS = {
    Measure.RESPONSIBILITY: gettext_lazy("1 Responsibility"),
    Measure.COLLABORATIVE: gettext_lazy("2 Collaborative"),
    Measure.LEGAL: gettext_lazy("3 Legal"),
    Measure.SPECIAL_TEAM: gettext_lazy("4 Special team"),
    Measure.PRESSURE: gettext_lazy("5 Pressure"),
    Measure.DISPOSAL: gettext_lazy("6 Disposal"),
    Measure.RECOVERED: gettext_lazy("Recovered"),
    Measure.REFINANCED: gettext_lazy("Refinanced"),
    Measure.REVITALISED: gettext_lazy("Revitalised"),
    Measure.WRITTEN_OFF: gettext_lazy("Written off"),
    Measure.CLOSED: pgettext_lazy("collection case", "Closed"),
}
# The six measures in escalation order: a case may skip forward, never go back.
ACTIVE_MEASURES: tuple[Measure, ...] = (
    Measure.RESPONSIBILITY,
    Measure.COLLABORATIVE,
    Measure.LEGAL,
    Measure.SPECIAL_TEAM,
    Measure.PRESSURE,
    Measure.DISPOSAL,
)
END_STATES: tuple[Measure, ...] = (
    Measure.RECOVERED,
    Measure.REFINANCED,
    Measure.REVITALISED,
    Measure.WRITTEN_OFF,
    Measure.CLOSED,
)
# A written-off case still holds the claim ("written off, claim kept": later money still counts and
# the limitation period still has to be kept alive), so it stays the loan's one open case until
# it is closed. Recovered, refinanced, revitalised and closed cases are finished. Refinanced (issue 11):
# the debt was paid off by a new loan ("loans by loans"), never a recovery and never rewarded.
OPEN_STATES: tuple[Measure, ...] = (*ACTIVE_MEASURES, Measure.WRITTEN_OFF)
FINISHED_STATES: tuple[Measure, ...] = (Measure.RECOVERED, Measure.REFINANCED, Measure.REVITALISED, Measure.CLOSED)
MEASURE_RANK = {m: i for i, m in enumerate(ACTIVE_MEASURES)}

# Moves an officer may make directly; every other move is requested and a manager approves it.
OFFICER_MOVES = frozenset({Measure.COLLABORATIVE, Measure.PRESSURE, Measure.RECOVERED, Measure.REFINANCED})
MANAGER_MOVES = frozenset(
    {
        Measure.LEGAL,
        Measure.SPECIAL_TEAM,
        Measure.DISPOSAL,
        Measure.REVITALISED,
        Measure.WRITTEN_OFF,
        Measure.CLOSED,
    }
)
MOVE_TARGETS: tuple[Measure, ...] = (*ACTIVE_MEASURES[1:], *END_STATES)


def sources_of(target: Measure) -> tuple[Measure, ...]:
    """The states a move to `target` may start from (forward only, skipping allowed)."""
    if target in MEASURE_RANK:
        return tuple(m for m in ACTIVE_MEASURES if MEASURE_RANK[m] < MEASURE_RANK[target])
    if target == Measure.CLOSED:
        return (Measure.WRITTEN_OFF,)
    if target in (Measure.RECOVERED, Measure.REFINANCED):
        # Money recovered after a write-off still counts: a written-off claim paid in full is recovered.
        return (*ACTIVE_MEASURES, Measure.WRITTEN_OFF)
    return ACTIVE_MEASURES


def needs_manager(target: Measure) -> bool:
    return target in MANAGER_MOVES


# --- opening a case ----------------------------------------------------------------------------


# Full caliber (issue 11): a loan gets a case when it is non-performing under EITHER scheme. The
# classes are CollectionPolicy.case_classes; four-level overdue past the technical delay is the switch
# CollectionPolicy.case_four_level_overdue. selectors.loans_needing_a_case is this rule as one query.
DEFAULT_CASE_CLASSES: Mapping[str, tuple[str, ...]] = {
    "five_level": (FiveLevel.SUBSTANDARD.value, FiveLevel.DOUBTFUL.value, FiveLevel.LOSS.value),
    "four_level": (FourLevel.IDLE.value, FourLevel.BAD_DEBT.value),
}


def in_case_classes(
    *,
    five_level_class: str,
    four_level_class: str,
    days_past_due: int,
    policy: CollectionPolicy,
    classification: ClassificationPolicy,
) -> bool:
    """Whether the loan's classes put it in the case caliber (the class part of may_open_case)."""
    if five_level_class in policy.case_classes["five_level"]:
        return True
    if four_level_class in policy.case_classes["four_level"]:
        return True
    return (
        policy.case_four_level_overdue
        and four_level_class == FourLevel.OVERDUE
        and days_past_due > classification.technical_delay_days
    )


def case_classes_words(policy: CollectionPolicy) -> str:
    """The case caliber in words, for the refusal message ("substandard, doubtful, loss; idle, bad debt")."""
    five = [
        FIVE_LEVEL_LABELS[FiveLevel(c)].lower()
        for c in sorted(policy.case_classes["five_level"], key=FIVE_LEVEL_RANK.get)
    ]
    four = [
        FOUR_LEVEL_LABELS[FourLevel(c)].lower()
        for c in sorted(policy.case_classes["four_level"], key=FOUR_LEVEL_RANK.get)
    ]
    if policy.case_four_level_overdue:
        four.insert(0, _("overdue past the technical delay"))
    return _("five levels: %(five)s; four levels: %(four)s") % {
        "five": ", ".join(five) or "-",
        "four": ", ".join(four) or "-",
    }


@dataclass(frozen=True)
class OpeningFacts:
    """What decides whether a loan gets a new collection case, read once from the database."""

    loan_no: str
    five_level_class: str
    total_owed: Decimal
    overdue_since: date | None
    restructured_on: date | None
    has_open_case: bool
    # One of the loan's cases was closed: recourse is exhausted and the claim is not pursued again.
    claim_closed: bool
    four_level_class: str = FourLevel.NORMAL.value
    # Days past due counted from the effective overdue date (past maturity is overdue).
    days_past_due: int = 0


def may_open_case(
    facts: OpeningFacts,
    as_of: date,
    policy: ClassificationPolicy,
    collection: CollectionPolicy | None = None,
) -> str | None:
    """Why the loan may not get a new case on `as_of` (None: it may).

    The manual opener and the loan page ask this for one loan. The automatic opener takes the set
    from collections_app.selectors.loans_needing_a_case, the same rule as one query; a hypothesis
    test (tests/cases/test_eligibility.py) keeps the two equal.
    """
    collection = collection or CollectionPolicy()
    if not in_case_classes(
        five_level_class=facts.five_level_class,
        four_level_class=facts.four_level_class,
        days_past_due=facts.days_past_due,
        policy=collection,
        classification=policy,
    ):
        return _(
            "Loan %(loan)s is %(class)s (four levels: %(four)s): cases are opened for loans non-performing "
            "under either scheme (%(classes)s)."
        ) % {
            "loan": facts.loan_no,
            "class": FIVE_LEVEL_LABELS[FiveLevel(facts.five_level_class)].lower(),
            "four": FOUR_LEVEL_LABELS[FourLevel(facts.four_level_class)].lower(),
            "classes": case_classes_words(collection),
        }
    if facts.total_owed <= 0:
        return _("Nothing is owed on loan %(loan)s.") % {"loan": facts.loan_no}
    if facts.has_open_case:
        return _("Loan %(loan)s already has an open case.") % {"loan": facts.loan_no}
    if facts.claim_closed:
        return _("The claim on loan %(loan)s is closed: its case was closed when recourse was exhausted.") % {
            "loan": facts.loan_no
        }
    if facts.overdue_since is None and in_observation_period(facts.restructured_on, as_of, policy):
        # A revitalised loan is non-performing by the floor of its observation period, not by arrears.
        return _(
            "Loan %(loan)s is in its observation period after restructuring (until %(ends)s) and nothing is "
            "overdue: it needs no case unless it falls into arrears again."
        ) % {"loan": facts.loan_no, "ends": observation_ends(facts.restructured_on, policy).isoformat()}
    return None


# --- emphasis: the queue's first order ------------------------------------------------------------

# The guideline's emphasis (issue 11, items 4 and 8), lower first: "first inside, then outside" (an
# insider or related-party borrower), then idle, doubtful and loss loans (and their interest), then
# the rest. Stored on the case (CollectionCase.emphasis) so the queue's order is served by an index.
EMPHASIS_INSIDER = 0
EMPHASIS_STRESSED = 1
EMPHASIS_OTHER = 2
EMPHASIS_LABELS = {
    EMPHASIS_INSIDER: gettext_lazy("Insider first"),
    EMPHASIS_STRESSED: gettext_lazy("Idle, doubtful or loss"),
    EMPHASIS_OTHER: gettext_lazy("Other"),
}
STRESSED_FIVE: frozenset[str] = frozenset({FiveLevel.DOUBTFUL.value, FiveLevel.LOSS.value})
STRESSED_FOUR: frozenset[str] = frozenset({FourLevel.IDLE.value})


def case_emphasis(*, insider: bool, five_level_class: str, four_level_class: str) -> int:
    """The case's place in the queue's first order (selectors.emphasis_expression is the same as SQL)."""
    if insider:
        return EMPHASIS_INSIDER
    if five_level_class in STRESSED_FIVE or four_level_class in STRESSED_FOUR:
        return EMPHASIS_STRESSED
    return EMPHASIS_OTHER


# --- entry conditions --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    """What the entry conditions look at, read once from the database."""

    measure: str
    collaborative_borrower: bool  # government agency, enterprise, village collective, institution
    government_directed: bool
    notices_served: int
    team_size: int
    has_guarantor: bool
    has_collateral: bool
    has_asset_in_kind: bool
    has_judgment_or_enforcement: bool
    total_owed: Decimal
    five_level_class: str
    # Issue 11, from the loan's ledger since the case opened: how much the balance fell by a
    # refinancing (a new loan paid it), and by anything else that brought in no money (reported by
    # the book and not yet classified, a correction). Recovered needs both 0; refinanced the first.
    refinanced_fall: Decimal = Decimal("0")
    other_fall: Decimal = Decimal("0")
    # The latest assessment of the debtor's ability to pay says able, yet the debtor refuses or has
    # paid nothing since; or the borrower is on a court's list of dishonest debtors (able_but_unwilling
    # below). `able_but_unwilling_why` says which (empty when not).
    able_but_unwilling: bool = False
    able_but_unwilling_why: str = ""
    # An asset of the borrower or of a guarantor in the register (legal.DebtorAsset), not yet sold.
    has_registered_asset: bool = False


def able_but_unwilling_why(
    *,
    able_to_pay: bool | None,
    refuses_to_pay: bool,
    paid_since_assessment: bool,
    dishonest_listed: bool = False,
) -> str:
    """ "Able but unwilling" (issue 11, item 8), and why ("" when not): the borrower is on a court's list
    of dishonest debtors (a judgment defaulter: the court found them able to perform and unwilling), or
    the latest assessment found the debtor able to pay and the debtor refuses to pay or has paid nothing
    since it. `able_to_pay` None: never assessed."""
    if dishonest_listed:
        return _("the borrower is on a court's list of dishonest debtors")
    if able_to_pay and refuses_to_pay:
        return _("assessed able to pay, and the debtor refuses to pay")
    if able_to_pay and not paid_since_assessment:
        return _("assessed able to pay, and nothing paid since the assessment")
    return ""


def able_but_unwilling(
    *, able_to_pay: bool | None, refuses_to_pay: bool, paid_since_assessment: bool, dishonest_listed: bool = False
) -> bool:
    """ "Able but unwilling": see able_but_unwilling_why, the one rule."""
    return bool(
        able_but_unwilling_why(
            able_to_pay=able_to_pay,
            refuses_to_pay=refuses_to_pay,
            paid_since_assessment=paid_since_assessment,
            dishonest_listed=dishonest_listed,
        )
    )


def entry_refusal(target: Measure, facts: CaseFacts) -> str | None:
    """Why the case may not enter `target` now (None: it may). Conditions of DOMAIN.md."""
    current = Measure(facts.measure)
    if current not in sources_of(target):
        if current == target:
            return _("The case is already in %(measure)s.") % {"measure": target.label.lower()}
        if current in MEASURE_RANK and target in MEASURE_RANK:
            return _("Escalation never goes back: the case is already in %(measure)s.") % {
                "measure": current.label.lower()
            }
        return _("Not possible from %(measure)s.") % {"measure": current.label.lower()}
    if target == Measure.COLLABORATIVE and not (facts.collaborative_borrower or facts.government_directed):
        return _(
            "Only for loans to government agencies, enterprises, village collectives and institutions, "
            "or government-directed loans."
        )
    # The legal measure's entry condition: a served collection notice, OR a debtor able to pay but
    # unwilling (assessed so, or on a court's list of dishonest debtors): such a debtor is sued without
    # waiting for a notice.
    if target == Measure.LEGAL and facts.notices_served < 1 and not facts.able_but_unwilling:
        return _(
            "Serve and record at least one collection notice first, or record an assessment that the debtor "
            "is able to pay but unwilling, or the borrower's listing as a dishonest debtor."
        )
    if target == Measure.SPECIAL_TEAM and facts.team_size < 2:
        return _("Name a special team of at least 2 members first (now %(n)s).") % {"n": facts.team_size}
    if target == Measure.PRESSURE and not (
        facts.has_guarantor or facts.has_collateral or facts.has_asset_in_kind or facts.has_registered_asset
    ):
        return _("The loan has no guarantor, no collateral and no recorded asset.")
    if target == Measure.DISPOSAL and not facts.has_judgment_or_enforcement:
        return _("Record a legal proceeding with a judgment or an enforcement order first.")
    if target in (Measure.RECOVERED, Measure.REFINANCED) and facts.total_owed > 0:
        return _("%(amount)s is still outstanding.") % {"amount": format_amount(facts.total_owed)}
    if target == Measure.RECOVERED and facts.refinanced_fall > 0:
        return _("%(amount)s of the debt was paid by refinancing, not by money: the case ends refinanced.") % {
            "amount": format_amount(facts.refinanced_fall)
        }
    if target == Measure.RECOVERED and facts.other_fall > 0:
        return _(
            "%(amount)s of the debt fell without money coming in (reported by the book or corrected): "
            "classify it first."
        ) % {"amount": format_amount(facts.other_fall)}
    if target == Measure.REFINANCED and facts.refinanced_fall <= 0:
        return _("Nothing was refinanced: a debt paid by money is recovered.")
    if target == Measure.REVITALISED and facts.total_owed <= 0:
        return _("Nothing is outstanding: the case is recovered, not revitalised.")
    if target == Measure.WRITTEN_OFF and facts.five_level_class != "loss":
        return _("Only a loss-class loan may be written off.")
    return None


# --- who may ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActorFacts:
    """The acting user as the role rules see them, relative to one case."""

    user_id: int | None
    role: str  # officer, manager, admin, auditor ("" for anonymous)
    in_scope: bool  # the case's branch is within the user's branches
    assigned: bool  # the case's officer or a member of its special team


def may_work(actor: ActorFacts) -> str | None:
    """Why the user may not work the case (record, request, officer moves). None: they may."""
    if actor.role == "officer":
        if not actor.in_scope:
            return _("This case is outside your branch.")
        if not actor.assigned:
            return _("Only the case's responsible officer, its special team or a manager may work this case.")
        return None
    if actor.role == "manager":
        return None if actor.in_scope else _("This case is outside your branches.")
    if actor.role == "auditor":
        return _("Auditors read; they change nothing.")
    if actor.role == "admin":
        return _("Administrators manage the system; collection work is done by officers and managers.")
    return _("You may not work collection cases.")


def move_refusal(target: Measure, actor: ActorFacts) -> str | None:
    """The role rule of a move itself (who may perform the transition)."""
    refusal = may_work(actor)
    if refusal:
        return refusal
    if needs_manager(target) and actor.role != "manager":
        return _("%(measure)s needs a manager's approval.") % {"measure": target.label}
    return None


def approval_refusal(actor: ActorFacts, requested_by_id: int | None) -> str | None:
    """Maker-checker: a manager of the case's branches who did not make the request."""
    if actor.role != "manager":
        return _("Only a manager may approve or reject a request.")
    if not actor.in_scope:
        return _("This case is outside your branches.")
    if requested_by_id is not None and actor.user_id == requested_by_id:
        return _("You made this request: another manager must decide it.")
    return None


@dataclass(frozen=True)
class MoveOption:
    """One button on the case page: what it does, whether it is possible, and why not."""

    target: Measure
    mode: str  # "move" (done now) or "request" (a manager approves later)
    refusal: str | None
    pending_request_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def label(self) -> str:
        return MOVE_LABELS[self.target]


# The case page's button for each move.
MOVE_LABELS = {
    Measure.COLLABORATIVE: gettext_lazy("Move to collaborative"),
    Measure.LEGAL: gettext_lazy("Request legal action"),
    Measure.SPECIAL_TEAM: gettext_lazy("Request a special team"),
    Measure.PRESSURE: gettext_lazy("Move to pressure"),
    Measure.DISPOSAL: gettext_lazy("Request disposal"),
    Measure.RECOVERED: gettext_lazy("Mark recovered"),
    Measure.REFINANCED: gettext_lazy("Mark refinanced"),
    Measure.REVITALISED: gettext_lazy("Request revitalisation"),
    Measure.WRITTEN_OFF: gettext_lazy("Request write-off"),
    Measure.CLOSED: gettext_lazy("Request closing"),
}


def move_options(facts: CaseFacts, actor: ActorFacts, pending: Mapping[str, int] | None = None) -> list[MoveOption]:
    """Every move reachable from the current state, with the reason a disabled one is disabled.

    Moves that are impossible from here whatever anyone does (backwards, or from an end state)
    are left out; the rest are shown, disabled with a reason when a condition or role is missing.
    """
    pending = pending or {}
    current = Measure(facts.measure)
    options = []
    for target in MOVE_TARGETS:
        if current not in sources_of(target):
            continue
        mode = "request" if needs_manager(target) else "move"
        refusal = may_work(actor) or entry_refusal(target, facts)
        pending_id = pending.get(target.value)
        if refusal is None and pending_id is not None:
            refusal = _("Already requested: waiting for a manager.")
        options.append(MoveOption(target=target, mode=mode, refusal=refusal, pending_request_id=pending_id))
    return options


# --- policy -------------------------------------------------------------------------------------

ALLOCATION_PARTS = ("interest_on_balance", "interest_off_balance", "principal")


@dataclass(frozen=True)
class CollectionPolicy:
    """Every figure the collection rules use. Defaults follow DOMAIN.md."""

    # Days from opening to the recovery time limit of a new case.
    recovery_deadline_days: int = 180
    # The claim dies this long after the last payment, acknowledgement or signed notice.
    limitation_years: int = 3
    # The order a recovery pays the debt. Default: interest before principal (the civil-law default
    # for a payment that does not cover the whole debt), and the older interest first: interest stays
    # on balance sheet for the first 90 days past due and only then moves off it.
    recovery_allocation_order: tuple[str, ...] = ALLOCATION_PARTS
    # Full caliber: the classes of each scheme whose loans get a case ({"five_level": [...],
    # "four_level": [...]}; a scheme left out keeps its default).
    case_classes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CASE_CLASSES))
    # Also open cases for four-level overdue loans past the technical delay (off by default).
    case_four_level_overdue: bool = False
    # A recovery first repays the collection costs the bank bore and the debtor owes back (oldest
    # first), then the loan in `recovery_allocation_order`. Off by default: the loan first.
    recover_costs_first: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.recover_costs_first, bool):
            raise ValueError(
                f"collection policy: recover_costs_first must be true or false, got {self.recover_costs_first!r}"
            )
        for name in ("recovery_deadline_days", "limitation_years"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"collection policy: {name} must be a whole number >= 1, got {value!r}")
        order = tuple(self.recovery_allocation_order)
        if sorted(order) != sorted(ALLOCATION_PARTS):
            raise ValueError(
                "collection policy: recovery_allocation_order must name each of "
                f"{', '.join(ALLOCATION_PARTS)} once, got {list(order)!r}"
            )
        object.__setattr__(self, "recovery_allocation_order", order)
        if not isinstance(self.case_classes, Mapping) or set(self.case_classes) - set(DEFAULT_CASE_CLASSES):
            raise ValueError(
                "collection policy: case_classes must be an object with the keys five_level and four_level, "
                f"got {self.case_classes!r}"
            )
        known = {"five_level": {c.value for c in FiveLevel}, "four_level": {c.value for c in FourLevel}}
        classes = {}
        for scheme, default in DEFAULT_CASE_CLASSES.items():
            chosen = self.case_classes.get(scheme, default)
            if isinstance(chosen, str) or not set(chosen) <= known[scheme]:
                raise ValueError(
                    f"collection policy: case_classes[{scheme!r}] must be a list of {sorted(known[scheme])}, "
                    f"got {chosen!r}"
                )
            if "normal" in chosen:
                raise ValueError(f"collection policy: case_classes[{scheme!r}] cannot hold normal loans")
            classes[scheme] = tuple(sorted(set(chosen)))
        object.__setattr__(self, "case_classes", classes)
        if not isinstance(self.case_four_level_overdue, bool):
            raise ValueError(
                "collection policy: case_four_level_overdue must be true or false, "
                f"got {self.case_four_level_overdue!r}"
            )


# --- recovery allocation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    principal: Decimal
    interest_on_balance: Decimal
    interest_off_balance: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest_on_balance + self.interest_off_balance

    def minus(self, allocation: Allocation) -> Owed:
        return Owed(
            principal=self.principal - allocation.principal,
            interest_on_balance=self.interest_on_balance - allocation.interest_on_balance,
            interest_off_balance=self.interest_off_balance - allocation.interest_off_balance,
        )


@dataclass(frozen=True)
class Allocation:
    principal: Decimal
    interest_on_balance: Decimal
    interest_off_balance: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest_on_balance + self.interest_off_balance


def net_recovery(*, cash_recovered: Decimal, costs_borne: Decimal, costs_repaid: Decimal) -> Decimal:
    """Net recovery in money: the cash recovered on the loan, minus the collection costs the bank
    bore, plus what the debtor paid back of those costs (cash too). Value taken in kind is not in it."""
    return cash_recovered - costs_borne + costs_repaid


class RecoveryExceedsDebt(ValueError):
    pass


def allocate_recovery(amount: Decimal, owed: Owed, order: Iterable[str] = ALLOCATION_PARTS) -> Allocation:
    """Split `amount` over the parts of the debt in `order`, each part paid in full before the next.

    Refuses a non-positive amount and an amount above what is owed. Amounts are in cents already.
    """
    if amount <= 0:
        raise RecoveryExceedsDebt(_("A recovery must be a positive amount."))
    if amount > owed.total:
        raise RecoveryExceedsDebt(
            _("%(amount)s is more than the %(owed)s owed.")
            % {"amount": format_amount(amount), "owed": format_amount(owed.total)}
        )
    left = amount
    parts: dict[str, Decimal] = {}
    for part in order:
        take = min(left, getattr(owed, part))
        parts[part] = take
        left -= take
    return Allocation(**parts)


# --- limitation and urgency ---------------------------------------------------------------------


def limitation_start(
    *,
    overdue_since: date | None,
    last_recovery_on: date | None,
    last_signed_notice_on: date | None,
    last_acknowledgement_on: date | None,
    last_suit_filed_on: date | None = None,
    last_enforcement_applied_on: date | None = None,
) -> date | None:
    """The date the limitation period runs from: the latest of a payment, a written acknowledgement,
    a notice served with the debtor's signed receipt, filing a suit (or arbitration) and applying for
    enforcement: each restarts the period.

    With none recorded it runs from the date the debt fell due (the loan's overdue_since).
    """
    candidates = (
        overdue_since,
        last_recovery_on,
        last_signed_notice_on,
        last_acknowledgement_on,
        last_suit_filed_on,
        last_enforcement_applied_on,
    )
    dates = [d for d in candidates if d]
    return max(dates) if dates else None


def limitation_expires(start: date | None, policy: CollectionPolicy) -> date | None:
    return add_years(start, policy.limitation_years) if start else None


def urgency_date(*dates: date | None) -> date | None:
    """The next date something is due on a case: the queue is ordered by it."""
    present = [d for d in dates if d is not None]
    return min(present) if present else None


def default_recovery_deadline(opened_on: date, policy: CollectionPolicy) -> date:
    return opened_on + timedelta(days=policy.recovery_deadline_days)


# --- what the officer must not miss ---------------------------------------------------------------


class LimitationAlert(StrEnum):
    BARRED = "barred"  # the limitation period has run out: the claim is time-barred
    NEAR = "near"  # it runs out within the warning window


def limitation_alert(expires_on: date | None, as_of: date, warning_days: int) -> LimitationAlert | None:
    """Whether a claim's limitation end must be shown in red on `as_of`.

    `warning_days` is the widest of the daily checks' limitation warnings (accountability policy
    `limitation_warning_days`; collections_app.policy.limitation_warning_window gives it), so the page
    turns red when the first warning goes out. The queue's filter is the same rule as a query
    (selectors.limitation_alert_cutoff).
    """
    if expires_on is None:
        return None
    if expires_on < as_of:
        return LimitationAlert.BARRED
    if expires_on <= as_of + timedelta(days=warning_days):
        return LimitationAlert.NEAR
    return None


def promise_after_time_limit(due_on: date, recovery_deadline: date) -> str | None:
    """A warning (not a refusal) for a promise to pay due after the case's recovery time limit."""
    if due_on <= recovery_deadline:
        return None
    return _(
        "The promise is due on %(due)s, after the case's time limit of %(deadline)s: the time limit will be "
        "missed unless the borrower pays earlier."
    ) % {"due": format_day(due_on), "deadline": format_day(recovery_deadline)}


def move_consequence(target: Measure) -> str:
    """What a move does, in words, for the confirmation the user sees before an irreversible step."""
    if target in MEASURE_RANK:
        return _("The case moves to %(measure)s; it can never go back to an earlier measure.") % {
            "measure": target.label
        }
    if target == Measure.RECOVERED:
        return _("The case ends as recovered: nothing is outstanding. This cannot be undone.")
    if target == Measure.REVITALISED:
        return _(
            "The loan is restructured and enters its observation period; the case ends as revitalised. "
            "This cannot be undone."
        )
    if target == Measure.WRITTEN_OFF:
        return _(
            "The loan is written off. The claim is kept (written off, claim kept) and money recovered later "
            "still counts. This cannot be undone."
        )
    return _("The case is closed: recourse is exhausted and the claim is not pursued again. This cannot be undone.")
