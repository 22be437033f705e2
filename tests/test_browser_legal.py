"""The legal journey of issue 12 in headless Chromium: file a suit from the case page, record a
hearing, seal the debtor's flat and get its expiry reminder from the daily check, generate a
collection notice from its template, serve it with the signed receipt attached, then download the
receipt as a colleague of the branch (200) and as an officer of another branch (404).
Screenshots: var/screenshots/journey-legal-<step>.png."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accountability.daily_checks import check_run
from collections_app import services
from collections_app.models import LegalProceeding, Notice
from evidence.models import GeneratedDocument
from legal.models import Hearing, PreservationOrder
from loans.models import Borrower
from notifications.models import Notification
from tests.cases.test_browser_cases import switch_user
from tests.factories import BorrowerFactory, LoanFactory

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


def test_the_legal_journey(browser_session, legal_case, officer, officer2, outsider, tmp_path):
    today = timezone.localdate()
    s = browser_session.login(officer.username)
    page = s.page
    s.go(legal_case.get_absolute_url())

    # File a suit from the case page.
    page.click("#record-proceeding summary")
    page.fill("#id_proceeding-court", "Riverside District People's Court")
    page.fill("#id_proceeding-case_number", "(2026) Riv 0102 Min Chu 88")
    page.fill("#id_proceeding-cause", "Loan contract dispute")
    page.fill("#id_proceeding-claim_principal", "80000")
    page.fill("#id_proceeding-lawyer", "Heng Tai Law Firm")
    page.fill("#id_proceeding-filed_on", (today - timedelta(days=20)).isoformat())
    page.click("#form-proceeding button[type=submit]")
    page.wait_for_selector("text=Legal proceeding recorded.")
    proceeding = LegalProceeding.objects.get(case=legal_case)

    # The proceeding page: record a hearing.
    page.get_by_role("link", name="Riverside District People's Court").first.click()
    page.wait_for_load_state()
    assert "(2026) Riv 0102 Min Chu 88" in page.locator("h1").inner_text()
    page.click("#record-hearing summary")
    page.fill("#id_hearing-held_on", (today + timedelta(days=10)).isoformat())
    page.fill("#id_hearing-place", "Court room 3")
    page.click("#form-hearing button[type=submit]")
    page.wait_for_selector("text=Hearing recorded.")
    assert "Court room 3" in page.locator("#hearings").inner_text()

    # Seal the debtor's flat: the expiry defaults to 3 years for real estate.
    page.click("#record-order summary")
    page.select_option("#id_order-kind", "seal")
    page.select_option("#id_order-asset_kind", "real_estate")
    page.fill("#id_order-description", "Flat 3-201, 18 Riverside Road")
    page.fill("#id_order-ruling_on", (today - timedelta(days=5)).isoformat())
    page.click("#form-order button[type=submit]")
    page.wait_for_selector("text=Preservation order recorded.")
    order = PreservationOrder.objects.get()
    ruling = today - timedelta(days=5)
    assert order.expires_on == ruling.replace(year=ruling.year + 3) - timedelta(days=1)
    assert "Flat 3-201" in page.locator("#orders").inner_text()
    s.shot("journey-legal-1-proceeding")

    # The debtor's assets: record the flat on the register (the seal may then point at it).
    page.get_by_role("link", name="Debtor's assets").click()
    page.wait_for_load_state()
    page.select_option("#id_kind", "real_estate")
    page.fill("#id_description", "Flat 3-201, 18 Riverside Road")
    page.fill("#id_where_found", "Land registry search")
    page.fill("#id_estimated_value", "450000")
    page.click("#form-asset button[type=submit]")
    page.wait_for_selector("text=Asset recorded.")
    assert "Land registry search" in page.locator("#asset-register").inner_text()
    s.shot("journey-legal-1b-assets")

    # The daily check 30 days before the seal expires: the reminder links to the proceeding page.
    check_run(name="preservation_orders", as_of=order.expires_on - timedelta(days=30))
    reminder = Notification.objects.get(recipient=officer, kind="preservation.reminder")
    assert reminder.url == reverse("legal:proceeding_detail", args=[proceeding.pk])
    s.go("/notifications/")
    assert "a preservation order expires in 30 days" in page.locator("main").inner_text()
    s.shot("journey-legal-2-reminder")

    # Generate a collection notice from the template, serve it, attach the signed receipt.
    s.go(legal_case.get_absolute_url())
    page.select_option("#document-generate select[name=kind]", "collection_notice")
    page.click("#document-generate button[type=submit]")
    page.wait_for_load_state()
    document = GeneratedDocument.objects.get(case=legal_case)
    receipt = tmp_path / "signed-receipt.pdf"
    receipt.write_bytes(PDF)
    page.click("#record-notice summary")
    page.fill("#id_notice-served_to", "Zhao Lei")
    page.select_option("#id_notice-method", "registered_mail")
    page.fill("#id_notice-tracking_number", "EMS1234567890CN")
    page.select_option("#id_notice-document", str(document.pk))
    page.set_input_files("#id_notice-receipt", str(receipt))
    page.click("#form-notice button[type=submit]")
    page.wait_for_selector("text=Notice recorded.")
    notice = Notice.objects.get(case=legal_case)
    assert notice.receipt is not None
    # The proceeding page lists the served notice with its receipt.
    s.go(proceeding.get_absolute_url())
    assert "signed-receipt.pdf" in page.locator("#notices").inner_text()
    s.shot("journey-legal-3-notice")

    download = reverse("evidence:download", args=[notice.receipt_id])
    switch_user(s, officer2.username)
    assert page.request.get(s.base + download).status == 200
    switch_user(s, outsider.username)
    assert page.request.get(s.base + download).status == 404
    assert page.request.get(s.base + proceeding.get_absolute_url()).status == 404
    assert Hearing.objects.filter(proceeding=proceeding).count() == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_time_barred_warning_stays_inside_its_tile(browser_session, legal_case, officer, language):
    """The case page's limitation tile: its warning (a sentence, as a badge) ran out of the tile and
    was cut off at the page's edge (seen in a headless Chromium screenshot at 1,400 px); it wraps."""
    from collections_app.models import CollectionCase

    CollectionCase.objects.filter(pk=legal_case.pk).update(
        limitation_expires_on=timezone.localdate() - timedelta(days=3)
    )
    s = browser_session.login(officer.username)
    s.page.set_viewport_size({"width": 1400, "height": 900})
    s.page.context.add_cookies([{"name": "django_language", "value": language, "url": s.base}])
    s.go(legal_case.get_absolute_url())
    tile = s.page.locator("#kpi-limitation")
    badge = tile.locator(".badge-bad")
    assert badge.count() == 1
    tile_box, badge_box = tile.bounding_box(), badge.bounding_box()
    assert badge_box["x"] + badge_box["width"] <= tile_box["x"] + tile_box["width"] + 0.5
    s.shot(f"case-time-barred-tile-{language}")


def test_the_case_page_fits_a_phone(browser_session, legal_case, officer):
    """At 390 px (an officer's phone) the case page scrolled sideways to 787 px: its two-column
    grid kept each column at least 380 px and let the balance ledger's table widen its card. The
    page fits; the ledger scrolls inside its own frame."""
    s = browser_session.login(officer.username)
    s.page.set_viewport_size({"width": 390, "height": 900})
    s.go(legal_case.get_absolute_url())
    assert s.page.locator("table.ledger").count() == 1
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 390
    s.shot("case-page-phone")
