"""Recording what is done on a case: contacts, notices, promises, demands, legal steps, assets, money."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from collections_app import services
from collections_app.models import CollectionCase, PromiseToPay, Recovery
from collections_app.selectors import open_cases_limitation, promises_due_unpaid
from tests.cases.helpers import fresh
from tests.factories import CollateralFactory, GuaranteeFactory

pytestmark = pytest.mark.django_db


def test_a_recovery_pays_interest_on_balance_then_off_balance_then_principal(case, officer, today):
    recovery = services.recovery_record(
        case=case, actor=officer, received_on=today, amount=Decimal("1200.00"), paid_by="borrower", as_of=today
    )
    assert (recovery.interest_on_balance, recovery.interest_off_balance, recovery.principal) == (
        Decimal("1000.00"),
        Decimal("200.00"),
        Decimal("0.00"),
    )
    loan = fresh(case).loan
    assert (loan.interest_on_balance, loan.interest_off_balance, loan.outstanding_principal) == (
        Decimal("0.00"),
        Decimal("300.00"),
        Decimal("80000.00"),
    )
    event = AuditEvent.objects.get(event_type="case.recovery_recorded")
    assert event.actor == officer and event.new_values["amount"] == "1200.00"
    assert event.old_values["interest_on_balance"] == "1000.00"


def test_more_than_is_owed_is_refused_with_a_clear_error(case, officer, today):
    with pytest.raises(ValidationError) as error:
        services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("81500.01"))
    assert "more than the 81,500.00 owed" in error.value.message_dict["amount"][0]
    assert not Recovery.objects.exists()


def test_paying_everything_recovers_the_case_by_itself(case, officer, today):
    services.recovery_record(
        case=case, actor=officer, received_on=today, amount=Decimal("81500.00"), paid_by="guarantor", as_of=today
    )
    case = fresh(case)
    assert case.measure == "recovered" and not case.is_open and case.ended_on == today
    loan = case.loan
    assert loan.total_owed == 0 and loan.overdue_since is None and loan.arrears_cleared_on == today
    # Upgrading a non-performing loan waits for arrears to stay cleared (classification's rule).
    assert loan.five_level_class == "substandard" and loan.five_level_rule == "upgrade_held"
    assert case.measure_changes.get().to_measure == "recovered"
    assert services.cases_open_for_non_performing(as_of=today) == 0  # nothing owed: no new case


def test_a_payment_that_clears_arrears_starts_the_upgrade_wait(case, officer, today):
    services.recovery_record(
        case=case, actor=officer, received_on=today, amount=Decimal("1500.00"), arrears_cleared=True, as_of=today
    )
    loan = fresh(case).loan
    assert loan.overdue_since is None and loan.arrears_cleared_on == today
    assert fresh(case).measure == "responsibility"  # still owed: the case goes on


def test_money_received_after_write_off_still_counts(case, officer, manager, today):
    from tests.cases.helpers import write_off

    write_off(case, requester=officer, approver=manager, today=today)
    services.recovery_record(case=fresh(case), actor=officer, received_on=today, amount=Decimal("500.00"))
    assert fresh(case).loan.interest_on_balance == Decimal("500.00")


@pytest.mark.parametrize("persona", ["officer2", "auditor", "admin_user", "outsider", "outside_manager"])
def test_only_people_working_the_case_record_on_it(request, case, persona, today):
    actor = request.getfixturevalue(persona)
    calls = [
        lambda: services.recovery_record(case=case, actor=actor, received_on=today, amount=Decimal("1")),
        lambda: services.contact_record(case=case, actor=actor, kind="call", contacted_on=today, summary="x"),
        lambda: services.notice_serve(case=case, actor=actor, served_on=today, served_to="x"),
        lambda: services.promise_record(case=case, actor=actor, promised_on=today, amount=Decimal("1"), due_on=today),
        lambda: services.legal_proceeding_file(case=case, actor=actor, court="c", case_number="1", filed_on=today),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()


def test_a_promise_is_kept_by_the_payments_made_after_it(case, officer, today):
    promise = services.promise_record(
        case=case, actor=officer, promised_on=today - timedelta(days=5), amount=Decimal("1000"), due_on=today
    )
    assert fresh(case).next_promise_due == today
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("600"))
    promise.refresh_from_db()
    assert (promise.status, promise.amount_paid) == ("open", Decimal("600.00"))
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("400"))
    promise.refresh_from_db()
    assert (promise.status, promise.status_on) == ("kept", today)
    assert fresh(case).next_promise_due is None


def test_a_promise_past_its_date_is_marked_broken_once(case, officer, today):
    promise = services.promise_record(
        case=case,
        actor=officer,
        promised_on=today - timedelta(days=10),
        amount=Decimal("1000"),
        due_on=today - timedelta(days=1),
    )
    assert list(promises_due_unpaid(as_of=today)) == [promise]
    assert not services.promise_mark_broken(promise=promise, actor=None, as_of=today - timedelta(days=1))  # not yet due
    assert services.promise_mark_broken(promise=promise, actor=None, as_of=today)
    assert not services.promise_mark_broken(promise=promise, actor=None, as_of=today)  # idempotent
    promise.refresh_from_db()
    assert promise.status == PromiseToPay.Status.BROKEN
    assert AuditEvent.objects.filter(event_type="case.promise_broken").count() == 1
    assert fresh(case).next_promise_due is None


def test_a_promise_above_the_debt_or_due_before_it_was_made_is_refused(case, officer, today):
    with pytest.raises(ValidationError):
        services.promise_record(case=case, actor=officer, promised_on=today, amount=Decimal("90000"), due_on=today)
    with pytest.raises(ValidationError):
        services.promise_record(
            case=case, actor=officer, promised_on=today, amount=Decimal("10"), due_on=today - timedelta(days=1)
        )


def test_a_signed_notice_or_written_acknowledgement_restarts_the_limitation(case, officer, today):
    before = fresh(case).limitation_starts_on
    services.notice_serve(case=case, actor=officer, served_on=today - timedelta(days=3), served_to="Wang Wei")
    assert fresh(case).limitation_starts_on == before  # unsigned: no effect
    services.notice_serve(
        case=case, actor=officer, served_on=today - timedelta(days=2), served_to="Wang Wei", signed_acknowledgement=True
    )
    assert fresh(case).limitation_starts_on == today - timedelta(days=2)
    services.contact_record(
        case=case,
        actor=officer,
        kind="visit",
        contacted_on=today,
        summary="Signed a debt confirmation",
        debt_acknowledged=True,
    )
    case = fresh(case)
    assert case.limitation_starts_on == today
    assert case.limitation_expires_on == today.replace(year=today.year + 3)
    assert list(open_cases_limitation(expiring_on_or_before=case.limitation_expires_on)) == [case]
    assert list(open_cases_limitation(expiring_on_or_before=today)) == []


def test_a_payment_restarts_the_limitation(case, officer, today):
    # The payment is dated on the day the case opened: an earlier one is refused (issue 11).
    CollectionCase.objects.filter(pk=case.pk).update(opened_on=today - timedelta(days=1))
    services.recovery_record(case=case, actor=officer, received_on=today - timedelta(days=1), amount=Decimal("10"))
    assert fresh(case).limitation_starts_on == today - timedelta(days=1)


def test_a_guarantor_demand_is_for_a_guarantee_of_this_loan(case, officer, make_npl, today):
    mine = GuaranteeFactory(loan=case.loan, amount=Decimal("50000"))
    other = GuaranteeFactory(loan=make_npl())
    demand = services.guarantor_demand_record(
        case=case, actor=officer, guarantee=mine, demanded_on=today, amount=Decimal("20000")
    )
    assert demand.guarantee == mine
    with pytest.raises(ValidationError):
        services.guarantor_demand_record(case=case, actor=officer, guarantee=other, demanded_on=today, amount=1)
    with pytest.raises(ValidationError):
        services.guarantor_demand_record(case=case, actor=officer, guarantee=mine, demanded_on=today, amount=60000)


def test_court_steps_on_collateral_change_its_lien(case, officer, today):
    flat = CollateralFactory(loan=case.loan)
    proceeding = services.legal_proceeding_file(
        case=case, actor=officer, court="County Court", case_number="2026-1", filed_on=today - timedelta(days=20)
    )
    with pytest.raises(ValidationError):
        services.legal_proceeding_update(proceeding=proceeding, actor=officer, judgment_on=today - timedelta(days=30))
    services.legal_proceeding_update(proceeding=proceeding, actor=officer, judgment_on=today - timedelta(days=5))
    services.legal_proceeding_update(proceeding=proceeding, actor=officer, enforcement_order_on=today)
    proceeding.refresh_from_db()
    assert proceeding.judgment_on == today - timedelta(days=5) and proceeding.enforcement_order_on == today
    services.legal_step_record(proceeding=proceeding, actor=officer, kind="freeze", taken_on=today, collateral=flat)
    flat.refresh_from_db()
    assert flat.lien_status == "frozen"
    services.legal_step_record(proceeding=proceeding, actor=officer, kind="auction", taken_on=today, collateral=flat)
    flat.refresh_from_db()
    assert flat.lien_status == "auctioned"


def test_an_asset_taken_in_kind_is_a_recovery_in_kind_and_its_sale_is_recorded_apart(case, officer, today):
    asset = services.asset_take_in_kind(
        case=case,
        actor=officer,
        kind="vehicle",
        description="Truck",
        taken_on=today,
        appraised_value=Decimal("30000"),
        credited_amount=Decimal("25000"),
    )
    recovery = asset.recovery
    assert (recovery.form, recovery.amount) == ("in_kind", Decimal("25000.00"))
    assert fresh(case).loan.total_owed == Decimal("56500.00")
    services.asset_dispose(asset=asset, actor=officer, disposed_on=today, disposal_proceeds=Decimal("27000"))
    asset.refresh_from_db()
    assert asset.disposal_proceeds == Decimal("27000.00")
    assert fresh(case).loan.total_owed == Decimal("56500.00")  # the sale does not pay the loan twice
    with pytest.raises(ValidationError, match="already disposed"):
        services.asset_dispose(asset=asset, actor=officer, disposed_on=today, disposal_proceeds=1)
    with pytest.raises(ValidationError):
        services.asset_take_in_kind(
            case=case, actor=officer, kind="vehicle", description="Yacht", taken_on=today, appraised_value=10**6
        )


def test_every_timeline_write_is_audited_against_the_case(case, officer, today):
    services.contact_record(case=case, actor=officer, kind="call", contacted_on=today, summary="Promised to call back")
    services.notice_serve(case=case, actor=officer, served_on=today, served_to="Wang Wei")
    events = AuditEvent.objects.filter(subject_type="collections_app.collectioncase", subject_id=case.pk)
    assert {"case.opened", "case.contact_recorded", "case.notice_served"} <= set(
        events.values_list("event_type", flat=True)
    )
    assert all(e.branch_id == case.branch_id for e in events)


def test_the_responsibility_service_sets_officer_and_time_limit(case, officer, officer2, manager, today):
    deadline = today + timedelta(days=90)
    services.case_set_responsibility(
        case=case, officer=officer2, recovery_deadline=deadline, actor=manager, reason="New division of responsibility"
    )
    case = fresh(case)
    assert (case.officer, case.recovery_deadline, case.urgency_on) == (officer2, deadline, deadline)
    event = AuditEvent.objects.get(event_type="case.responsibility_set")
    assert event.old_values["officer"] == officer.pk and event.new_values["officer"] == officer2.pk
    services.case_set_responsibility(case=case, officer=officer, recovery_deadline=deadline, actor=None, reason="Daily")


def test_only_a_manager_of_the_branch_sets_responsibility_to_someone_of_the_branch(
    case, officer, officer2, outsider, outside_manager, today
):
    with pytest.raises(PermissionDenied):
        services.case_set_responsibility(
            case=case, officer=officer2, recovery_deadline=today, actor=officer, reason="x"
        )
    with pytest.raises(PermissionDenied):
        services.case_set_responsibility(
            case=case, officer=officer2, recovery_deadline=today, actor=outside_manager, reason="x"
        )
    with pytest.raises(ValidationError):
        services.case_set_responsibility(case=case, officer=outsider, recovery_deadline=today, actor=None, reason="x")
    with pytest.raises(ValidationError):
        services.case_set_responsibility(
            case=case, officer=officer2, recovery_deadline=today - timedelta(days=1), actor=None, reason="x"
        )


def test_the_stored_dates_equal_a_full_recomputation(case, officer, today):
    services.promise_record(case=case, actor=officer, promised_on=today, amount=Decimal("5"), due_on=today)
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("5"))
    stored = CollectionCase.objects.values_list("next_promise_due", "limitation_starts_on", "urgency_on").get()
    CollectionCase.objects.update(next_promise_due=None, limitation_starts_on=None, urgency_on=today)
    assert services.cases_refresh_dates() == 1
    assert CollectionCase.objects.values_list("next_promise_due", "limitation_starts_on", "urgency_on").get() == stored


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shares=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6))
def test_recorded_recoveries_plus_what_the_loan_still_owes_equal_the_original_debt(case, officer, today, shares):
    with transaction.atomic():
        loan = fresh(case).loan
        original = loan.total_owed
        for share in shares:
            owed = fresh(case).loan.total_owed
            if owed == 0:
                break
            amount = min(owed, max(Decimal("0.01"), (owed * share / 50).quantize(Decimal("0.01"))))
            services.recovery_record(case=fresh(case), actor=officer, received_on=today, amount=amount, as_of=today)
            recovered = sum(Recovery.objects.filter(case=case).values_list("amount", flat=True))
            assert recovered + fresh(case).loan.total_owed == original
            parts = Recovery.objects.filter(case=case).order_by("-id").first()
            assert parts.principal + parts.interest_on_balance + parts.interest_off_balance == parts.amount
        transaction.set_rollback(True)


def test_the_bank_sets_the_allocation_order_and_time_limit_in_npl_rules(settings, npl_loan, officer, today):
    settings.NPL_RULES = {
        "recovery_allocation_order": ["principal", "interest_on_balance", "interest_off_balance"],
        "recovery_deadline_days": 90,
    }
    case = services.case_open(loan=npl_loan, actor=officer, as_of=today, reason="x")
    assert case.recovery_deadline == today + timedelta(days=90)
    recovery = services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("100"))
    assert (recovery.principal, recovery.interest_on_balance) == (Decimal("100.00"), Decimal("0.00"))


def test_a_bad_npl_rules_value_stops_with_its_name(settings):
    from django.core.exceptions import ImproperlyConfigured

    from collections_app.policy import collection_policy

    settings.NPL_RULES = {"recovery_allocation_order": ["principal"]}
    with pytest.raises(ImproperlyConfigured, match="recovery_allocation_order"):
        collection_policy()
