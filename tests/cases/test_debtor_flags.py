"""Issue 11, item 8: borrower flags that steer the measures.

An assessment of the debtor's ability to pay (able / unable, with evidence; history kept, the latest
counts) and the court's list of dishonest debtors, recorded on the case page, audited. "Able but
unwilling" satisfies the legal measure's entry condition, as a served notice does.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from collections_app.case_rules import CaseFacts, Measure, able_but_unwilling, able_but_unwilling_why, entry_refusal
from collections_app.models import AbilityAssessment, CaseRequest, DishonestDebtorListing
from collections_app.services import (
    ability_assess,
    case_open,
    case_request_create,
    dishonest_debtor_record,
    recovery_record,
)

pytestmark = pytest.mark.django_db


def _request_legal(case, officer, today):
    return case_request_create(case=case, target="legal", actor=officer, as_of=today, reason="Sue")


def test_without_a_notice_or_an_assessment_the_legal_measure_is_refused(case, officer, today):
    with pytest.raises(ValidationError, match="able to pay but unwilling"):
        _request_legal(case, officer, today)


def test_able_but_refusing_opens_the_legal_measure_without_a_notice(case, officer, today):
    ability_assess(
        case=case,
        actor=officer,
        able_to_pay=True,
        refuses_to_pay=True,
        evidence="Owns two flats and a car; said he will not pay.",
        assessed_on=today,
    )
    request = _request_legal(case, officer, today)
    assert request.status == CaseRequest.Status.REQUESTED and request.target == "legal"


def test_able_and_paying_since_the_assessment_is_not_unwilling(case, officer, today):
    ability_assess(case=case, actor=officer, able_to_pay=True, evidence="Salary 20,000 a month", assessed_on=today)
    assert case.entry_facts().able_but_unwilling  # assessed able, nothing paid since
    recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("100.00"), as_of=today)
    assert not case.entry_facts().able_but_unwilling
    with pytest.raises(ValidationError):
        _request_legal(case, officer, today)


def test_the_latest_assessment_counts_and_the_history_is_kept(case, officer, today):
    ability_assess(
        case=case,
        actor=officer,
        able_to_pay=True,
        refuses_to_pay=True,
        evidence="Owns a shop",
        assessed_on=today - timedelta(days=30),
    )
    ability_assess(case=case, actor=officer, able_to_pay=False, evidence="The shop burnt down", assessed_on=today)
    assert AbilityAssessment.objects.filter(case=case).count() == 2
    assert not case.entry_facts().able_but_unwilling
    with pytest.raises(ValidationError):
        _request_legal(case, officer, today)


def test_the_rule_in_words():
    assert able_but_unwilling(able_to_pay=True, refuses_to_pay=True, paid_since_assessment=True)
    assert able_but_unwilling(able_to_pay=True, refuses_to_pay=False, paid_since_assessment=False)
    assert not able_but_unwilling(able_to_pay=True, refuses_to_pay=False, paid_since_assessment=True)
    assert not able_but_unwilling(able_to_pay=False, refuses_to_pay=False, paid_since_assessment=False)
    assert not able_but_unwilling(able_to_pay=None, refuses_to_pay=False, paid_since_assessment=False)
    facts = dict(
        measure="responsibility",
        collaborative_borrower=False,
        government_directed=False,
        notices_served=0,
        team_size=0,
        has_guarantor=False,
        has_collateral=False,
        has_asset_in_kind=False,
        has_judgment_or_enforcement=False,
        total_owed=Decimal("1"),
        five_level_class="substandard",
    )
    assert entry_refusal(Measure.LEGAL, CaseFacts(**facts)) is not None
    assert entry_refusal(Measure.LEGAL, CaseFacts(**facts, able_but_unwilling=True)) is None
    assert entry_refusal(Measure.LEGAL, CaseFacts(**{**facts, "notices_served": 1})) is None


def test_an_assessment_needs_evidence_and_an_unable_debtor_does_not_refuse(case, officer, today):
    with pytest.raises(ValidationError) as no_evidence:
        ability_assess(case=case, actor=officer, able_to_pay=True, evidence="  ", assessed_on=today)
    assert "evidence" in no_evidence.value.message_dict
    with pytest.raises(ValidationError) as contradiction:
        ability_assess(
            case=case, actor=officer, able_to_pay=False, refuses_to_pay=True, evidence="x", assessed_on=today
        )
    assert "refuses_to_pay" in contradiction.value.message_dict
    with pytest.raises(ValidationError) as future:
        ability_assess(case=case, actor=officer, able_to_pay=True, evidence="x", assessed_on=today + timedelta(days=1))
    assert "assessed_on" in future.value.message_dict
    assert not AbilityAssessment.objects.exists()


@pytest.mark.parametrize("persona", ["auditor", "admin_user", "outsider"])
def test_only_those_who_work_the_case_record_flags(request, case, persona, today):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        ability_assess(case=case, actor=user, able_to_pay=True, evidence="x", assessed_on=today)
    with pytest.raises(PermissionDenied):
        dishonest_debtor_record(case=case, actor=user, listed_since=today, court="County Court", reference="R-1")


def test_the_officer_records_both_on_the_case_page_and_the_page_shows_them(login, case, officer, today):
    client = login(officer)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Assess the ability to pay" in page and "not assessed" in page and "not listed" in page
    response = client.post(
        reverse("collections_app:record_create", args=[case.pk, "ability"]),
        {
            "ability-able_to_pay": "yes",
            "ability-refuses_to_pay": "on",
            "ability-evidence": "Runs a profitable restaurant",
            "ability-assessed_on": today.isoformat(),
        },
    )
    assert response.status_code == 302
    response = client.post(
        reverse("collections_app:record_create", args=[case.pk, "dishonest"]),
        {
            "dishonest-listed_since": (today - timedelta(days=10)).isoformat(),
            "dishonest-court": "Riverside County Court",
            "dishonest-reference": "(2026) 0102 Zhi 77",
        },
    )
    assert response.status_code == 302
    assessment = AbilityAssessment.objects.get()
    assert assessment.able_to_pay and assessment.refuses_to_pay and assessment.recorded_by == officer
    listing = DishonestDebtorListing.objects.get()
    assert listing.court == "Riverside County Court" and listing.recorded_by == officer
    assessed = AuditEvent.objects.get(event_type="case.ability_assessed")
    assert assessed.actor == officer and assessed.new_values["able_to_pay"] is True
    assert AuditEvent.objects.filter(event_type="case.dishonest_debtor_listed", actor=officer).count() == 1
    page = client.get(case.get_absolute_url()).content.decode()
    assert "able but unwilling" in page and "Runs a profitable restaurant" in page
    assert "(2026) 0102 Zhi 77" in page and "On the list of dishonest debtors" in page


def test_a_bad_form_names_the_field(login, case, officer, today):
    response = login(officer).post(
        reverse("collections_app:record_create", args=[case.pk, "ability"]),
        {
            "ability-able_to_pay": "no",
            "ability-refuses_to_pay": "on",
            "ability-evidence": "x",
            "ability-assessed_on": today.isoformat(),
        },
    )
    assert response.status_code == 400
    assert "leave this unticked" in response.content.decode()
    assert not AbilityAssessment.objects.exists()


# --- the court's list of dishonest debtors changes the rule (issue 11, item 8) ----------------------


def test_a_borrower_on_the_dishonest_debtors_list_is_able_but_unwilling(case, officer, today):
    """A judgment defaulter is sued without waiting for a notice, assessed or not."""
    with pytest.raises(ValidationError):
        _request_legal(case, officer, today)
    dishonest_debtor_record(case=case, actor=officer, listed_since=today, court="County Court", reference="R-1")
    facts = case.entry_facts()
    assert facts.able_but_unwilling and "dishonest debtors" in facts.able_but_unwilling_why
    request = _request_legal(case, officer, today)
    assert request.status == CaseRequest.Status.REQUESTED and request.target == "legal"


def test_the_listing_counts_over_an_assessment_of_unable_and_on_the_borrowers_other_cases(
    case, make_npl, officer, today
):
    ability_assess(case=case, actor=officer, able_to_pay=False, evidence="No income", assessed_on=today)
    other = case_open(
        loan=make_npl(loan_no="RIV-NPL-2", borrower=case.loan.borrower), actor=officer, as_of=today, reason="Late"
    )
    assert not case.entry_facts().able_but_unwilling and not other.entry_facts().able_but_unwilling
    dishonest_debtor_record(case=case, actor=officer, listed_since=today, court="County Court", reference="R-1")
    assert case.entry_facts().able_but_unwilling
    assert other.entry_facts().able_but_unwilling  # the listing is the borrower's


def test_the_rule_with_the_listing_in_words():
    listed = dict(able_to_pay=None, refuses_to_pay=False, paid_since_assessment=True, dishonest_listed=True)
    assert able_but_unwilling(**listed)
    assert able_but_unwilling(**{**listed, "able_to_pay": False})
    assert able_but_unwilling_why(**listed) == "the borrower is on a court's list of dishonest debtors"
    assert able_but_unwilling_why(able_to_pay=True, refuses_to_pay=True, paid_since_assessment=True).startswith(
        "assessed able"
    )
    assert able_but_unwilling_why(able_to_pay=False, refuses_to_pay=False, paid_since_assessment=False) == ""


def test_the_case_page_says_why_the_debtor_is_able_but_unwilling(login, case, officer, today):
    client = login(officer)
    page = client.get(case.get_absolute_url()).content.decode()
    assert 'id="able-but-unwilling"' not in page
    dishonest_debtor_record(case=case, actor=officer, listed_since=today, court="County Court", reference="R-1")
    page = client.get(case.get_absolute_url()).content.decode()
    assert 'id="able-but-unwilling"' in page
    assert "the borrower is on a court&#x27;s list of dishonest debtors" in page
    assert "may be requested without a served collection notice" in page
