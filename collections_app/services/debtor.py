"""What the bank knows about the debtor that steers the measures (issue 11, item 8): an assessment of
the ability to pay (able / unable, with evidence; history kept, the latest counts) and the court's list
of dishonest debtors. "Able but unwilling" opens the legal measure (case_rules.entry_refusal)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from collections_app.models import AbilityAssessment, CollectionCase, DishonestDebtorListing
from collections_app.services._common import _audit, _lock, _not_future, _require_work, _save
from loans.models import User


@transaction.atomic
def ability_assess(
    *,
    case: CollectionCase,
    actor: User,
    able_to_pay: bool,
    evidence: str,
    assessed_on: date,
    refuses_to_pay: bool = False,
) -> AbilityAssessment:
    """Record an assessment of the debtor's ability to pay; it replaces the previous one as the one
    that counts (the earlier ones stay in the history)."""
    case = _lock(case)
    _require_work(case, actor)
    _not_future(assessed_on, "assessed_on")
    if not (evidence or "").strip():
        raise ValidationError({"evidence": _("Say what the assessment rests on (income, assets, statements).")})
    if refuses_to_pay and not able_to_pay:
        raise ValidationError(
            {"refuses_to_pay": _("A debtor assessed unable to pay is not refusing: leave this unticked.")}
        )
    assessment = _save(
        AbilityAssessment(
            case=case,
            able_to_pay=able_to_pay,
            refuses_to_pay=refuses_to_pay,
            evidence=evidence.strip(),
            assessed_on=assessed_on,
            recorded_by=actor,
        )
    )
    _audit(
        case,
        actor,
        "case.ability_assessed",
        new={
            "assessment": assessment.pk,
            "able_to_pay": able_to_pay,
            "refuses_to_pay": refuses_to_pay,
            "assessed_on": assessed_on,
        },
        reason=assessment.evidence,
    )
    return assessment


@transaction.atomic
def dishonest_debtor_record(
    *, case: CollectionCase, actor: User, listed_since: date, court: str, reference: str
) -> DishonestDebtorListing:
    """Record that the debtor is on a court's list of dishonest debtors."""
    case = _lock(case)
    _require_work(case, actor)
    _not_future(listed_since, "listed_since")
    listing = _save(
        DishonestDebtorListing(
            case=case,
            listed_since=listed_since,
            court=(court or "").strip(),
            reference=(reference or "").strip(),
            recorded_by=actor,
        )
    )
    _audit(
        case,
        actor,
        "case.dishonest_debtor_listed",
        new={
            "listing": listing.pk,
            "listed_since": listed_since,
            "court": listing.court,
            "reference": listing.reference,
        },
    )
    return listing
