"""Legal recourse through its services: the case file, hearings, decisions, enforcement,
preservation orders, the debtor's assets; bad input refused with the field named, nothing written."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from collections_app.case_rules import Measure
from collections_app.models import CollectionCase, LegalProceeding, Recovery
from collections_app.services import case_move, contact_record
from legal import services
from legal.models import DebtorAsset, Hearing, PreservationOrder
from loans.models import Collateral
from tests.factories import CollateralFactory, GuaranteeFactory

pytestmark = pytest.mark.django_db


def test_a_proceeding_is_a_case_file_with_forum_claim_and_lawyer(proceeding):
    assert proceeding.forum == LegalProceeding.Forum.COURT
    assert proceeding.claim_total == Decimal("81500.00")
    assert proceeding.status == LegalProceeding.Status.FILED
    event = AuditEvent.objects.get(event_type="case.legal_filed")
    assert event.new_values["claim"] == "81500.00"


def test_filing_a_suit_restarts_the_limitation_period(case, officer, today):
    before = CollectionCase.objects.get(pk=case.pk).limitation_starts_on
    from collections_app.services import legal_proceeding_file

    legal_proceeding_file(
        case=case, actor=officer, court="Court", case_number="A-1", filed_on=today - timedelta(days=3)
    )
    case.refresh_from_db()
    assert before < today - timedelta(days=3) == case.limitation_starts_on


def test_applying_for_enforcement_restarts_the_limitation_period(proceeding, officer, today, filed_on):
    services.decision_record(
        proceeding=proceeding,
        actor=officer,
        decision_kind="judgment",
        decided_on=filed_on + timedelta(days=30),
        served_on=filed_on + timedelta(days=32),
        awarded_amount=Decimal("81500"),
        performance_deadline=filed_on + timedelta(days=60),
    )
    services.enforcement_apply(proceeding=proceeding, actor=officer, applied_on=today - timedelta(days=1))
    case = CollectionCase.objects.get(pk=proceeding.case_id)
    assert case.limitation_starts_on == today - timedelta(days=1)


def test_a_hearing_before_the_filing_date_is_refused_and_nothing_is_written(proceeding, officer, filed_on):
    with pytest.raises(ValidationError) as exc:
        services.hearing_record(
            proceeding=proceeding, actor=officer, held_on=filed_on - timedelta(days=1), place="Room 3"
        )
    assert "held_on" in exc.value.message_dict
    assert "before the proceeding was filed" in exc.value.message_dict["held_on"][0]
    assert not Hearing.objects.exists()
    assert not AuditEvent.objects.filter(event_type="legal.hearing_recorded").exists()
    # The filing day itself is allowed, and a coming hearing too.
    services.hearing_record(proceeding=proceeding, actor=officer, held_on=filed_on, place="Room 3")
    assert Hearing.objects.count() == 1


def test_the_decision_sets_the_appeal_and_enforcement_deadlines(proceeding, officer, filed_on):
    decided = filed_on + timedelta(days=40)
    p = services.decision_record(
        proceeding=proceeding,
        actor=officer,
        decision_kind="judgment",
        decided_on=decided,
        served_on=decided + timedelta(days=2),
        awarded_amount=Decimal("80000"),
        performance_deadline=decided + timedelta(days=30),
    )
    assert p.appeal_deadline == decided + timedelta(days=17)
    assert p.enforcement_deadline == (decided + timedelta(days=30)).replace(
        year=(decided + timedelta(days=30)).year + 2
    )
    assert p.status == LegalProceeding.Status.DECIDED and p.judgment_on == decided


def test_an_expiry_before_the_ruling_is_refused_and_nothing_is_written(proceeding, officer, today):
    flat = CollateralFactory(loan=proceeding.case.loan)
    with pytest.raises(ValidationError) as exc:
        services.preservation_order_record(
            proceeding=proceeding,
            actor=officer,
            kind="seal",
            asset_kind="real_estate",
            description="Flat",
            ruling_on=today - timedelta(days=5),
            expires_on=today - timedelta(days=6),
            collateral=flat,
        )
    assert "expires_on" in exc.value.message_dict
    assert not PreservationOrder.objects.exists()
    flat.refresh_from_db()
    assert flat.lien_status == Collateral.LienStatus.FREE


def test_a_seal_on_real_estate_defaults_to_3_years_and_seals_the_collateral(proceeding, officer, today):
    flat = CollateralFactory(loan=proceeding.case.loan)
    ruling = today - timedelta(days=5)
    order = services.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="seal",
        asset_kind="real_estate",
        description="Flat",
        ruling_on=ruling,
        collateral=flat,
    )
    assert order.expires_on == ruling.replace(year=ruling.year + 3) - timedelta(days=1)
    flat.refresh_from_db()
    assert flat.lien_status == Collateral.LienStatus.SEALED


def test_renewal_before_expiry_moves_it_a_lapsed_order_cannot_be_renewed(proceeding, officer, today):
    order = services.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="freeze",
        asset_kind="bank_account",
        description="Account 6222 ...",
        ruling_on=today - timedelta(days=20),
        expires_on=today - timedelta(days=1),
    )
    with pytest.raises(ValidationError) as exc:
        services.preservation_order_renew(
            order=order, actor=officer, renewed_on=today, expires_on=today + timedelta(days=365)
        )
    assert "lapsed" in exc.value.message_dict["renewed_on"][0]
    renewed = services.preservation_order_renew(
        order=order, actor=officer, renewed_on=today - timedelta(days=1), expires_on=today + timedelta(days=365)
    )
    assert renewed.expires_on == today + timedelta(days=365) and renewed.renewals == 1
    released = services.preservation_order_release(order=order, actor=officer, released_on=today, reason="Paid")
    assert released.released_on == today


def test_enforcement_ended_for_lack_of_assets_is_recorded_and_can_be_resumed(proceeding, officer, filed_on, today):
    services.decision_record(
        proceeding=proceeding, actor=officer, decision_kind="mediation", decided_on=filed_on + timedelta(days=10)
    )
    services.enforcement_apply(
        proceeding=proceeding, actor=officer, applied_on=filed_on + timedelta(days=20), enforcement_case_number="Zhi 9"
    )
    p = services.enforcement_terminate(proceeding=proceeding, actor=officer, ruled_on=filed_on + timedelta(days=50))
    assert p.status == LegalProceeding.Status.ENFORCEMENT_ENDED
    assert AuditEvent.objects.filter(event_type="legal.enforcement_terminated", subject_id=proceeding.case_id).exists()
    with pytest.raises(ValidationError):
        services.enforcement_resume(proceeding=proceeding, actor=officer, resumed_on=today, reason=" ")
    p = services.enforcement_resume(proceeding=proceeding, actor=officer, resumed_on=today, reason="New account found")
    assert p.status == LegalProceeding.Status.ENFORCEMENT
    assert CollectionCase.objects.get(pk=proceeding.case_id).limitation_starts_on == today


def test_a_court_deduction_posts_as_a_recovery_by_court_enforcement(proceeding, officer, filed_on, today):
    services.decision_record(
        proceeding=proceeding, actor=officer, decision_kind="judgment", decided_on=filed_on + timedelta(days=10)
    )
    services.enforcement_apply(proceeding=proceeding, actor=officer, applied_on=filed_on + timedelta(days=20))
    recovery = services.court_deduction_record(
        proceeding=proceeding, actor=officer, received_on=today, amount=Decimal("1000")
    )
    assert recovery.paid_by == Recovery.PaidBy.COURT_ENFORCEMENT and recovery.amount == Decimal("1000.00")


def test_a_registered_asset_opens_the_pressure_measure(case, officer, branch, today, npl_loan):
    with pytest.raises(Exception, match="no recorded asset"):
        case_move(case=case, actor=officer, target=Measure.PRESSURE, as_of=today)
    asset = services.debtor_asset_register(
        actor=officer,
        branch=branch,
        borrower=npl_loan.borrower,
        kind="vehicle",
        description="Truck, plate A-12345",
        found_on=today,
        estimated_value=Decimal("30000"),
    )
    case_move(case=case, actor=officer, target=Measure.PRESSURE, as_of=today)
    assert CollectionCase.objects.get(pk=case.pk).measure == Measure.PRESSURE
    # Its sale brings a recovery on the case.
    services.debtor_asset_sell(asset=asset, case=case, actor=officer, sold_on=today, proceeds=Decimal("25000"))
    asset.refresh_from_db()
    assert asset.sale_proceeds == Decimal("25000.00")
    assert Recovery.objects.filter(case=case, amount=Decimal("25000.00")).exists()


def test_a_guarantors_asset_counts_and_an_auditor_may_not_record_one(case, officer, auditor, branch, today, npl_loan):
    guarantee = GuaranteeFactory(loan=npl_loan)
    with pytest.raises(PermissionDenied):
        services.debtor_asset_register(
            actor=auditor,
            branch=branch,
            guarantor=guarantee.guarantor,
            kind="equity",
            description="Shares",
            found_on=today,
            estimated_value=Decimal("1"),
        )
    assert not DebtorAsset.objects.exists()


def test_an_officer_of_another_branch_may_not_record_on_the_proceeding(proceeding, outsider, today):
    with pytest.raises(PermissionDenied):
        services.hearing_record(proceeding=proceeding, actor=outsider, held_on=today, place="Room 1")


def test_a_contact_with_acknowledgement_still_restarts_the_period(case, officer, today):
    contact_record(case=case, actor=officer, kind="visit", contacted_on=today, summary="Signed", debt_acknowledged=True)
    assert CollectionCase.objects.get(pk=case.pk).limitation_starts_on == today


def test_a_lawyers_fee_goes_into_the_cases_costs_with_the_court_case_number(proceeding, officer, today):
    from collections_app.models import CaseCost

    cost = services.proceeding_fee_record(
        proceeding=proceeding, actor=officer, kind="lawyer", amount=Decimal("3000"), incurred_on=today
    )
    assert cost.kind == CaseCost.Kind.LAWYER and cost.source_document == proceeding.case_number
    assert cost.case_id == proceeding.case_id and cost.amount == Decimal("3000.00")
    with pytest.raises(ValidationError):
        services.proceeding_fee_record(
            proceeding=proceeding, actor=officer, kind="travel", amount=Decimal("1"), incurred_on=today
        )
