"""The proceeding page and the asset register: scoped, bad input refused with a message, deadlines
shown at their edges, a time-barred claim marked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from freezegun import freeze_time

from collections_app.models import CollectionCase
from legal import services
from legal.models import DebtorAsset, Hearing

pytestmark = pytest.mark.django_db


def test_officer_files_a_suit_with_its_case_file_from_the_case_page(client, case, officer, today):
    client.force_login(officer)
    response = client.post(
        reverse("collections_app:record_create", args=[case.pk, "proceeding"]),
        {
            "proceeding-forum": "arbitration",
            "proceeding-court": "Riverside Arbitration Commission",
            "proceeding-case_number": "RAC-7",
            "proceeding-cause": "Loan contract dispute",
            "proceeding-claim_principal": "80000",
            "proceeding-claim_interest": "1500",
            "proceeding-lawyer": "Heng Tai",
            "proceeding-filed_on": today.isoformat(),
        },
    )
    assert response.status_code == 302
    proceeding = case.proceedings.get()
    assert proceeding.forum == "arbitration" and proceeding.claim_total == Decimal("81500.00")
    page = client.get(case.get_absolute_url()).content.decode()
    assert proceeding.get_absolute_url() in page


def test_the_proceeding_page_is_a_404_for_an_officer_of_another_branch(client, proceeding, officer, outsider, manager):
    url = reverse("legal:proceeding_detail", args=[proceeding.pk])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(reverse("legal:proceeding_action", args=[proceeding.pk, "hearing"]), {}).status_code == 404
    client.force_login(officer)
    page = client.get(url)
    assert page.status_code == 200 and "Heng Tai Law Firm" in page.content.decode()
    client.force_login(manager)
    assert client.get(url).status_code == 200


def test_a_hearing_before_the_filing_date_is_refused_on_the_page(client, proceeding, officer, filed_on):
    client.force_login(officer)
    response = client.post(
        reverse("legal:proceeding_action", args=[proceeding.pk, "hearing"]),
        {"hearing-held_on": (filed_on - timedelta(days=1)).isoformat(), "hearing-place": "Room 1"},
    )
    assert response.status_code == 400
    assert "Cannot be before the proceeding was filed" in response.content.decode()
    assert not Hearing.objects.exists()
    response = client.post(
        reverse("legal:proceeding_action", args=[proceeding.pk, "hearing"]),
        {"hearing-held_on": filed_on.isoformat(), "hearing-place": "Room 1"},
    )
    assert response.status_code == 302 and Hearing.objects.count() == 1


def test_an_expiry_before_the_ruling_is_refused_on_the_page(client, proceeding, officer, today):
    client.force_login(officer)
    response = client.post(
        reverse("legal:proceeding_action", args=[proceeding.pk, "order"]),
        {
            "order-kind": "seal",
            "order-asset_kind": "real_estate",
            "order-description": "Flat",
            "order-ruling_on": today.isoformat(),
            "order-expires_on": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "The expiry must be after the ruling date" in response.content.decode()
    assert not proceeding.preservation_orders.exists()


@pytest.mark.parametrize(("days_before", "badge"), [(31, False), (30, True), (29, True)])
def test_an_order_shows_renew_soon_from_30_days_before_expiry(client, proceeding, officer, today, days_before, badge):
    order = services.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="seal",
        asset_kind="real_estate",
        description="Flat",
        ruling_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=100),
    )
    client.force_login(officer)
    with freeze_time(order.expires_on - timedelta(days=days_before)):
        client.force_login(officer)
        page = client.get(reverse("legal:proceeding_detail", args=[proceeding.pk])).content.decode()
    assert ("renew soon" in page) is badge


@pytest.mark.parametrize(("days_after", "lapsed"), [(0, False), (1, True)])
def test_an_order_is_shown_lapsed_the_day_after_its_expiry(client, proceeding, officer, today, days_after, lapsed):
    order = services.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="freeze",
        asset_kind="bank_account",
        description="Account",
        ruling_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=3),
    )
    client.force_login(officer)
    with freeze_time(order.expires_on + timedelta(days=days_after)):
        client.force_login(officer)
        page = client.get(reverse("legal:proceeding_detail", args=[proceeding.pk])).content.decode()
    assert (">lapsed<" in page) is lapsed


@pytest.mark.parametrize(("days_after", "barred"), [(-1, False), (0, False), (1, True)])
def test_a_time_barred_claim_is_marked_on_the_proceeding_and_case_pages(
    client, proceeding, officer, days_after, barred
):
    expires = CollectionCase.objects.get(pk=proceeding.case_id).limitation_expires_on
    client.force_login(officer)
    with freeze_time(expires + timedelta(days=days_after)):
        client.force_login(officer)
        page = client.get(reverse("legal:proceeding_detail", args=[proceeding.pk])).content.decode()
        case_page = client.get(reverse("collections_app:case_detail", args=[proceeding.case_id])).content.decode()
    assert ('id="time-barred"' in page) is barred
    assert ("time-barred" in case_page) is barred


def test_the_enforcement_deadline_turns_red_60_days_before(client, proceeding, officer, filed_on):
    p = services.decision_record(
        proceeding=proceeding,
        actor=officer,
        decision_kind="judgment",
        decided_on=filed_on + timedelta(days=5),
        performance_deadline=filed_on + timedelta(days=20),
    )
    client.force_login(officer)
    url = reverse("legal:proceeding_detail", args=[p.pk])
    with freeze_time(p.enforcement_deadline - timedelta(days=61)):
        client.force_login(officer)
        assert "apply soon" not in client.get(url).content.decode()
    with freeze_time(p.enforcement_deadline - timedelta(days=60)):
        client.force_login(officer)
        assert "apply soon" in client.get(url).content.decode()
    with freeze_time(p.enforcement_deadline + timedelta(days=1)):
        client.force_login(officer)
        assert "deadline passed" in client.get(url).content.decode()


def test_officer_records_an_asset_on_the_borrowers_register(client, case, officer, outsider, auditor, today):
    borrower = case.loan.borrower
    url = reverse("legal:borrower_assets", args=[borrower.pk])
    client.force_login(officer)
    response = client.post(
        url,
        {
            "owner": f"b:{borrower.pk}",
            "kind": "vehicle",
            "description": "Truck A-12345",
            "where_found": "Vehicle registry",
            "found_on": today.isoformat(),
            "estimated_value": "30000",
        },
    )
    assert response.status_code == 302
    asset = DebtorAsset.objects.get()
    assert asset.borrower == borrower and asset.branch == case.branch
    assert "Truck A-12345" in client.get(url).content.decode()
    bad = client.post(url, {"owner": f"b:{borrower.pk}", "kind": "vehicle", "description": "X", "found_on": "x"})
    assert bad.status_code == 400 and DebtorAsset.objects.count() == 1
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(auditor)
    page = client.get(url)
    assert page.status_code == 200 and 'id="form-asset"' not in page.content.decode()
