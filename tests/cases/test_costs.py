"""Collection costs of a case and net recovery (issue 11, item 6)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from collections_app import services
from collections_app.models import CaseCost
from collections_app.selectors import case_money, case_timeline

pytestmark = pytest.mark.django_db


def test_an_officer_records_a_court_fee_the_bank_paid_and_it_is_audited(case, officer, today):
    cost = services.cost_record(
        case=case,
        actor=officer,
        kind=CaseCost.Kind.LITIGATION,
        amount=Decimal("3500.004"),
        incurred_on=today,
        source_document="(2026) Court fee 118",
    )
    assert cost.amount == Decimal("3500.00") and cost.borne_by == "bank" and cost.recoverable
    assert cost.recorded_by == officer
    event = AuditEvent.objects.get(event_type="case.cost_recorded")
    assert event.actor == officer and event.new_values["amount"] == "3500.00"
    assert event.new_values["kind"] == "litigation" and event.new_values["source_document"] == "(2026) Court fee 118"


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5")])
def test_a_cost_of_nothing_or_less_is_refused_naming_the_amount(case, officer, today, amount):
    with pytest.raises(ValidationError) as error:
        services.cost_record(case=case, actor=officer, kind="travel", amount=amount, incurred_on=today)
    assert "amount" in error.value.message_dict
    assert not CaseCost.objects.exists() and not AuditEvent.objects.filter(event_type="case.cost_recorded").exists()


def test_a_cost_in_the_future_or_before_the_case_opened_is_refused(case, officer, today):
    for day in (today + timedelta(days=1), case.opened_on - timedelta(days=1)):
        with pytest.raises(ValidationError) as error:
            services.cost_record(case=case, actor=officer, kind="appraisal", amount=Decimal("10"), incurred_on=day)
        assert "incurred_on" in error.value.message_dict
    assert not CaseCost.objects.exists()


def test_an_officer_of_another_branch_cannot_record_a_cost(case, outsider, today):
    with pytest.raises(PermissionDenied):
        services.cost_record(case=case, actor=outsider, kind="lawyer", amount=Decimal("10"), incurred_on=today)
    assert not CaseCost.objects.exists()


def test_net_recovery_is_cash_minus_the_costs_the_bank_bore(case, officer, today):
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("10000.00"), as_of=today)
    services.asset_take_in_kind(
        case=case,
        actor=officer,
        kind="vehicle",
        description="Truck",
        taken_on=today,
        appraised_value=Decimal("5000.00"),
        as_of=today,
    )
    services.cost_record(case=case, actor=officer, kind="lawyer", amount=Decimal("1200.00"), incurred_on=today)
    services.cost_record(case=case, actor=officer, kind="auction", amount=Decimal("300.00"), incurred_on=today)
    # Advanced by the guarantor: not the bank's cost, not in net recovery.
    services.cost_record(
        case=case,
        actor=officer,
        kind="appraisal",
        amount=Decimal("800.00"),
        incurred_on=today,
        borne_by=CaseCost.BorneBy.THIRD_PARTY,
    )
    money = case_money(case=case)
    assert money.recoveries.cash == Decimal("10000.00")
    assert money.recoveries.in_kind == Decimal("5000.00")
    assert money.costs.borne_by_bank == Decimal("1500.00")
    assert money.costs.third_party == Decimal("800.00")
    assert money.costs.recoverable_outstanding == Decimal("1500.00")
    assert money.net_recovery == Decimal("8500.00")


def test_the_case_page_shows_costs_and_net_recovery_and_the_timeline_lists_them(case, officer, login, today):
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("2000.00"), as_of=today)
    services.cost_record(case=case, actor=officer, kind="preservation", amount=Decimal("750.00"), incurred_on=today)
    _, timeline = case_timeline(case=case)
    assert [e.kind for e in timeline if e.kind == "cost"] == ["cost"]
    client = login(officer)
    page = client.get(reverse("collections_app:case_detail", args=[case.pk])).content.decode()
    assert 'id="net-recovery"' in page and "1,250.00" in page
    assert "Preservation fees" in page and "750.00" in page


def test_the_cost_form_on_the_case_page_records_a_cost(case, officer, login, today):
    client = login(officer)
    url = reverse("collections_app:record_create", args=[case.pk, "cost"])
    response = client.post(
        url,
        {
            "cost-kind": "appraisal",
            "cost-amount": "420.50",
            "cost-incurred_on": today.isoformat(),
            "cost-borne_by": "bank",
            "cost-recoverable": "on",
            "cost-source_document": "INV-7",
            "cost-note": "Valuer's fee",
        },
    )
    assert response.status_code == 302
    cost = CaseCost.objects.get()
    assert (cost.amount, cost.kind, cost.recoverable) == (Decimal("420.50"), "appraisal", True)
    assert cost.note == "Valuer's fee" and cost.source_document == "INV-7"


def test_the_cost_form_names_the_field_that_is_wrong(case, officer, login, today):
    client = login(officer)
    url = reverse("collections_app:record_create", args=[case.pk, "cost"])
    response = client.post(
        url,
        {
            "cost-kind": "travel",
            "cost-amount": "10",
            "cost-incurred_on": (case.opened_on - timedelta(days=3)).isoformat(),
            "cost-borne_by": "bank",
        },
    )
    assert response.status_code == 400
    assert "Cannot be before the case was opened" in response.content.decode()
    assert not CaseCost.objects.exists()


def test_the_cases_export_has_costs_and_net_recovery(case, officer, manager, outside_manager, client, today):
    import csv
    import io

    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("5000.00"), as_of=today)
    services.cost_record(case=case, actor=officer, kind="litigation", amount=Decimal("1800.00"), incurred_on=today)
    services.cost_record(
        case=case, actor=officer, kind="travel", amount=Decimal("90.00"), incurred_on=today, borne_by="third_party"
    )

    def rows(user) -> list[dict]:
        client.force_login(user)
        body = b"".join(client.get("/loans/export/cases.csv?header=code").streaming_content).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(body)))

    [row] = rows(manager)
    assert (row["cash_recovered"], row["costs_borne"], row["costs_repaid"], row["net_recovery"]) == (
        "5000.00",
        "1800.00",
        "0.00",
        "3200.00",
    )
    assert rows(outside_manager) == []
