"""The import page (admins only), its progress and results, and the template download."""

from __future__ import annotations

import io
import re

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from loans.importing.columns import COLLATERAL_COLUMNS, GUARANTEE_COLUMNS, LOAN_COLUMNS
from loans.models import ImportBatch, Loan
from tests.imports.conftest import AS_OF, book_state, csv_bytes, loan_row, page_import, row_outcomes, three_loans

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["officer", "manager", "auditor"])
def test_only_administrators_may_open_the_import_page(bank, persona, request, client):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/loans/import/").status_code == 403
    assert client.post("/loans/import/", {}).status_code == 403


def test_the_menu_shows_import_to_administrators_and_exports_to_managers(bank, admin_user, manager, officer, client):
    client.force_login(admin_user)
    page = client.get("/loans/").content.decode()
    assert 'href="/loans/import/"' in page and 'href="/loans/export/"' in page
    client.force_login(manager)
    page = client.get("/loans/").content.decode()
    assert 'href="/loans/import/"' not in page and 'href="/loans/export/"' in page
    client.force_login(officer)
    assert 'href="/loans/export/"' not in client.get("/loans/").content.decode()


def test_an_upload_returns_at_once_and_the_worker_does_the_import(bank, admin_user, client,
                                                                  django_capture_on_commit_callbacks):  # fmt: skip
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = page_import(client, csv_bytes(three_loans()), "june.csv")
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/loans/import/{batch.pk}/"
    assert (batch.status, batch.source, batch.file_name, batch.created_by) == ("queued", "page", "june.csv", admin_user)
    assert len(callbacks) == 1 and not Loan.objects.exists()  # the task is queued on commit

    page = client.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page


