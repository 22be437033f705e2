"""The daily check `ledger_invariant`: a balance changed round the ledger is reported, once a day."""

from datetime import date
from decimal import Decimal

import pytest

from accountability.daily_checks.registry import check_run
from loans.models import Loan
from notifications.models import Notification
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 6, 30)


def test_no_breach_no_message(branch, manager):
    LoanFactory(branch=branch)
    assert check_run(name="ledger_invariant", as_of=DAY).counts == {"breaches": 0, "notified": 0}
    assert not Notification.objects.exists()


def test_a_balance_changed_round_the_ledger_is_reported_to_managers_and_admins(
    branch, other_branch, manager, outside_manager, admin_user
):
    loan = LoanFactory(branch=branch, loan_no="RIV-BAD-1")
    LoanFactory(branch=other_branch)
    Loan.objects.filter(pk=loan.pk).update(outstanding_principal=Decimal("1.00"))
    counts = check_run(name="ledger_invariant", as_of=DAY).counts
    assert counts["breaches"] == 1 and counts["loans"] == ["RIV-BAD-1"]
    told = set(Notification.objects.filter(kind="ledger.invariant").values_list("recipient_id", flat=True))
    assert manager.pk in told and admin_user.pk in told and outside_manager.pk not in told
    # Idempotent: the same day again sends nothing new.
    before = Notification.objects.count()
    check_run(name="ledger_invariant", as_of=DAY)
    assert Notification.objects.count() == before
