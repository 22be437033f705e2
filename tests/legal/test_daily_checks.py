"""The legal daily checks at their date edges (the day before, the day of, the day after), run
twice, and with the notifications linking to the place to act."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accountability.daily_checks import CHECKS, check_run
from collections_app.models import CollectionCase, GuarantorDemand, LegalProceeding
from legal import services
from legal.models import GuaranteeRelease, LegalReminder
from legal.policy import legal_policy
from legal.rules import guarantee_period_ends
from legal.selectors import guarantee_amount_lost
from loans.classification import add_years
from notifications.models import Notification
from tests.factories import GuaranteeFactory

pytestmark = pytest.mark.django_db


def run(name: str, as_of: date) -> dict:
    return check_run(name=name, as_of=as_of).counts


def notes(user, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("id"))


def test_the_legal_checks_are_registered():
    for name in ("hearings", "preservation_orders", "enforcement_deadlines", "guarantee_periods", "time_barred"):
        assert name in CHECKS


# --- hearings ---------------------------------------------------------------------------------------------


def test_hearing_reminders_7_and_1_days_before(proceeding, officer, today):
    held = today + timedelta(days=20)
    hearing = services.hearing_record(proceeding=proceeding, actor=officer, held_on=held, place="Court room 3")
    assert run("hearings", held - timedelta(days=8)) == {"reminders_7_days": 0, "reminders_1_days": 0}
    assert run("hearings", held - timedelta(days=7))["reminders_7_days"] == 1
    assert run("hearings", held - timedelta(days=6))["reminders_7_days"] == 0
    assert run("hearings", held - timedelta(days=2))["reminders_1_days"] == 0
    assert run("hearings", held - timedelta(days=1))["reminders_1_days"] == 1
    assert run("hearings", held) == {"reminders_7_days": 0, "reminders_1_days": 0}
    assert run("hearings", held + timedelta(days=1)) == {"reminders_7_days": 0, "reminders_1_days": 0}
    first, second = notes(officer, "hearing.reminder")
    assert "Court room 3" in first.title and "7 days" in first.title and "tomorrow" in second.title
    assert first.url == reverse("legal:proceeding_detail", args=[proceeding.pk])
    assert LegalReminder.objects.filter(kind="hearing", object_id=hearing.pk).count() == 2


# --- preservation orders -------------------------------------------------------------------------------------


def test_a_seal_is_reminded_30_and_7_days_before_expiry_and_flagged_to_the_manager_once_lapsed(
    proceeding, officer, manager, today
):
    order = services.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="seal",
        asset_kind="real_estate",
        description="Flat 3-201, Riverside Road",
        ruling_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=100),
    )
    expires = order.expires_on
    assert run("preservation_orders", expires - timedelta(days=31))["reminders_30_days"] == 0
    assert run("preservation_orders", expires - timedelta(days=30))["reminders_30_days"] == 1
    assert run("preservation_orders", expires - timedelta(days=29))["reminders_30_days"] == 0
    assert run("preservation_orders", expires - timedelta(days=7))["reminders_7_days"] == 1
    assert run("preservation_orders", expires)["lapsed"] == 0
    assert run("preservation_orders", expires + timedelta(days=1))["lapsed"] == 1
    assert run("preservation_orders", expires + timedelta(days=2))["lapsed"] == 0
    reminders = notes(officer, "preservation.reminder")
    assert len(reminders) == 2 and "Flat 3-201" in reminders[0].body
    (lapsed,) = notes(manager, "preservation.lapsed")
    assert "lapsed" in lapsed.title and lapsed.url == reverse("legal:proceeding_detail", args=[proceeding.pk])
    assert len(notes(officer, "preservation.lapsed")) == 1


def test_a_renewed_order_is_reminded_again_before_its_new_expiry_a_released_one_never(proceeding, officer, today):
    order = services.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="freeze",
        asset_kind="bank_account",
        description="Account 6222",
        ruling_on=today - timedelta(days=50),
        expires_on=today + timedelta(days=5),
    )
    assert run("preservation_orders", today)["reminders_7_days"] == 1
    services.preservation_order_renew(
        order=order, actor=officer, renewed_on=today, expires_on=today + timedelta(days=365)
    )
    assert run("preservation_orders", today + timedelta(days=358))["reminders_7_days"] == 1
    services.preservation_order_release(order=order, actor=officer, released_on=today, reason="Settled")
    assert run("preservation_orders", today + timedelta(days=400))["lapsed"] == 0


# --- enforcement deadlines -------------------------------------------------------------------------------------


def _decided(proceeding, officer, filed_on) -> LegalProceeding:
    return services.decision_record(
        proceeding=proceeding,
        actor=officer,
        decision_kind="judgment",
        decided_on=filed_on + timedelta(days=30),
        served_on=filed_on + timedelta(days=31),
        awarded_amount=Decimal("81500"),
        performance_deadline=filed_on + timedelta(days=60),
    )


def test_enforcement_deadline_warnings_and_the_missed_deadline(proceeding, officer, manager, filed_on):
    p = _decided(proceeding, officer, filed_on)
    deadline = p.enforcement_deadline
    assert deadline == add_years(filed_on + timedelta(days=60), 2)
    assert run("enforcement_deadlines", deadline - timedelta(days=61))["reminders_60_days"] == 0
    assert run("enforcement_deadlines", deadline - timedelta(days=60))["reminders_60_days"] == 1
    assert run("enforcement_deadlines", deadline - timedelta(days=59))["reminders_60_days"] == 0
    assert run("enforcement_deadlines", deadline)["missed"] == 0
    assert run("enforcement_deadlines", deadline + timedelta(days=1))["missed"] == 1
    assert run("enforcement_deadlines", deadline + timedelta(days=2))["missed"] == 0
    # The 60-day warning, and on the deadline day (days skipped) the most urgent window's only.
    sixty, seven = notes(officer, "enforcement.reminder")
    assert ":60:" in sixty.key and ":7:" in seven.key
    assert "apply for enforcement" in sixty.title
    assert len(notes(manager, "enforcement.lapsed")) == 1


def test_no_enforcement_warning_once_applied(proceeding, officer, filed_on, today):
    p = _decided(proceeding, officer, filed_on)
    services.enforcement_apply(proceeding=p, actor=officer, applied_on=today)
    counts = run("enforcement_deadlines", p.enforcement_deadline - timedelta(days=7))
    assert counts["reminders_7_days"] == 0 and counts["missed"] == 0


# --- guarantee periods ------------------------------------------------------------------------------------------


def test_guarantee_period_warnings_60_30_7_days_before_it_ends_without_a_demand(case, npl_loan, officer):
    guarantee = GuaranteeFactory(loan=npl_loan, amount=Decimal("50000"))
    ends = guarantee_period_ends(npl_loan.maturity_on, None, legal_policy())
    assert run("guarantee_periods", ends - timedelta(days=61))["warnings_60_days"] == 0
    assert run("guarantee_periods", ends - timedelta(days=60))["warnings_60_days"] == 1
    assert run("guarantee_periods", ends - timedelta(days=59))["warnings_60_days"] == 0
    assert run("guarantee_periods", ends - timedelta(days=30))["warnings_30_days"] == 1
    assert run("guarantee_periods", ends - timedelta(days=7))["warnings_7_days"] == 1
    assert run("guarantee_periods", ends)["released"] == 0
    warnings = notes(officer, "guarantee.warning")
    assert len(warnings) == 3 and guarantee.guarantor.name in warnings[0].title
    assert warnings[0].url == reverse("collections_app:case_detail", args=[case.pk])


def test_a_period_that_lapses_without_a_demand_releases_the_guarantor_and_records_the_loss(
    case, npl_loan, manager, officer
):
    guarantee = GuaranteeFactory(loan=npl_loan, amount=Decimal("50000"))
    ends = guarantee_period_ends(npl_loan.maturity_on, None, legal_policy())
    assert run("guarantee_periods", ends)["released"] == 0
    assert run("guarantee_periods", ends + timedelta(days=1))["released"] == 1
    assert run("guarantee_periods", ends + timedelta(days=2))["released"] == 0
    release = GuaranteeRelease.objects.get(guarantee=guarantee)
    assert release.amount_lost == Decimal("50000.00") and release.period_ended_on == ends
    assert guarantee_amount_lost(user=manager) == {"released": 1, "amount_lost": Decimal("50000.00")}
    assert len(notes(manager, "guarantee.released")) == 1


def test_a_demand_served_in_time_keeps_the_guarantor_liable(case, npl_loan, officer):
    guarantee = GuaranteeFactory(loan=npl_loan, amount=Decimal("50000"))
    ends = guarantee_period_ends(npl_loan.maturity_on, None, legal_policy())
    GuarantorDemand.objects.create(case=case, guarantee=guarantee, demanded_on=ends, amount=Decimal("1000"))
    assert run("guarantee_periods", ends - timedelta(days=7))["warnings_7_days"] == 0
    assert run("guarantee_periods", ends + timedelta(days=1))["released"] == 0
    assert not GuaranteeRelease.objects.exists()


def _suit(case, officer, filed_on: date) -> LegalProceeding:
    return LegalProceeding.objects.create(
        case=case,
        court="Riverside District People's Court",
        case_number=f"(2026) Riv Min Chu {filed_on.isoformat()}",
        filed_on=filed_on,
        recorded_by=officer,
    )


@pytest.mark.parametrize(("days_after_end", "released"), [(-1, 0), (0, 0), (1, 1)])
def test_a_general_guarantee_is_kept_by_a_suit_filed_within_the_period(
    case, npl_loan, officer, days_after_end, released
):
    guarantee = GuaranteeFactory(loan=npl_loan, amount=Decimal("50000"), liability="general")
    ends = guarantee_period_ends(npl_loan.maturity_on, None, legal_policy())
    # a demand on a general guarantor does not keep it: only the suit against the debtor counts
    GuarantorDemand.objects.create(case=case, guarantee=guarantee, demanded_on=ends, amount=Decimal("1000"))
    _suit(case, officer, ends + timedelta(days=days_after_end))
    assert run("guarantee_periods", ends + timedelta(days=2))["released"] == released
    assert GuaranteeRelease.objects.filter(guarantee=guarantee).count() == released


@pytest.mark.parametrize(("days_after_end", "released"), [(-1, 1), (0, 1), (1, 1)])
def test_a_suit_against_the_debtor_does_not_keep_a_joint_liability_guarantor(
    case, npl_loan, officer, days_after_end, released
):
    guarantee = GuaranteeFactory(loan=npl_loan, amount=Decimal("50000"))
    assert guarantee.liability == "joint"
    ends = guarantee_period_ends(npl_loan.maturity_on, None, legal_policy())
    _suit(case, officer, ends + timedelta(days=days_after_end))
    assert run("guarantee_periods", ends + timedelta(days=2))["released"] == released


def test_a_general_guarantee_is_warned_until_a_suit_is_filed_and_not_after(case, npl_loan, officer):
    GuaranteeFactory(loan=npl_loan, amount=Decimal("50000"), liability="general")
    ends = guarantee_period_ends(npl_loan.maturity_on, None, legal_policy())
    assert run("guarantee_periods", ends - timedelta(days=60))["warnings_60_days"] == 1
    (warning,) = notes(officer, "guarantee.warning")
    assert "general guarantor" in warning.body and "File suit" in warning.body
    _suit(case, officer, ends - timedelta(days=40))
    assert run("guarantee_periods", ends - timedelta(days=30))["warnings_30_days"] == 0
    assert run("guarantee_periods", ends + timedelta(days=1))["released"] == 0


def test_the_contracts_period_replaces_the_default(case, npl_loan, officer, today):
    guarantee = GuaranteeFactory(loan=npl_loan, amount=Decimal("50000"))
    services.guarantee_term_set(
        case=case, guarantee=guarantee, actor=officer, period_ends_on=today + timedelta(days=700)
    )
    default_ends = guarantee_period_ends(npl_loan.maturity_on, None, legal_policy())
    assert run("guarantee_periods", default_ends + timedelta(days=1))["released"] == 0
    assert run("guarantee_periods", today + timedelta(days=640))["warnings_60_days"] == 1


# --- time-barred claims -------------------------------------------------------------------------------------


def test_a_time_barred_claim_is_flagged_the_day_after_the_limitation_ends(case, officer, manager):
    expires = CollectionCase.objects.get(pk=case.pk).limitation_expires_on
    assert run("time_barred", expires)["time_barred"] == 0
    assert run("time_barred", expires + timedelta(days=1))["time_barred"] == 1
    assert run("time_barred", expires + timedelta(days=2))["time_barred"] == 0
    (note,) = notes(officer, "time_barred.lapsed")
    assert "time-barred" in note.title and note.url == reverse("collections_app:case_detail", args=[case.pk])
    assert len(notes(manager, "time_barred.lapsed")) == 1