def test_a_dry_run_then_import_from_the_page(
    bank, admin_user, client, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = page_import(client, csv_bytes(three_loans()), "june.csv", dry_run=True)
    checked = ImportBatch.objects.get()
    assert checked.status == "checked" and not Loan.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert 'id="count-created">3<' in page and "Import this file now" in page
    assert 'hx-trigger="every 1s"' not in page  # finished: no more polling

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/loans/import/{checked.pk}/run/")
    imported = ImportBatch.objects.exclude(pk=checked.pk).get()
    assert response["Location"] == imported.get_absolute_url()
    assert (imported.status, imported.dry_run, imported.created) == ("imported", False, 3)
    assert Loan.objects.count() == 3
    page = client.get(imported.get_absolute_url()).content.decode()
    assert "L-0002" in page and "Import this file now" not in page


def test_a_bad_file_on_the_page_lists_the_problems_and_writes_nothing(bank, admin_user, client, eager_celery,
                                                                      django_capture_on_commit_callbacks):  # fmt: skip
    client.force_login(admin_user)
    before = book_state()
    with django_capture_on_commit_callbacks(execute=True):
        response = page_import(client, csv_bytes([loan_row(branch_code="B99")]), "bad.csv")
    page = client.get(response["Location"]).content.decode()
    assert "row 2, column branch_code: unknown branch code “B99”" in page
    assert "nothing was written" in page and "Import this file now" not in page
    assert book_state() == before


def test_the_progress_survives_a_reload_and_the_finished_page_reloads_itself(bank, admin_user, client):
    client.force_login(admin_user)
    batch = ImportBatch.objects.create(
        created_by=admin_user, source="page", as_of=AS_OF, file_name="big.csv", status="running",
        phase="reading", rows_total=1000, rows_read=400, rows_validated=400,
    )  # fmt: skip
    for _ in range(2):  # the numbers come from the database, not from the page that started the upload
        page = client.get(f"/loans/import/{batch.pk}/").content.decode()
        assert 'aria-valuenow="32"' in page and "read <span" in page and "400" in page
    fragment = client.get(f"/loans/import/{batch.pk}/progress/?polling=1", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in fragment.content.decode()
    ImportBatch.objects.filter(pk=batch.pk).update(status="imported", phase="done")
    done = client.get(f"/loans/import/{batch.pk}/progress/?polling=1", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


def test_batches_are_for_administrators_and_auditors(bank, admin_user, auditor, officer, client):
    batch = ImportBatch.objects.create(created_by=admin_user, source="page", as_of=AS_OF, file_name="x.csv")
    client.force_login(auditor)
    assert client.get(batch.get_absolute_url()).status_code == 200
    client.force_login(officer)
    assert client.get(batch.get_absolute_url()).status_code == 404


def test_the_rows_of_a_batch_are_listed_by_outcome(bank, admin_user, client, django_assert_max_num_queries):
    from tests.imports.conftest import run_import

    run_import(csv_bytes(three_loans()[:1]))
    outcome = run_import(csv_bytes(three_loans()))
    client.force_login(admin_user)
    with django_assert_max_num_queries(8):
        page = client.get(f"/loans/import/{outcome.batch.pk}/?outcome=created").content.decode()
    assert "L-0002" in page and "L-0003" in page and "<td>L-0001</td>" not in page
    assert len(row_outcomes(outcome.batch)) == 3


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_dry_runs_rows_say_what_would_happen_to_each_alike(bank, admin_user, client, language):
    """Seen on the batch page of a 100,000-row dry run: "would update" beside "Unchanged", the one
    a lower-case plan and the other a capitalised fact."""
    from tests.imports.conftest import run_import

    rows = three_loans()
    run_import(csv_bytes(rows[:2]))
    rows[1]["outstanding_principal"] = "400,000.00"
    outcome = run_import(csv_bytes(rows), dry_run=True)
    client.force_login(admin_user)
    page = client.get(f"/loans/import/{outcome.batch.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    badges = re.findall(r'<span class="badge badge-\w+">([^<]+)</span></td></tr>', page)
    badge_words = {
        "en": ["Would stay unchanged", "Would update", "Would create"],
        "zh-hans": ["将保持不变", "将更新", "将新增"],
    }
    assert badges == badge_words[language]
    options = re.findall(r'<option value="(?:created|updated|unchanged)"[^>]*>([^<]+)</option>', page)
    option_words = {
        "en": ["would create", "would update", "would stay unchanged"],
        "zh-hans": ["将新增", "将更新", "将保持不变"],
    }
    assert options == option_words[language]

    done = run_import(csv_bytes(rows))
    page = client.get(f"/loans/import/{done.batch.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.findall(r'<span class="badge badge-\w+">([^<]+)</span></td></tr>', page) == [
        "Unchanged", "Updated", "Created",
    ]  # fmt: skip


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_imports_ledger_entries_and_flags_are_counted_on_its_page(bank, admin_user, client, language):
    """Seen on the page of a 100,000-row re-import: "Flags" and "Ledger" rows with empty cells in
    the table of other records (their counts are not created / updated / unchanged), untranslated
    in Chinese, and the 10,000 balance changes reported by the book nowhere."""
    from tests.imports.conftest import run_import

    rows = three_loans()
    run_import(csv_bytes(rows))
    rows[1]["outstanding_principal"] = "400,000.00"
    outcome = run_import(csv_bytes(rows))
    assert outcome.batch.counts["ledger"]["book_reported"] == 1
    client.force_login(admin_user)
    page = client.get(f"/loans/import/{outcome.batch.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    others = page[page.index('id="other-records"') : page.index("</table>", page.index('id="other-records"'))]
    assert re.findall(r"<tr><td>([^<]+)</td>", others) == {"en": ["Borrowers"], "zh-hans": ["借款人"]}[language]
    title = {"en": "Ledger entries and flags", "zh-hans": "台账记录与标记"}[language]
    assert f"<h2>{title}</h2>" in page
    # The rows' heading is each row's outcome, not a count of rows ("行数", as the exports' column says).
    assert {"en": "<h2>Rows</h2>", "zh-hans": "<h2>各行（处理结果）</h2>"}[language] in page
    figures = page[page.index('id="ledger-and-flags"') :]
    counted = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", figures))
    expected = {
        "en": {
            "Reported by the book": "1",
            "To classify": "0",
            "Correction from the book": "0",
            "Opening balance": "0",
            "Loans by loans": "0",
            "First pay off, then increase": "0",
        },
        "zh-hans": {
            "账面报告（待分类）": "1",
            "待认定": "0",
            "按账面更正": "0",
            "期初余额": "0",
            "以贷收贷": "0",
            "先收后贷": "0",
        },
    }
    assert counted == expected[language]


def test_the_template_has_every_column_a_chinese_line_and_an_example(bank, admin_user, client):
    client.force_login(admin_user)
    response = client.get("/loans/import/template.xlsx")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Loans", "Guarantees", "Collateral"]
    for title, columns in (
        ("Loans", LOAN_COLUMNS),
        ("Guarantees", GUARANTEE_COLUMNS),
        ("Collateral", COLLATERAL_COLUMNS),
    ):
        rows = list(workbook[title].iter_rows(values_only=True))
        assert list(rows[0]) == [c.field for c in columns]
        assert list(rows[1]) == [c.chinese for c in columns]
        assert len(rows) == 3 and all(v is not None for v in rows[2][:3])
    assert workbook["Loans"]["L3"].is_date  # disbursed_on: a real spreadsheet date
    csv_text = client.get("/loans/import/template.csv?sheet=loans").content.decode("utf-8-sig").splitlines()
    assert csv_text[0].startswith("loan_no,borrower_name") and csv_text[1].startswith("贷款编号,借款人名称")


def test_the_template_as_downloaded_imports_its_example(bank, admin_user, client):
    from tests.imports.conftest import run_import

    client.force_login(admin_user)
    content = client.get("/loans/import/template.xlsx").content
    outcome = run_import(content, name="template.xlsx", as_of=timezone.localdate())
    assert outcome.ok, outcome.errors
    assert outcome.summary == "created 1, updated 0, unchanged 0"
    assert outcome.batch.counts["guarantees"]["created"] == outcome.batch.counts["collateral"]["created"] == 1


def test_the_xlsx_template_has_drop_down_lists_for_coded_columns():
    """Issue 10: borrower kind, yes/no and lien status are picked from a list in the template."""
    import io

    from openpyxl import load_workbook

    from loans.importing.template import template_xlsx

    workbook = load_workbook(io.BytesIO(template_xlsx()))

    def lists(sheet_name: str) -> dict[str, str]:
        sheet = workbook[sheet_name]
        header = [c.value for c in sheet[1]]
        out = {}
        for validation in sheet.data_validations.dataValidation:
            column = str(validation.sqref).split(":")[0].rstrip("0123456789")
            index = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(column))) - 1
            out[header[index]] = validation.formula1
        return out

    loans = lists("Loans")
    assert loans["borrower_kind"] == '"individual,enterprise,government_agency,village_collective,public_institution"'
    assert loans["business_ceased"] == '"yes,no"' and loans["government_directed"] == '"yes,no"'
    assert "loan_no" not in loans
    assert lists("Collateral")["lien_status"] == '"free,frozen,sealed,auctioned"'
