"""The same file through the admin, the import page and the command gives the same book."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from loans.models import (
    Borrower,
    ClassificationChange,
    Collateral,
    Guarantee,
    ImportBatch,
    Loan,
)
from tests.imports.conftest import (
    COLLATERAL_HEADER,
    GUARANTEE_HEADER,
    LOAN_HEADER,
    LOAN_HEADER_ZH,
    admin_import,
    all_row_outcomes,
    page_import,
    three_loans,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


def the_book() -> dict:
    """What the import produced, without ids and timestamps."""
    return {
        "loans": sorted(
            Loan.objects.values_list(
                "loan_no", "borrower__id_no", "borrower__name", "borrower__kind", "branch__code",
                "responsible_officer__username", "issuing_officer__username", "product", "principal",
                "outstanding_principal", "interest_on_balance", "interest_off_balance", "disbursed_on",
                "maturity_on", "overdue_since", "business_ceased", "government_directed", "five_level_class",
                "four_level_class", "five_level_rule", "four_level_rule", "specific_provision",
            )
        ),  # fmt: skip
        "borrowers": Borrower.objects.count(),
        "guarantees": sorted(
            Guarantee.objects.values_list("loan__loan_no", "guarantor__id_no", "guarantor__name", "amount")
        ),
        "collateral": sorted(
            Collateral.objects.values_list("loan__loan_no", "kind", "description", "appraised_value")
        ),
        "history": sorted(
            ClassificationChange.objects.values_list("loan__loan_no", "scheme", "from_class", "to_class", "rule")
        ),
        "rows": sorted(
            row[1:] for row in all_row_outcomes(ImportBatch.objects.filter(dry_run=False).order_by("pk"))
        ),
    }  # fmt: skip


def through(way) -> dict:
    """Run one way in, note the book, and roll it all back for the next way."""
    with transaction.atomic():
        way()
        book = the_book()
        transaction.set_rollback(True)
    return book


@pytest.fixture
def workbook() -> bytes:
    today = timezone.localdate()
    loans = three_loans()
    loans[1]["overdue_since"] = (today.replace(day=1) - timezone.timedelta(days=400)).isoformat()
    loans[2]["overdue_since"] = (today - timezone.timedelta(days=30)).isoformat()
    return xlsx_bytes(
        {
            "Loans": [LOAN_HEADER, LOAN_HEADER_ZH, *(list(r.values()) for r in loans)],
            "Guarantees": [GUARANTEE_HEADER, ["L-0002", "Li Qiang", "G-77", "individual", "100,000", "2024-01-15"]],
            "Collateral": [COLLATERAL_HEADER, ["L-0002", "real_estate", "Flat 5-101", "300000", "2024-01-10", ""]],
        }
    )


def test_admin_page_and_command_give_the_same_result(bank, admin_user, client, eager_celery, workbook, tmp_path,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    client.force_login(admin_user)
    path = tmp_path / "book.xlsx"
    path.write_bytes(workbook)

    def admin():
        dry, done = admin_import(client, workbook, "book.xlsx")
        assert "created 3, updated 0, unchanged 0" in dry.content.decode()
        assert done.status_code == 302

    def page():
        with django_capture_on_commit_callbacks(execute=True):
            response = page_import(client, workbook, "book.xlsx", as_of=timezone.localdate())
        assert response.status_code == 302
        assert ImportBatch.objects.get(source="page", dry_run=False).status == "imported"

    def command():
        call_command("import_loans", str(path))

    through_admin, through_page, through_command = through(admin), through(page), through(command)
    assert len(through_admin["loans"]) == 3 and through_admin["guarantees"] and through_admin["collateral"]
    assert through_admin["history"], "the loss and special-mention loans have their first class recorded"
    assert through_admin == through_page == through_command
