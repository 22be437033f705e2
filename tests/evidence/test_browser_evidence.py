"""Issue 12 items 7 and 8 in headless Chromium: generate a collection notice from its template,
serve it with the signed receipt attached, download the receipt as a colleague (and a 404 for
another branch's officer); and the administrators' templates page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from collections_app.models import Notice
from evidence.models import GeneratedDocument
from tests.accountability.conftest import open_npl_case
from tests.cases.test_browser_cases import switch_user
from tests.evidence.conftest import PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_generate_serve_and_attach_the_receipt_through_the_ui(
    browser_session, branch, officer, officer2, outsider, admin_user, tmp_path
):
    case = open_npl_case(branch=branch, officer=officer)
    s = browser_session.login(officer.username)
    page = s.page
    s.go(f"/cases/{case.pk}/")
    page.select_option("#document-generate select[name=kind]", "collection_notice")
    page.click("#document-generate button[type=submit]")
    page.wait_for_load_state()
    document = GeneratedDocument.objects.get(case=case)
    assert document.number in page.locator("#documents").inner_text()

    receipt = tmp_path / "回执.pdf"
    receipt.write_bytes(PDF)
    page.click("#record-notice summary")
    page.fill("#id_notice-served_to", "The borrower")
    page.select_option("#id_notice-method", "registered_mail")
    page.fill("#id_notice-tracking_number", "EMS1234567890CN")
    page.select_option("#id_notice-document", str(document.pk))
    page.set_input_files("#id_notice-receipt", str(receipt))
    page.click("#form-notice button[type=submit]")
    page.wait_for_selector("text=Notice recorded.")
    notice = Notice.objects.get(case=case)
    assert notice.receipt is not None and notice.tracking_number == "EMS1234567890CN"
    assert page.locator("a.notice-receipt").count() == 1
    assert "回执.pdf" in page.locator("#evidence").inner_text()
    page.locator("#evidence").scroll_into_view_if_needed()
    s.shot("evidence-case-documents-and-files")

    switch_user(s, officer2.username)
    with page.expect_download() as download:
        page.evaluate(f"window.location.href = '{reverse('evidence:download', args=[notice.receipt_id])}'")
    assert download.value.suggested_filename == "回执.pdf"

    switch_user(s, outsider.username)
    response = page.request.get(s.base + reverse("evidence:download", args=[notice.receipt_id]))
    assert response.status == 404

    switch_user(s, admin_user.username)
    s.go("/evidence/templates/")
    assert page.locator("#templates-in-use tbody tr").count() == 4
    s.shot("evidence-templates")
