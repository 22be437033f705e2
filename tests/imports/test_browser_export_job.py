"""A manager asks for a large export in headless Chromium, watches its progress and downloads it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loans.models import ExportJob
from tests.factories import LoanFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_starts_a_background_export_and_downloads_the_file(
    browser_session, branch, manager, celery_worker_factory, settings, tmp_path
):
    settings.NPL_EXPORT_SYNC_MAX_ROWS = 5
    settings.NPL_EXPORT_QUEUE = celery_worker_factory.queue
    settings.MEDIA_ROOT = str(tmp_path)
    for i in range(30):
        LoanFactory(loan_no=f"BX-{i:03d}", branch=branch, outstanding_principal=Decimal("1000.00") + i)
    celery_worker_factory(extra_env={"MEDIA_ROOT": str(tmp_path)})

    s = browser_session.login("manager")
    page = s.page
    s.go("/loans/")
    page.click("text=Export CSV")
    page.wait_for_selector("#export-start")
    s.shot("export-offer")
    page.click("#export-start")
    page.wait_for_url("**/loans/export/jobs/*/")
    page.wait_for_selector("#export-download", timeout=120_000)  # the page reloads itself when it is done
    s.shot("export-job-done")
    assert "30" in page.locator("#export-progress").inner_text()
    with page.expect_download() as download:
        page.click("#export-download")
    body = download.value.path().read_text(encoding="utf-8-sig")
    assert body.count("BX-") == 30
    assert ExportJob.objects.get().status == "done"
    s.go("/loans/export/")
    assert page.locator("#export-jobs tbody tr").count() == 1
    s.shot("export-index-jobs")
    # On a phone the list of jobs scrolls in its own frame; the page does not scroll sideways
    # (it was 429 px wide at 390 with a million-row job listed).
    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    s.shot("export-index-jobs-phone")
