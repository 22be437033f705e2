"""The six measures: who may move a case, when, and that escalation never goes back."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_fsm import has_transition_perm

from audit.models import AuditEvent
from collections_app import services
from collections_app.case_rules import MANAGER_MOVES, OFFICER_MOVES, Measure
from collections_app.models import CaseRequest, CollectionCase, MeasureChange
from tests.cases.helpers import fresh, request_extra, satisfy, unsatisfy, write_off

pytestmark = pytest.mark.django_db

OFFICER_TARGETS = sorted(m.value for m in OFFICER_MOVES)
MANAGER_TARGETS = sorted(m.value for m in MANAGER_MOVES)
# Everyone, and whether they may work a Riverside case assigned to `officer`.
WORKERS = ["officer", "manager", "manager2", "head_manager"]
NOT_WORKERS = ["officer2", "outlet_officer", "admin_user", "auditor", "outsider", "outside_manager"]
APPROVERS = ["manager2", "head_manager"]  # `manager` made the request in the approval tests
NOT_APPROVERS = [
    "manager",
    "officer",
    "officer2",
    "outlet_officer",
    "admin_user",
    "auditor",
    "outsider",
    "outside_manager",
]


@pytest.mark.parametrize("target", OFFICER_TARGETS)
@pytest.mark.parametrize("persona", WORKERS)
def test_officer_moves_are_made_by_the_case_officer_and_managers_of_the_branch(
    request, case, officer, target, persona, today
):
    satisfy(case, target, actor=officer, today=today)
    actor = request.getfixturevalue(persona)
    services.case_move(
        case=case, target=target, actor=actor, as_of=today, reason="next step", seen_measure=case.measure
    )
    case = fresh(case)
    assert case.measure == target
    change = MeasureChange.objects.get(case=case)
    assert (change.from_measure, change.to_measure, change.actor) == ("responsibility", target, actor)
    event = AuditEvent.objects.get(event_type="case.moved", subject_id=case.pk)
    assert event.old_values == {"measure": "responsibility"} and event.new_values == {"measure": target}
    assert event.actor == actor


@pytest.mark.parametrize("target", OFFICER_TARGETS)
@pytest.mark.parametrize("persona", NOT_WORKERS)
def test_officer_moves_are_refused_to_everyone_else(request, case, officer, target, persona, today):
    satisfy(case, target, actor=officer, today=today)
    with pytest.raises(PermissionDenied):
        services.case_move(case=case, target=target, actor=request.getfixturevalue(persona), as_of=today)
    assert fresh(case).measure == "responsibility"
    assert not AuditEvent.objects.filter(event_type="case.moved").exists()


@pytest.mark.parametrize("target", MANAGER_TARGETS)
def test_moves_that_need_a_manager_cannot_be_made_directly(case, officer, manager, target, today):
    for actor in (officer, manager):
        with pytest.raises(ValidationError, match="needs a manager's approval"):
            services.case_move(case=case, target=target, actor=actor, as_of=today)


def _ready_for(case, target, officer, manager, today):
    """Satisfy the entry condition; a case is closed from written off."""
    if target == "closed":
        write_off(case, requester=officer, approver=manager, today=today)
        return fresh(case)
    satisfy(case, target, actor=officer, today=today)
    return case


@pytest.mark.parametrize("target", MANAGER_TARGETS)
@pytest.mark.parametrize("persona", APPROVERS)
def test_a_manager_who_did_not_ask_approves_and_the_case_moves(
    request, case, officer, manager, manager2, target, persona, today
):
    case = _ready_for(
        case, target, officer, manager2 if persona == "head_manager" else request.getfixturevalue("head_manager"), today
    )
    asked = services.case_request_create(
        case=case, target=target, actor=manager, as_of=today, reason="Needed", **request_extra(target)
    )
    approver = request.getfixturevalue(persona)
    services.case_request_approve(request=asked, actor=approver, as_of=today, reason="Agreed")
    case = fresh(case)
    assert case.measure == target
    asked.refresh_from_db()
    assert (asked.status, asked.decided_by, asked.requested_by) == ("approved", approver, manager)
    assert MeasureChange.objects.filter(case=case, to_measure=target, request=asked, actor=approver).exists()
    events = set(AuditEvent.objects.filter(subject_id=case.pk).values_list("event_type", flat=True))
    assert {"case.move_requested", "case.request_approved", "case.moved"} <= events


@pytest.mark.parametrize("target", MANAGER_TARGETS)
@pytest.mark.parametrize("persona", NOT_APPROVERS)
def test_nobody_else_approves_and_nobody_approves_their_own_request(
    request, case, officer, manager, head_manager, target, persona, today
):
    case = _ready_for(case, target, officer, head_manager, today)
    asked = services.case_request_create(
        case=case, target=target, actor=manager, as_of=today, reason="Needed", **request_extra(target)
    )
    before = fresh(case).measure
    with pytest.raises(PermissionDenied):
        services.case_request_approve(request=asked, actor=request.getfixturevalue(persona), as_of=today)
    with pytest.raises(PermissionDenied):
        services.case_request_reject(request=asked, actor=request.getfixturevalue(persona), reason="no")
    assert fresh(case).measure == before
    asked.refresh_from_db()
    assert asked.status == "requested"


@pytest.mark.parametrize("persona", NOT_WORKERS)
def test_only_people_working_the_case_may_request_a_move(request, case, officer, persona, today):
    satisfy(case, "legal", actor=officer, today=today)
    with pytest.raises(PermissionDenied):
        services.case_request_create(
            case=case, target="legal", actor=request.getfixturevalue(persona), as_of=today, reason="sue"
        )


def test_the_officer_requests_legal_and_the_manager_approves(case, officer, manager, today):
    satisfy(case, "legal", actor=officer, today=today)
    asked = services.case_request_create(
        case=case, target="legal", actor=officer, as_of=today, reason="Refuses to pay", seen_measure="responsibility"
    )
    assert fresh(case).measure == "responsibility"  # nothing moves until a manager approves
    with pytest.raises(ValidationError, match="already requested"):
        services.case_request_create(case=case, target="legal", actor=officer, as_of=today, reason="again")
    services.case_request_approve(request=asked, actor=manager, as_of=today)
    assert fresh(case).measure == "legal"
    with pytest.raises(ValidationError, match="already approved"):
        services.case_request_approve(request=asked, actor=manager, as_of=today)


def test_a_rejected_request_needs_a_reason_and_leaves_the_case_where_it_was(case, officer, manager, today):
    satisfy(case, "legal", actor=officer, today=today)
    asked = services.case_request_create(case=case, target="legal", actor=officer, as_of=today, reason="sue")
    with pytest.raises(ValidationError):
        services.case_request_reject(request=asked, actor=manager, reason=" ")
    services.case_request_reject(request=asked, actor=manager, reason="Try the guarantor first")
    asked.refresh_from_db()
    assert (asked.status, asked.decided_by, asked.decision_reason) == ("rejected", manager, "Try the guarantor first")
    assert fresh(case).measure == "responsibility"
    event = AuditEvent.objects.get(event_type="case.request_rejected")
    assert event.actor == manager and event.reason == "Try the guarantor first"


# --- entry conditions -------------------------------------------------------------------------------

ALL_TARGETS = [m.value for m in Measure if m != Measure.RESPONSIBILITY and m != Measure.CLOSED]


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_each_entry_condition_not_met_refuses_the_move(case, officer, manager, target, today):
    unsatisfy(case, target)
    if target in OFFICER_TARGETS:
        if target == "recovered":
            pass  # the fixture loan still owes money
        with pytest.raises(ValidationError):
            services.case_move(case=case, target=target, actor=officer, as_of=today)
    else:
        with pytest.raises(ValidationError):
            services.case_request_create(
                case=case, target=target, actor=officer, as_of=today, reason="x", **request_extra(target)
            )
    assert fresh(case).measure == "responsibility"


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_each_entry_condition_met_allows_the_move(case, officer, manager, target, today):
    satisfy(case, target, actor=officer, today=today)
    if target in OFFICER_TARGETS:
        services.case_move(case=case, target=target, actor=officer, as_of=today)
    else:
        asked = services.case_request_create(
            case=case, target=target, actor=officer, as_of=today, reason="x", **request_extra(target)
        )
        services.case_request_approve(request=asked, actor=manager, as_of=today)
    assert fresh(case).measure == target


def test_a_government_directed_loan_may_go_collaborative_whatever_the_borrower(case, officer, today):
    unsatisfy(case, "collaborative")
    case.loan.__class__.objects.filter(pk=case.loan_id).update(government_directed=True)
    services.case_move(case=case, target="collaborative", actor=officer, as_of=today)
    assert fresh(case).measure == "collaborative"


@pytest.mark.parametrize("via", ["collateral", "asset"])
def test_pressure_also_opens_with_collateral_or_an_asset_taken(case, officer, via, today):
    from tests.factories import CollateralFactory

    if via == "collateral":
        CollateralFactory(loan=case.loan)
    else:
        services.asset_take_in_kind(
            case=case, actor=officer, kind="vehicle", description="Truck", taken_on=today, appraised_value=1000
        )
    services.case_move(case=case, target="pressure", actor=officer, as_of=today)
    assert fresh(case).measure == "pressure"


def test_a_case_is_closed_only_from_written_off(case, officer, manager, today):
    with pytest.raises(ValidationError, match="Not possible"):
        services.case_request_create(case=case, target="closed", actor=officer, as_of=today, reason="done")


def test_escalation_may_skip_measures_but_never_goes_back(case, officer, today):
    satisfy(case, "pressure", actor=officer, today=today)
    services.case_move(case=case, target="pressure", actor=officer, as_of=today)  # 1 -> 5 directly
    satisfy(case, "collaborative", actor=officer, today=today)
    with pytest.raises(ValidationError, match="never goes back"):
        services.case_move(case=fresh(case), target="collaborative", actor=officer, as_of=today)
    satisfy(case, "legal", actor=officer, today=today)
    with pytest.raises(ValidationError, match="never goes back"):
        services.case_request_create(case=fresh(case), target="legal", actor=officer, as_of=today, reason="x")


def test_a_pending_request_lapses_when_the_case_moves_past_it(case, officer, today):
    satisfy(case, "legal", actor=officer, today=today)
    asked = services.case_request_create(case=case, target="legal", actor=officer, as_of=today, reason="sue")
    satisfy(case, "pressure", actor=officer, today=today)
    services.case_move(case=case, target="pressure", actor=officer, as_of=today)
    asked.refresh_from_db()
    assert asked.status == CaseRequest.Status.LAPSED


def test_the_measure_cannot_be_assigned_directly(case):
    with pytest.raises(AttributeError):
        case.measure = "legal"


def test_the_transitions_permission_and_conditions_say_what_the_rules_say(
    case, officer, officer2, manager, auditor, today
):
    satisfy(case, "pressure", actor=officer, today=today)
    satisfy(case, "legal", actor=officer, today=today)
    case = CollectionCase.objects.get(pk=case.pk)
    assert has_transition_perm(case.to_pressure, officer)
    assert has_transition_perm(case.to_pressure, manager)
    assert not has_transition_perm(case.to_pressure, officer2)
    assert not has_transition_perm(case.to_pressure, auditor)
    assert has_transition_perm(case.to_legal, manager)
    assert not has_transition_perm(case.to_legal, officer)  # the officer requests; a manager moves
    assert not has_transition_perm(case.to_collaborative, officer)  # individual borrower: condition unmet
    names = {t.name for t in case.get_available_user_measure_transitions(officer)}
    assert names == {"to_pressure"}


def test_a_written_off_case_keeps_the_claim_and_is_closed_later(case, officer, manager, manager2, today):
    write_off(case, requester=officer, approver=manager, today=today)
    case = fresh(case)
    assert case.measure == "written_off" and case.is_open and case.ended_on == today
    loan = case.loan
    loan.refresh_from_db()
    assert loan.written_off_on == today and loan.four_level_class == "bad_debt" and loan.five_level_class == "loss"
    asked = services.case_request_create(case=case, target="closed", actor=officer, as_of=today, reason="Exhausted")
    services.case_request_approve(request=asked, actor=manager2, as_of=today)
    case = fresh(case)
    assert case.measure == "closed" and not case.is_open
    assert services.cases_open_for_non_performing(as_of=today) == 0  # a closed claim is not reopened


def test_revitalising_restructures_the_loan_and_finishes_the_case(case, officer, manager, today):
    asked = services.case_request_create(case=case, target="revitalised", actor=officer, as_of=today, reason="New plan")
    services.case_request_approve(request=asked, actor=manager, as_of=today)
    case = fresh(case)
    assert case.measure == "revitalised" and not case.is_open
    loan = case.loan
    loan.refresh_from_db()
    assert loan.restructured_on == today and loan.overdue_since is None and loan.arrears_cleared_on == today
    assert loan.five_level_class == "substandard" and loan.five_level_rule in (
        "restructured_observation",
        "upgrade_held",
    )
    assert services.cases_open_for_non_performing(as_of=today) == 0  # in observation: no new case


def test_a_finished_case_takes_no_more_records(case, officer, manager, today):
    asked = services.case_request_create(case=case, target="revitalised", actor=officer, as_of=today, reason="New plan")
    services.case_request_approve(request=asked, actor=manager, as_of=today)
    with pytest.raises(ValidationError, match="nothing more is recorded"):
        services.contact_record(case=fresh(case), actor=officer, kind="call", contacted_on=today, summary="hello")
