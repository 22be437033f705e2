"""The officer's "To classify" list and form, the managers' rises, and the prevention page's new
flag kinds: scoped, translated, and the classification goes through the service."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from accountability.models import AccountabilityRecord, LoansByLoansFlag
from audit.models import AuditEvent
from collections_app.models import CollectionCase
from ledger.models import LedgerEntry
from reconciliation.models import ReportedFall
from tests.imports.conftest import AS_OF, csv_bytes, run_import, three_loans
from tests.imports.test_reconcile import LATER, NPL, _refinancing_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def fallen(bank, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_import(csv_bytes(three_loans()), actor=admin_user)
    rows = three_loans()
    rows[1]["outstanding_principal"] = "400000"
    rows[1]["interest_off_balance"] = "900"
    run_import(csv_bytes(rows), actor=admin_user, as_of=LATER)
    return ReportedFall.objects.get()


def test_the_officer_sees_the_count_on_the_queue_and_classifies_a_cash_repayment(fallen, login, officer):
    client = login(officer)
    queue = client.get("/cases/")
    assert 'id="to-classify"' in queue.content.decode() and ">1</span>" in queue.content.decode()
    page = client.get("/reconciliation/")
    assert page.status_code == 200 and NPL in page.content.decode()
    form = client.get(f"/reconciliation/{fallen.pk}/")
    assert form.status_code == 200
    answer = client.post(
        f"/reconciliation/{fallen.pk}/", {"outcome": "cash_repayment", "value_date": (LATER - timedelta(days=2))}
    )
    assert answer.status_code == 302
    fallen.refresh_from_db()
    assert (fallen.status, fallen.outcome, fallen.classified_by) == ("classified", "cash_repayment", officer)
    cash = LedgerEntry.objects.get(kind="cash_recovery")
    assert cash.principal == Decimal("-50000.50") and cash.value_date == LATER - timedelta(days=2)
    assert cash.interest_off_balance == Decimal("0.00")  # the rise is its own entry
    assert AuditEvent.objects.filter(event_type="reconciliation.fall_classified").count() == 1
    assert ">0</span>" in client.get("/cases/").content.decode()


def test_other_needs_a_note_and_the_field_is_named(fallen, login, officer):
    answer = login(officer).post(f"/reconciliation/{fallen.pk}/", {"outcome": "other", "note": ""})
    assert answer.status_code == 400 and "Say what it was." in answer.content.decode()
    fallen.refresh_from_db()
    assert fallen.status == "to_classify"


def test_a_cash_value_date_before_the_case_opened_is_refused(fallen, login, officer):
    answer = login(officer).post(
        f"/reconciliation/{fallen.pk}/", {"outcome": "cash_repayment", "value_date": "0001-01-01"}
    )
    assert answer.status_code == 400
    assert not LedgerEntry.objects.filter(kind="cash_recovery").exists()


def test_another_branch_cannot_see_or_classify_the_fall(fallen, login, outsider, outside_manager):
    for user in (outsider, outside_manager):
        client = login(user)
        assert client.get(f"/reconciliation/{fallen.pk}/").status_code == 404
        assert client.post(f"/reconciliation/{fallen.pk}/", {"outcome": "refinancing"}).status_code == 404
        assert NPL not in client.get("/reconciliation/").content.decode()
    assert ReportedFall.objects.get().status == "to_classify"


def test_the_manager_sees_the_rise_of_an_npl_balance(fallen, login, manager, officer):
    page = login(manager).get("/reconciliation/?tab=rises")
    assert page.status_code == 200 and NPL in page.content.decode()
    # The loan's officer sees it too, to acknowledge it (issue 11: tests/imports/test_rise_acknowledge.py).
    officers = login(officer).get("/reconciliation/?tab=rises").content.decode()
    assert 'href="?tab=rises"' in officers and NPL in officers


def test_confirming_the_flag_posts_the_fall_as_refinancing(
    bank, admin_user, login, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_import(csv_bytes(three_loans()), actor=admin_user)
    run_import(csv_bytes(_refinancing_book()), actor=admin_user, as_of=LATER)
    flag = LoansByLoansFlag.objects.get()
    page = login(manager).get("/accountability/prevention/?tab=loans_by_loans")
    body = page.content.decode()
    assert page.status_code == 200 and "Reported by the book" in body and "Loans by loans" in body
    answer = login(manager).post(
        f"/accountability/flags/{flag.pk}/review/", {"status": "confirmed", "note": "Refinanced"}
    )
    assert answer.status_code == 302
    fall = ReportedFall.objects.get()
    assert (fall.status, fall.outcome) == ("classified", "refinancing")
    assert LedgerEntry.objects.filter(kind="refinancing", loan__loan_no=NPL).exists()
    assert not LedgerEntry.objects.filter(counts_as_recovery=True).exists()
    # Refinanced, never recovered: the case ends so, and no reward is proposed.
    assert CollectionCase.objects.get(loan__loan_no=NPL).measure == "refinanced"
    assert not AccountabilityRecord.objects.filter(kind="reward").exists()


def test_the_import_page_shows_the_first_pay_off_warning(bank, admin_user, login, django_capture_on_commit_callbacks):
    from tests.imports.conftest import loan_row

    with django_capture_on_commit_callbacks(execute=True):
        run_import(csv_bytes(three_loans()), actor=admin_user)
    rows = three_loans() + [
        loan_row(loan_no="L-0010", borrower_name="Li Na", borrower_id_no="220101198505052345", disbursed_on=str(AS_OF))
    ]
    outcome = run_import(csv_bytes(rows), actor=admin_user, as_of=AS_OF)
    page = login(admin_user).get(f"/loans/import/{outcome.batch.pk}/")
    assert page.status_code == 200 and "first pay off, then increase" in page.content.decode()
