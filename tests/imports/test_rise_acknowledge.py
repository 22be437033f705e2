"""Issue 11, item 2: "a balance that rises on a non-performing loan is shown too" (the rises tab of
/reconciliation/); the loan's officer or a manager acknowledges it with a reason (audited) and it
leaves that list."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from ledger.models import LedgerEntry
from reconciliation.models import RiseAcknowledgement
from reconciliation.selectors import rises_for_user
from reconciliation.services import rise_acknowledge
from tests.imports.test_reconcile import NPL
from tests.imports.test_reconcile_pages import fallen  # noqa: F401 (the fixture: an NPL's interest rose)

pytestmark = pytest.mark.django_db

RISES = "/reconciliation/?tab=rises"


@pytest.fixture
def rise(fallen) -> LedgerEntry:  # noqa: F811
    return LedgerEntry.objects.get(kind="book_correction", loan__loan_no=NPL)


def test_the_officer_acknowledges_the_rise_with_a_reason_and_it_leaves_the_list(rise, login, officer, manager):
    client = login(officer)
    page = client.get(RISES).content.decode()
    url = reverse("reconciliation:rise_acknowledge", args=[rise.pk])
    assert NPL in page and url in page
    refused = client.post(url, {f"rise-{rise.pk}-reason": " "})
    assert refused.status_code == 400 and not RiseAcknowledgement.objects.exists()
    answer = client.post(url, {f"rise-{rise.pk}-reason": "Penalty interest accrued on the overdue principal"})
    assert answer.status_code == 302
    acknowledgement = RiseAcknowledgement.objects.get(entry=rise)
    assert acknowledgement.acknowledged_by == officer and acknowledgement.branch == rise.loan.branch
    event = AuditEvent.objects.get(event_type="reconciliation.rise_acknowledged")
    assert event.actor == officer and event.reason == "Penalty interest accrued on the overdue principal"
    assert event.new_values["entry"] == rise.pk and event.new_values["interest_off_balance"] == "400.00"
    # Gone from the list, for the officer and the managers; the ledger entry is as written.
    assert NPL not in client.get(RISES).content.decode()
    assert NPL not in login(manager).get(RISES).content.decode()
    assert LedgerEntry.objects.get(pk=rise.pk).interest_off_balance == rise.interest_off_balance
    with pytest.raises(ValidationError, match="already acknowledged"):
        rise_acknowledge(entry=rise, actor=manager, reason="again")


def test_a_manager_acknowledges_too(rise, manager):
    rise_acknowledge(entry=rise, actor=manager, reason="Checked against the core system")
    assert not rises_for_user(user=manager).exists()


def test_another_officer_an_auditor_and_another_branch_cannot(
    rise, login, officer2, auditor, outsider, outside_manager
):
    assert not rises_for_user(user=officer2).filter(pk=rise.pk).exists()  # not their loan
    for user in (officer2, auditor):
        with pytest.raises(PermissionDenied):
            rise_acknowledge(entry=rise, actor=user, reason="x")
    url = reverse("reconciliation:rise_acknowledge", args=[rise.pk])
    for user in (outsider, outside_manager):
        assert login(user).post(url, {f"rise-{rise.pk}-reason": "x"}).status_code == 404
    assert not RiseAcknowledgement.objects.exists()


def test_only_a_rise_reported_by_an_import_is_acknowledged(rise, manager):
    fall = LedgerEntry.objects.get(kind="book_reported", loan__loan_no=NPL)
    with pytest.raises(ValidationError, match="reported by an import"):
        rise_acknowledge(entry=fall, actor=manager, reason="x")
