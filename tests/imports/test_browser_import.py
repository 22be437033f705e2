"""An administrator uploads the loan book in headless Chromium and watches the progress bar."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from loans.models import ImportBatch, Loan
from tests.imports.conftest import csv_bytes, loan_row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_uploads_a_book_and_watches_the_progress_bar_reach_the_end(
    browser_session, bank, admin_user, celery_worker_factory, settings, tmp_path
):
    settings.NPL_IMPORT_QUEUE = celery_worker_factory.queue
    today = timezone.localdate()
    rows = [
        loan_row(
            loan_no=f"B-{i:06d}",
            borrower_id_no=f"BID-{i // 2:06d}",
            borrower_name=f"Borrower {i // 2}",
            overdue_since=(today - timezone.timedelta(days=i % 700)).isoformat() if i % 3 == 0 else "",
        )
        for i in range(60_000)
    ]
    path = tmp_path / "june-book.csv"
    path.write_bytes(csv_bytes(rows, chinese=True))
    celery_worker_factory()

    s = browser_session.login("admin")
    page = s.page
    s.go("/loans/import/")
    s.shot("import-page")
    page.set_input_files("#id_loans_file", str(path))
    page.uncheck("#id_dry_run")
    started = time.monotonic()
    page.click("text=Upload and check")
    page.wait_for_url("**/loans/import/*/")
    assert time.monotonic() - started < 10, "the upload must not wait for the import"

    seen: list[int] = []
    reloaded = False
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        bar = page.locator(".progress[role=progressbar]")
        if bar.count():
            seen.append(int(bar.get_attribute("aria-valuenow")))
            if 0 < seen[-1] < 100 and not reloaded:
                s.shot("import-progress")
                page.reload()  # the bar picks up where it was: the numbers live on the batch
                reloaded = True
                continue
            if seen[-1] == 100 and page.locator("#count-created").count():
                break
        page.wait_for_timeout(250)
    assert seen and seen[-1] == 100, seen
    assert seen == sorted(seen), f"the bar never goes back: {seen}"
    assert any(0 < p < 100 for p in seen), f"the bar moved through the import: {seen}"
    assert page.locator("#count-created").inner_text() == "60,000"
    assert "Imported" in page.content()
    s.shot("import-done")

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created, batch.rows_read) == ("imported", 60_000, 60_000)
    assert Loan.objects.count() == 60_000


def test_the_batch_page_opens_a_run_of_unchanged_rows_to_show_its_loans(browser_session, bank, admin_user):
    from tests.imports.conftest import run_import

    rows = [
        loan_row(loan_no=f"R-{i:04d}", borrower_id_no=f"RID-{i:04d}", borrower_name=f"Borrower {i}") for i in range(40)
    ]
    run_import(csv_bytes(rows))
    rows[20]["outstanding_principal"] = "1000.00"
    outcome = run_import(csv_bytes(rows))
    s = browser_session.login("admin")
    page = s.page
    s.go(f"/loans/import/{outcome.batch.pk}/")
    run = page.locator("#import-rows details.row-run").first
    assert run.locator("summary").inner_text() == "R-0000 … R-0019 (20 rows)"
    assert not run.locator(".row-run-keys").is_visible()
    run.locator("summary").click()
    assert run.locator(".row-run-keys").is_visible()
    assert "R-0007, R-0008" in run.locator(".row-run-keys").inner_text()
    assert page.locator("#import-rows tbody tr").count() == 3  # rows 2-21, row 22, rows 23-41
    s.shot("import-batch-runs")
