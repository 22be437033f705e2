"""Issue 11's facts about recoveries and rewards, each failing before the ledger:

- a recovery dated 0001-01-01 was accepted;
- a recovery entered on 2026-12-02 but dated on the case's missed time limit turned the missed limit
  into "recovered in time" (the wage stop "to be lifted", a bonus proposed);
- a court deduction (LegalStep deduct, 1,000) left the debt unchanged and created no recovery;
- DEMO00350: a re-import lowered the loan to zero (a refinancing): the case could be marked
  recovered with 0.00 cash, and the checks proposed an in-time reward.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from accountability.daily_checks.registry import check_run
from accountability.models import AccountabilityRecord
from accountability.services import case_recovered_in_time
from collections_app import services
from collections_app.models import Recovery
from ledger.models import LedgerEntry
from ledger.selectors import invariant_breaches
from ledger.services import BookChange, ledger_entry_decide, ledger_post_book_changes
from tests.accountability.conftest import OPENED, divide, open_npl_case
from tests.cases.helpers import fresh
from tests.factories import BorrowerFactory

pytestmark = pytest.mark.django_db

ENTERED = date(2026, 12, 2)  # the day the late recovery is typed in


@pytest.fixture
def late_case(branch, officer, manager):
    """DEMO-like: a case whose time limit was missed, and its wage stop proposed the day after."""
    case = open_npl_case(branch=branch, officer=officer, loan_no="DEMO00123", borrower=BorrowerFactory())
    check_run(name="deadline_missed", as_of=case.recovery_deadline + timedelta(days=1))
    assert AccountabilityRecord.objects.filter(case=case, kind="sanction").exists()
    return case


def test_a_recovery_dated_0001_01_01_is_refused(npl_case, officer):
    with pytest.raises(ValidationError) as exc:
        services.recovery_record(
            case=npl_case, actor=officer, received_on=date(1, 1, 1), amount=Decimal("100"), as_of=ENTERED
        )
    assert "received_on" in exc.value.message_dict
    assert not Recovery.objects.exists()
    assert fresh(npl_case).loan.outstanding_principal == Decimal("80000.00")


def test_a_recovery_before_the_case_opened_is_refused(npl_case, officer):
    with pytest.raises(ValidationError) as exc:
        services.recovery_record(
            case=npl_case, actor=officer, received_on=OPENED - timedelta(days=1), amount=Decimal("1"), as_of=OPENED
        )
    assert "opened" in exc.value.message_dict["received_on"][0]


def test_a_backdated_recovery_on_the_missed_limit_is_not_in_time_until_approved(late_case, officer, manager):
    deadline = late_case.recovery_deadline
    services.recovery_record(
        case=late_case, actor=officer, received_on=deadline, amount=Decimal("81500"), as_of=ENTERED
    )
    case = fresh(late_case)
    assert case.measure == "recovered" and case.ended_on == deadline
    entry = LedgerEntry.objects.get(case=case, kind="cash_recovery")
    assert entry.approval == "awaiting" and entry.recorded_on == ENTERED
    # Not yet: no reward, and the wage stop is not "to be lifted".
    assert case_recovered_in_time(case=case, as_of=ENTERED) == []
    assert check_run(name="recovered_in_time", as_of=deadline + timedelta(days=1)).counts["rewards_proposed"] == 0
    assert not AccountabilityRecord.objects.filter(kind="reward").exists()
    assert AccountabilityRecord.objects.get(case=case, kind="sanction").state == "proposed"
    # The officer who recorded it may not approve it; a manager may.
    with pytest.raises(PermissionDenied):
        ledger_entry_decide(entry=entry, actor=officer, approve=True)
    ledger_entry_decide(entry=entry, actor=manager, approve=True)
    (reward,) = case_recovered_in_time(case=case, as_of=ENTERED)
    assert reward.amount == Decimal("815.00")
    assert AccountabilityRecord.objects.get(case=case, kind="sanction").state == "to_be_lifted"


def test_a_refused_backdating_counts_from_the_day_it_was_recorded(late_case, officer, manager):
    services.recovery_record(
        case=late_case, actor=officer, received_on=late_case.recovery_deadline, amount=Decimal("81500"), as_of=ENTERED
    )
    entry = LedgerEntry.objects.get(case=late_case, kind="cash_recovery")
    with pytest.raises(ValidationError):
        ledger_entry_decide(entry=entry, actor=manager, approve=False)  # a refusal needs a reason
    ledger_entry_decide(entry=entry, actor=manager, approve=False, reason="No receipt of that date")
    assert case_recovered_in_time(case=fresh(late_case), as_of=ENTERED) == []
    assert AccountabilityRecord.objects.get(case=late_case, kind="sanction").state == "proposed"


@override_settings(NPL_RULES={"backdating_days": 365})
def test_backdating_days_is_a_setting(late_case, officer):
    services.recovery_record(
        case=late_case, actor=officer, received_on=late_case.recovery_deadline, amount=Decimal("100"), as_of=ENTERED
    )
    assert LedgerEntry.objects.get(case=late_case, kind="cash_recovery").approval == "not_needed"


def test_a_court_deduction_lowers_the_debt_and_is_a_recovery(npl_case, officer):
    day = OPENED + timedelta(days=30)
    proceeding = services.legal_proceeding_file(
        case=npl_case, actor=officer, court="County Court", case_number="2026-7", filed_on=day
    )
    with pytest.raises(ValidationError) as exc:
        services.legal_step_record(proceeding=proceeding, actor=officer, kind="deduct", taken_on=day)
    assert "amount" in exc.value.message_dict
    services.legal_step_record(
        proceeding=proceeding, actor=officer, kind="deduct", taken_on=day, amount=Decimal("1000")
    )
    case = fresh(npl_case)
    assert case.loan.total_owed == Decimal("80500.00")
    recovery = Recovery.objects.get(case=case)
    assert (recovery.amount, recovery.paid_by, recovery.form) == (Decimal("1000.00"), "court_enforcement", "cash")
    entry = recovery.ledger_entry
    assert (entry.kind, entry.amount, entry.counts_as_recovery) == ("court_deduction", Decimal("1000.00"), True)
    assert not invariant_breaches().exists()


def test_refinanced_to_zero_is_never_recovered_and_earns_no_reward(branch, officer, manager):
    """The DEMO00350 story."""
    case = open_npl_case(branch=branch, officer=officer, loan_no="DEMO00350", borrower=BorrowerFactory())
    divide(case, manager, [(officer, Decimal("100"))], deadline=date(2026, 6, 30))
    day = date(2026, 3, 1)
    # The re-import lowers the loan to zero: reported by the book, not yet classified.
    (entry,) = ledger_post_book_changes(
        changes=[BookChange(case.loan_id, Decimal("0"), Decimal("0"), Decimal("0"))], actor=None, as_of=day
    )
    assert entry.kind == "book_reported" and not entry.counts_as_recovery
    case = fresh(case)
    assert case.loan.total_owed == 0
    with pytest.raises(ValidationError, match="without money"):
        services.case_move(case=case, target="recovered", actor=officer, as_of=day)
    assert fresh(case).measure == "responsibility"
    assert check_run(name="recovered_in_time", as_of=day).counts["rewards_proposed"] == 0


def test_a_refinancing_ends_the_case_refinanced_with_no_reward(branch, officer, manager):
    case = open_npl_case(branch=branch, officer=officer, loan_no="DEMO00351", borrower=BorrowerFactory())
    divide(case, manager, [(officer, Decimal("100"))], deadline=date(2026, 6, 30))
    day = date(2026, 3, 1)
    entry = services.refinancing_record(case=case, actor=officer, value_date=day, as_of=day, source="loan NEW-1")
    assert (entry.kind, entry.counts_as_recovery, entry.amount) == ("refinancing", False, Decimal("0.00"))
    case = fresh(case)
    assert case.measure == "refinanced" and not case.is_open
    with pytest.raises(ValidationError):
        services.case_move(case=case, target="recovered", actor=officer, as_of=day)
    assert case_recovered_in_time(case=case, as_of=day) == []
    assert check_run(name="recovered_in_time", as_of=day).counts == {"cases": 0, "rewards_proposed": 0}
    assert not AccountabilityRecord.objects.filter(kind="reward").exists()


def test_fiscal_allocation_and_government_property_are_sources(npl_case, officer):
    day = OPENED + timedelta(days=3)
    services.recovery_record(
        case=npl_case, actor=officer, received_on=day, amount=Decimal("10"), paid_by="fiscal_allocation", as_of=day
    )
    services.recovery_record(
        case=npl_case, actor=officer, received_on=day, amount=Decimal("20"), paid_by="government_property", as_of=day
    )
    kinds = sorted(LedgerEntry.objects.filter(case=npl_case).values_list("kind", "amount"))
    assert kinds == [("fiscal_allocation", Decimal("10.00")), ("government_property", Decimal("20.00"))]


def test_disposal_proceeds_are_cash_and_move_no_balance(npl_case, officer):
    day = OPENED + timedelta(days=3)
    asset = services.asset_take_in_kind(
        case=npl_case,
        actor=officer,
        kind="vehicle",
        description="Truck",
        taken_on=day,
        appraised_value=Decimal("5000"),
        as_of=day,
    )
    owed = fresh(npl_case).loan.total_owed
    assert owed == Decimal("76500.00")
    services.asset_dispose(asset=asset, actor=officer, disposed_on=day + timedelta(days=1), disposal_proceeds=4800)
    assert fresh(npl_case).loan.total_owed == owed
    rows = sorted(LedgerEntry.objects.filter(case=npl_case).values_list("kind", "form", "amount"))
    assert rows == [
        ("disposal_proceeds", "cash", Decimal("4800.00")),
        ("repayment_in_kind", "in_kind", Decimal("5000.00")),
    ]
    assert not invariant_breaches().exists()
