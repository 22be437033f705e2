"""The Django admin: django-import-export's dry run and confirm, wired to the pipeline."""

from __future__ import annotations

import pytest

from loans.models import ImportBatch, Loan
from tests.imports.conftest import admin_import, book_state, csv_bytes, loan_row, three_loans

pytestmark = pytest.mark.django_db


def test_the_loan_list_in_the_admin_has_import_and_export(bank, admin_user, client):
    client.force_login(admin_user)
    page = client.get("/admin/loans/loan/").content.decode()
    assert "/admin/loans/loan/import/" in page and "/admin/loans/loan/export/" in page
    form = client.get("/admin/loans/loan/import/").content.decode()
    assert "loan_no (贷款编号)" in form and "/loans/import/template.xlsx" in form


def test_a_dry_run_shows_the_counts_and_the_confirm_imports(bank, admin_user, client):
    client.force_login(admin_user)
    dry, _ = admin_import(client, csv_bytes(three_loans()), "june.csv", confirm=False)
    page = dry.content.decode()
    checked = ImportBatch.objects.get()
    assert f"Dry run #{checked.pk}: created 3, updated 0, unchanged 0" in page and "Confirm import" in page
    assert "L-0002" in page
    assert checked.dry_run and not Loan.objects.exists()
    done = client.post("/admin/loans/loan/process_import/", {**dry.context["confirm_form"].initial, "resource": "0"})
    assert done.status_code == 302 and Loan.objects.count() == 3
    batch = ImportBatch.objects.get(dry_run=False)
    assert (batch.source, batch.created_by, batch.file_name) == ("admin", admin_user, "june.csv")
    messages = [str(m) for m in done.wsgi_request._messages]
    link = f'<a href="/loans/import/{batch.pk}/">See the rows</a>'
    assert messages == [f"Import #{batch.pk} finished: created 3, updated 0, unchanged 0. {link}."]


def test_problems_are_listed_and_there_is_nothing_to_confirm(bank, admin_user, client):
    client.force_login(admin_user)
    before = book_state()
    dry, done = admin_import(client, csv_bytes([loan_row(principal="-1"), loan_row()]), "bad.csv")
    page = dry.content.decode()
    assert "Nothing was written: 2 problems in the file" in page
    assert "row 2, column principal: “-1” must be greater than 0" in page
    assert "row 3, column loan_no: loan number “L-0001” is also in row 2" in page
    assert "Confirm import" not in page and done is None
    assert book_state() == before


def test_a_file_that_is_not_a_spreadsheet_in_the_admin(bank, admin_user, client):
    client.force_login(admin_user)
    dry, _ = admin_import(client, b"\x00\x01\x02binary", "photo.csv")
    assert "the file is not a CSV or Excel (XLSX) spreadsheet" in dry.content.decode()


def test_only_administrators_import_in_the_admin(bank, client):
    from loans.models import Role
    from tests.factories import UserFactory

    staff_manager = UserFactory(username="staff_manager", role=Role.MANAGER, branch=bank["branch"], is_staff=True)
    client.force_login(staff_manager)
    assert client.get("/admin/loans/loan/import/").status_code == 403


def test_import_batches_can_be_looked_at_later_in_the_admin_but_not_changed(bank, admin_user, client):
    client.force_login(admin_user)
    admin_import(client, csv_bytes(three_loans()), "june.csv")
    batch = ImportBatch.objects.get(dry_run=False)
    listing = client.get("/admin/loans/importbatch/").content.decode()
    assert "june.csv" in listing and "Imported" in listing
    page = client.get(f"/admin/loans/importbatch/{batch.pk}/change/")
    assert page.status_code == 200 and "created" in page.content.decode()
    assert client.post(f"/admin/loans/importbatch/{batch.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ImportBatch.objects.filter(pk=batch.pk).exists()
