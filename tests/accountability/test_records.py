"""Sanctions and rewards: the system proposes, another manager decides, every decision is kept."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accountability.daily_checks import check_run
from accountability.models import AccountabilityRecord
from accountability.services import (
    RecordChanged,
    case_recovered_in_time,
    record_decide,
    record_propose,
)
from audit.models import AuditEvent
from collections_app.models import CollectionCase
from collections_app.services import asset_take_in_kind, recovery_record
from notifications.models import Notification
from tests.accountability.conftest import OPENED, divide, open_npl_case

pytestmark = pytest.mark.django_db

DEADLINE = date(2026, 6, 30)


@pytest.fixture
def sanction(npl_case):
    check_run(name="deadline_missed", as_of=npl_case.recovery_deadline + timedelta(days=1))
    return AccountabilityRecord.objects.get()


def decide(record, decision, actor, reason="", seen_state=None):
    return record_decide(record=record, decision=decision, actor=actor, reason=reason, seen_state=seen_state)


# --- deciding ----------------------------------------------------------------------------------------


def test_manager_imposes_a_proposed_sanction_and_it_is_recorded(sanction, manager, officer):
    record = decide(sanction, "impose", manager, reason="Three months without contact")
    assert (record.state, record.decided_by, record.decision_reason) == (
        "imposed",
        manager,
        "Three months without contact",
    )
    event = AuditEvent.objects.get(event_type="accountability.imposed")
    assert (event.actor, event.old_values, event.new_values) == (manager, {"state": "proposed"}, {"state": "imposed"})
    assert Notification.objects.filter(recipient=officer, kind="record.decided").count() == 1


def test_waiving_needs_a_reason(sanction, manager):
    with pytest.raises(ValidationError, match="Say why it is waived"):
        decide(sanction, "waive", manager)
    record = decide(sanction, "waive", manager, reason="The borrower died; no fault of the officer")
    assert record.state == "waived"


def test_imposing_a_sanction_needs_a_reason_as_waiving_does(sanction, manager):
    with pytest.raises(ValidationError, match="Say why the sanction is imposed"):
        decide(sanction, "impose", manager, reason="   ")
    sanction.refresh_from_db()
    assert sanction.state == "proposed"
    assert not AuditEvent.objects.filter(event_type="accountability.imposed").exists()
    assert decide(sanction, "impose", manager, reason="No contact for three months").state == "imposed"


def test_granting_a_reward_needs_no_reason(shared, manager, officer):
    reward = case_recovered_in_time(case=_pay_everything(shared, officer, DEADLINE), as_of=DEADLINE)[0]
    assert decide(reward, "impose", manager).state == "imposed"


@pytest.mark.parametrize("persona", ["officer", "officer2", "auditor", "admin_user", "outside_manager", "outsider"])
def test_only_a_manager_of_the_branch_decides(request, sanction, persona):
    with pytest.raises(PermissionDenied):
        decide(sanction, "impose", request.getfixturevalue(persona))
    sanction.refresh_from_db()
    assert sanction.state == "proposed"


def test_a_head_office_manager_decides_for_any_branch(sanction, head_manager):
    assert decide(sanction, "impose", head_manager, reason="Repeated delays").state == "imposed"


def test_nobody_decides_a_record_about_themselves(branch, manager, manager2):
    # A manager responsible for a loan: their own sanction must be decided by another manager.
    case = open_npl_case(branch=branch, officer=manager)
    check_run(name="deadline_missed", as_of=case.recovery_deadline + timedelta(days=1))
    record = AccountabilityRecord.objects.get(officer=manager)
    with pytest.raises(PermissionDenied, match="about you"):
        decide(record, "waive", manager, reason="I was ill")
    assert decide(record, "impose", manager2, reason="Repeated delays").state == "imposed"


def test_nobody_decides_what_they_proposed(npl_case, manager, manager2, officer):
    record = record_propose(
        officer=officer,
        record_type="compensation",
        amount="5000",
        case=npl_case,
        reason="Lent against the credit rules",
        actor=manager,
        as_of=OPENED,
    )
    with pytest.raises(PermissionDenied, match="You proposed"):
        decide(record, "impose", manager, reason="Repeated delays")
    assert decide(record, "impose", manager2, reason="Repeated delays").state == "imposed"


def test_the_database_refuses_a_self_decision_too(sanction, officer):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountabilityRecord.objects.filter(pk=sanction.pk).update(decided_by=officer)


def test_a_decision_on_a_record_someone_else_just_decided_is_refused_plainly(sanction, manager, manager2):
    seen = sanction.state
    decide(AccountabilityRecord.objects.get(pk=sanction.pk), "waive", manager2, reason="Ill", seen_state=seen)
    with pytest.raises(RecordChanged, match="now waived"):
        decide(sanction, "impose", manager, reason="Repeated delays", seen_state=seen)


def test_a_decided_record_cannot_be_decided_again(sanction, manager, manager2):
    decide(sanction, "impose", manager, reason="Repeated delays")
    with pytest.raises(ValidationError, match="not possible"):
        decide(sanction, "waive", manager2, reason="Changed my mind")


def test_a_sanction_is_never_honoured_and_a_reward_never_lifted(sanction, npl_case, manager, manager2, officer):
    with pytest.raises(ValidationError, match="not possible"):
        decide(sanction, "honour", manager)
    reward = record_propose(
        officer=officer, record_type="commendation", case=npl_case, reason="Great work", actor=manager2, as_of=OPENED
    )
    with pytest.raises(ValidationError, match="not possible"):
        decide(reward, "lift", manager)
    assert decide(reward, "honour", manager).state == "honoured"


def test_an_imposed_sanction_can_be_lifted_by_a_manager(sanction, manager, manager2):
    decide(sanction, "impose", manager, reason="Repeated delays")
    record = decide(sanction, "lift", manager2, reason="Recovered after all")
    assert (record.state, record.closed_by) == ("lifted", manager2)


# --- proposing by hand -------------------------------------------------------------------------------


def test_compensation_needs_an_amount_and_other_sanctions_none(npl_case, manager, officer):
    with pytest.raises(ValidationError, match="Give the amount"):
        record_propose(
            officer=officer, record_type="compensation", case=npl_case, reason="x", actor=manager, as_of=OPENED
        )
    record = record_propose(
        officer=officer, record_type="suspension", amount="100", case=npl_case, reason="x", actor=manager, as_of=OPENED
    )
    assert record.amount is None and record.kind == "sanction"


def test_officers_do_not_propose_and_nobody_proposes_for_themselves(npl_case, manager, officer, officer2):
    with pytest.raises(PermissionDenied):
        record_propose(
            officer=officer2, record_type="commendation", case=npl_case, reason="x", actor=officer, as_of=OPENED
        )
    with pytest.raises(PermissionDenied):
        record_propose(officer=manager, record_type="bonus", amount="100", reason="x", actor=manager, as_of=OPENED)


def test_a_manual_proposal_tells_the_other_managers_and_the_officer(npl_case, manager, manager2, officer):
    record_propose(
        officer=officer,
        record_type="legal_action",
        case=npl_case,
        reason="Embezzlement suspected",
        actor=manager,
        as_of=OPENED,
    )
    assert Notification.objects.filter(recipient=manager2, kind="record.to_decide").count() == 1
    assert not Notification.objects.filter(recipient=manager, kind="record.to_decide").exists()
    assert Notification.objects.filter(recipient=officer, kind="record.proposed").count() == 1


# --- recovered within the time limit -------------------------------------------------------------------


@pytest.fixture
def shared(branch, officer, officer2, manager):
    case = open_npl_case(branch=branch, officer=officer, loan_no="RIV-PAY")
    divide(case, manager, [(officer, Decimal("60")), (officer2, Decimal("40"))], deadline=DEADLINE)
    return CollectionCase.objects.select_related("loan").get(pk=case.pk)


def _pay_everything(case, officer, on):
    """60,000 in cash and the rest with an asset taken in kind: the case ends recovered."""
    recovery_record(case=case, actor=officer, received_on=on, amount=Decimal("60000"), as_of=on)
    asset_take_in_kind(
        case=case,
        actor=officer,
        taken_on=on,
        kind="vehicle",
        description="Truck",
        appraised_value=Decimal("30000"),
        credited_amount=Decimal("21500"),
        as_of=on,
    )
    case.refresh_from_db()
    assert case.measure == "recovered"
    return case


def test_recovered_within_the_time_limit_proposes_the_promised_bonus_per_share(shared, officer, officer2, manager):
    case = _pay_everything(shared, officer, DEADLINE)  # on the last day: still in time
    rewards = case_recovered_in_time(case=case, as_of=DEADLINE)
    by_officer = {r.officer: r for r in rewards}
    # 1% of the cash only (60,000), split 60/40; value taken in kind is kept apart and earns nothing.
    assert by_officer[officer].amount == Decimal("360.00") and by_officer[officer2].amount == Decimal("240.00")
    assert all(r.record_type == "bonus" and r.state == "proposed" and r.origin == "recovered_in_time" for r in rewards)
    assert by_officer[officer].cash_recovered == Decimal("60000.00")
    assert by_officer[officer].in_kind_value == Decimal("21500.00")
    assert Notification.objects.filter(recipient=manager, kind="record.recovered_in_time").count() == 1
    assert case_recovered_in_time(case=case, as_of=DEADLINE) == []  # once


def test_recovered_after_the_time_limit_earns_nothing(shared, officer):
    case = _pay_everything(shared, officer, DEADLINE + timedelta(days=1))
    assert case_recovered_in_time(case=case, as_of=DEADLINE + timedelta(days=1)) == []


def test_open_sanctions_become_to_be_lifted_and_come_first_for_the_manager(branch, officer, manager, manager2):
    case = open_npl_case(branch=branch, officer=officer, loan_no="RIV-LATE")
    check_run(name="deadline_missed", as_of=case.recovery_deadline + timedelta(days=1))
    sanction = decide(AccountabilityRecord.objects.get(), "impose", manager, reason="Repeated delays")
    # A new division gives a new time limit, and the loan is recovered within it.
    new_limit = case.recovery_deadline + timedelta(days=60)
    divide(case, manager2, [(officer, Decimal("100"))], new_limit, as_of=case.recovery_deadline + timedelta(days=2))
    case = _pay_everything(CollectionCase.objects.select_related("loan").get(pk=case.pk), officer, new_limit)
    case_recovered_in_time(case=case, as_of=new_limit)
    sanction.refresh_from_db()
    assert sanction.state == "to_be_lifted"
    assert AuditEvent.objects.filter(event_type="accountability.to_be_lifted", subject_id=sanction.pk).exists()

    from accountability.selectors import records_to_decide

    first = records_to_decide(user=manager).first()
    assert first == sanction
    assert decide(sanction, "lift", manager2, reason="Recovered in time").state == "lifted"


def test_a_commendation_when_one_was_promised(shared, manager, officer, officer2):
    divide(shared, manager, [(officer, Decimal("100"))], DEADLINE, as_of=date(2026, 2, 1))
    from accountability.models import ResponsibilityAssignment

    ResponsibilityAssignment.objects.filter(case=shared, ended_on__isnull=True).update(promised_reward="commendation")
    case = _pay_everything(shared, officer, date(2026, 3, 1))
    (reward,) = case_recovered_in_time(case=case, as_of=date(2026, 3, 1))
    assert (reward.record_type, reward.amount) == ("commendation", None)


@pytest.mark.django_db(transaction=True)
def test_the_recovery_itself_triggers_the_rewards_without_delay(branch, officer, officer2, manager, eager_celery):
    case = open_npl_case(branch=branch, officer=officer, loan_no="RIV-NOW")
    divide(case, manager, [(officer, Decimal("100"))], deadline=DEADLINE)
    recovery_record(
        case=case, actor=officer, received_on=date(2026, 5, 1), amount=Decimal("81500"), as_of=date(2026, 5, 1)
    )
    (reward,) = AccountabilityRecord.objects.filter(kind="reward")
    assert (reward.officer, reward.amount, reward.proposed_on) == (officer, Decimal("815.00"), date(2026, 5, 1))


def test_the_daily_check_catches_up_a_recovery_whose_message_was_lost(shared, officer):
    case = _pay_everything(shared, officer, date(2026, 5, 1))  # on_commit never ran in this test
    assert not AccountabilityRecord.objects.exists()
    assert check_run(name="recovered_in_time", as_of=date(2026, 5, 2)).counts == {"cases": 1, "rewards_proposed": 2}
    assert check_run(name="recovered_in_time", as_of=date(2026, 5, 3)).counts == {"cases": 0, "rewards_proposed": 0}
    assert case.accountability_records.count() == 2


# --- one proposal, however it was made ----------------------------------------------------------------


def test_every_way_of_proposing_audits_and_tells_the_officer_alike(branch, officer, officer2, manager):
    """A manager's proposal, a missed time limit (the daily check) and a recovery in time each
    announce a proposal the same way: one audit event with the same values, one message to the
    officer under the one dedupe key."""
    from accountability.services import proposal_notice_key

    manual_case = open_npl_case(branch=branch, officer=officer, loan_no="RIV-MAN")
    manual = record_propose(
        officer=officer, record_type="legal_action", case=manual_case, reason="Fraud", actor=manager, as_of=OPENED
    )
    late_case = open_npl_case(branch=branch, officer=officer, loan_no="RIV-LATE")
    check_run(name="deadline_missed", as_of=late_case.recovery_deadline + timedelta(days=1))
    missed = AccountabilityRecord.objects.get(origin="missed_deadline", case=late_case)
    paid_case = open_npl_case(branch=branch, officer=officer2, loan_no="RIV-PAID")
    paid_case = _pay_everything(CollectionCase.objects.select_related("loan").get(pk=paid_case.pk), officer2, OPENED)
    (reward,) = case_recovered_in_time(case=paid_case, as_of=OPENED)

    for record in (manual, missed, reward):
        (event,) = AuditEvent.objects.filter(event_type="accountability.proposed", subject_id=record.pk)
        assert event.new_values == {
            "officer": record.officer_id,
            "type": record.record_type,
            "origin": record.origin,
            "amount": None if record.amount is None else str(record.amount),
            "case": record.case_id,
        }
        assert event.reason == record.reason
        (note,) = Notification.objects.filter(kind="record.proposed", url=record.get_absolute_url())
        assert (note.recipient_id, note.key, note.body) == (
            record.officer_id,
            proposal_notice_key(record),
            record.reason,
        )
    assert AuditEvent.objects.get(subject_id=manual.pk, event_type="accountability.proposed").actor == manager
    assert AuditEvent.objects.get(subject_id=missed.pk, event_type="accountability.proposed").actor is None


# --- the decisions a page offers are the record's transitions --------------------------------------


@pytest.mark.parametrize(
    ("kind", "record_type", "state", "offered"),
    [
        ("sanction", "wage_stop", "proposed", [("impose", "Impose"), ("waive", "Waive")]),
        ("sanction", "wage_stop", "imposed", [("lift", "Lift")]),
        ("sanction", "wage_stop", "to_be_lifted", [("lift", "Lift")]),
        ("sanction", "wage_stop", "waived", []),
        ("sanction", "wage_stop", "lifted", []),
        # Granting a reward without honouring it yet is a transition too: the page now offers it.
        (
            "reward",
            "commendation",
            "proposed",
            [("honour", "Grant and honour"), ("impose", "Grant"), ("waive", "Waive")],
        ),
        ("reward", "commendation", "imposed", [("honour", "Honour")]),
        ("reward", "commendation", "honoured", []),
    ],
)
def test_the_decisions_offered_are_the_transitions_open_in_the_state_and_each_is_accepted(
    npl_case, officer, manager, kind, record_type, state, offered
):
    record = AccountabilityRecord.objects.create(
        kind=kind,
        record_type=record_type,
        officer=officer,
        branch_id=npl_case.branch_id,
        case=npl_case,
        reason="x",
        proposed_on=OPENED,
    )
    AccountabilityRecord.objects.filter(pk=record.pk).update(state=state)
    record = AccountabilityRecord.objects.get(pk=record.pk)
    assert record.decisions() == offered
    for decision, _label in offered:
        with transaction.atomic():
            decided = decide(record, decision, manager, reason="Decided on the page")
            assert decided.state != state
            transaction.set_rollback(True)
