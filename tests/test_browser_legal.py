"""The legal journey in headless Chromium (English, laptop): file a suit from the case page, record a
hearing, seal the debtor's flat and get its expiry reminder from the daily check, serve a collection
notice and attach its signed receipt, then download the receipt as a colleague of the branch (200)
and as an officer of another branch (404).

Generating the notice from the bank's template is h7's item 7 (documents), not merged yet: the
notice is served with the case page's form. Screenshots: var/screenshots/journey-legal-<step>.png."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accountability.daily_checks import check_run
from collections_app import services
from collections_app.models import LegalProceeding
from evidence.models import EvidenceFile
from legal.models import PreservationOrder
from loans.models import Borrower
from tests.conftest import SCREENSHOTS
from tests.factories import TEST_PASSWORD, BorrowerFactory, LoanFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _evidence_storage(settings, tmp_path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "evidence"), "base_url": None},
        },
    }


@pytest.fixture
def legal_case(branch, officer):
    from django.utils import timezone

    today = timezone.localdate()
    loan = LoanFactory(
        loan_no="RIV-5001",
        branch=branch,
        responsible_officer=officer,
        issuing_officer=officer,
        borrower=BorrowerFactory(name="Zhao Lei", kind=Borrower.Kind.INDIVIDUAL),
        overdue_since=today - timedelta(days=300),
        five_level_class="doubtful",
        four_level_class="overdue",
        outstanding_principal=Decimal("80000.00"),
    )
    return services.case_open(loan=loan, actor=officer, as_of=today, reason="Stopped paying")


def _login(page, url: str, user) -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login-card button[type=submit]")
    page.wait_for_load_state()


def test_the_legal_journey(browser, live_server, legal_case, officer, officer2, outsider, tmp_path):
    from django.utils import timezone

    today = timezone.localdate()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="en-GB", viewport={"width": 1366, "height": 768})
    page = context.new_page()

    def shot(step: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"journey-legal-{step}.png"), full_page=True)

    try:
        _login(page, live_server.url, officer)
        page.goto(f"{live_server.url}{legal_case.get_absolute_url()}")

        # File a suit from the case page.
        page.locator("summary", has_text="File a legal proceeding").click()
        form = page.locator("#form-proceeding")
        form.get_by_label("Court or authority").fill("Riverside District People's Court")
        form.get_by_label("Court case number").fill("(2026) Riv 0102 Min Chu 88")
        form.get_by_label("Cause of action").fill("Loan contract dispute")
        form.get_by_label("Claimed principal").fill("80000")
        form.get_by_label("Lawyer or law firm").fill("Heng Tai Law Firm")
        form.get_by_label("Filed on").fill((today - timedelta(days=20)).isoformat())
        form.get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_contain_text("Legal proceeding recorded.")
        proceeding = LegalProceeding.objects.get(case=legal_case)

        # Serve a collection notice with the debtor's signed receipt.
        page.locator("summary", has_text="Serve a collection notice").click()
        form = page.locator("#form-notice")
        form.get_by_label("Served to").fill("Zhao Lei")
        form.get_by_label("Signed by the debtor").check()
        form.get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_contain_text("Notice recorded.")

        # The proceeding page: record a hearing.
        page.get_by_role("link", name="Riverside District People's Court").first.click()
        page.wait_for_load_state()
        expect(page.locator("h1")).to_contain_text("(2026) Riv 0102 Min Chu 88")
        page.locator("summary", has_text="Record a hearing").click()
        form = page.locator("#form-hearing")
        form.get_by_label("Hearing date").fill((today + timedelta(days=10)).isoformat())
        form.get_by_label("Place").fill("Court room 3")
        form.get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_contain_text("Hearing recorded.")
        expect(page.locator("#hearings")).to_contain_text("Court room 3")

        # Seal the debtor's flat: the expiry defaults to 3 years for real estate.
        page.locator("summary", has_text="Freeze, seal or seizure order").click()
        form = page.locator("#form-order")
        form.get_by_label("Order", exact=True).select_option(label="Seal up")
        form.get_by_label("Asset kind").select_option(label="Real estate")
        form.get_by_label("What is preserved", exact=True).fill("Flat 3-201, 18 Riverside Road")
        form.get_by_label("Ruling date").fill((today - timedelta(days=5)).isoformat())
        form.get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_contain_text("Preservation order recorded.")
        order = PreservationOrder.objects.get()
        ruling = today - timedelta(days=5)
        assert order.expires_on == ruling.replace(year=ruling.year + 3) - timedelta(days=1)
        expect(page.locator("#orders")).to_contain_text("Flat 3-201")
        shot("1-proceeding")

        # Attach the notice's signed receipt.
        notice = legal_case.notices.get()
        receipt = Path(tmp_path) / "signed-receipt.pdf"
        receipt.write_bytes(PDF)
        panel = page.locator(f"#ev-collections_app-notice-{notice.pk}")
        panel.locator("input[type=file]").set_input_files(str(receipt))
        panel.locator("select").first.select_option(value="receipt")
        panel.get_by_role("button", name="Attach").click()
        expect(page.locator(f"#ev-collections_app-notice-{notice.pk}")).to_contain_text("signed-receipt.pdf")
        shot("2-receipt")

        # The daily check, 30 days before the seal expires: the reminder links to the proceeding.
        check_run(name="preservation_orders", as_of=order.expires_on - timedelta(days=30))
        page.goto(f"{live_server.url}/notifications/")
        expect(page.locator("main")).to_contain_text("a preservation order expires in 30 days")
        shot("3-reminder")
    finally:
        context.close()

    evidence = EvidenceFile.objects.get(original_name="signed-receipt.pdf")
    assert evidence.case_id == legal_case.pk
    url = f"{live_server.url}/evidence/{evidence.pk}/"
    for user, status in ((officer2, 200), (outsider, 404)):
        other = browser.new_context(locale="en-GB")
        try:
            page = other.new_page()
            _login(page, live_server.url, user)
            response = page.request.get(url)
            assert response.status == status, (user.username, response.status)
            if status == 200:
                assert response.body() == PDF
        finally:
            other.close()
    assert proceeding.hearings.count() == 1
