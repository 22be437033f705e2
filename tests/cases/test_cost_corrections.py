"""A recorded collection cost is corrected or reversed by a correcting entry, never edited in place
(issue 11, item 6's remaining gap): audited who, when and why; net recovery, the case page, the kept
cost cells (`dashboard_figures --check`) and the recover-costs-first rule follow."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditEvent
from collections_app import services
from collections_app.models import CaseCost, CostRepayment
from collections_app.selectors import case_money
from collections_app.services.costs import costs_repay_first
from dashboards.maintain import differences
from dashboards.models import CostCell

pytestmark = pytest.mark.django_db


def _court_fee(case, officer, today, amount="1000.00", **kwargs) -> CaseCost:
    return services.cost_record(
        case=case,
        actor=officer,
        kind=CaseCost.Kind.LITIGATION,
        amount=Decimal(amount),
        incurred_on=today,
        source_document="Fee notice 17",
        **kwargs,
    )


def _borne_cells() -> Decimal:
    return sum((c.amount for c in CostCell.objects.filter(kind=CostCell.Kind.BORNE)), Decimal("0"))


def _kept_equal() -> None:
    assert [d.as_json() for d in differences().differences] == []
    call_command("dashboard_figures", "--check")  # exit status 1 (SystemExit) when they differ


def test_a_cost_recorded_in_error_is_reversed_by_a_correcting_entry(case, officer, today):
    cost = _court_fee(case, officer, today)
    assert case_money(case=case).net_recovery == Decimal("-1000.00") and _borne_cells() == Decimal("1000.00")
    reversal = services.cost_reverse(case=case, cost=cost, actor=officer, reason="Fee paid by the guarantor, not us")
    cost.refresh_from_db()
    # The cost is as it was recorded; the reversal cancels it.
    assert (cost.amount, cost.kind, cost.incurred_on) == (Decimal("1000.00"), "litigation", today)
    assert (reversal.amount, reversal.reverses, reversal.incurred_on, reversal.recorded_by) == (
        Decimal("-1000.00"),
        cost,
        today,
        officer,
    )
    assert reversal.note == "Fee paid by the guarantor, not us"
    money = case_money(case=case)
    assert (money.costs.borne_by_bank, money.costs.recoverable_outstanding, money.net_recovery) == (0, 0, 0)
    assert _borne_cells() == Decimal("0.00")
    _kept_equal()
    event = AuditEvent.objects.get(event_type="case.cost_reversed")
    assert event.actor == officer and event.reason == "Fee paid by the guarantor, not us"
    assert event.old_values["amount"] == "1000.00" and event.new_values["reversal"] == reversal.pk
    # Once only; a correcting entry is not corrected itself.
    with pytest.raises(ValidationError, match="already been corrected"):
        services.cost_reverse(case=case, cost=cost, actor=officer, reason="again")
    with pytest.raises(ValidationError, match="correcting entry"):
        services.cost_reverse(case=case, cost=reversal, actor=officer, reason="undo")


def test_a_wrong_amount_and_payer_is_corrected_and_every_figure_follows(case, officer, today):
    cost = _court_fee(case, officer, today)
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("5000.00"), as_of=today)
    corrected = services.cost_correct(
        case=case,
        cost=cost,
        actor=officer,
        reason="The fee notice says 1,200.00",
        kind=CaseCost.Kind.LITIGATION,
        amount=Decimal("1200.00"),
        incurred_on=today,
        borne_by=CaseCost.BorneBy.BANK,
        recoverable=True,
        source_document="Fee notice 17",
    )
    assert corrected.replaces == cost and corrected.amount == Decimal("1200.00")
    assert CaseCost.objects.get(reverses=cost).amount == Decimal("-1000.00")
    assert CaseCost.objects.filter(case=case).count() == 3
    assert case_money(case=case).net_recovery == Decimal("3800.00")
    assert _borne_cells() == Decimal("1200.00")
    _kept_equal()
    event = AuditEvent.objects.get(event_type="case.cost_corrected")
    assert event.actor == officer and event.reason == "The fee notice says 1,200.00"
    assert (event.old_values["amount"], event.new_values["amount"]) == ("1000.00", "1200.00")
    # A third party paid it after all: the bank bore nothing.
    services.cost_correct(
        case=case,
        cost=corrected,
        actor=officer,
        reason="Advanced by the guarantor",
        kind=CaseCost.Kind.LITIGATION,
        amount=Decimal("1200.00"),
        incurred_on=today,
        borne_by=CaseCost.BorneBy.THIRD_PARTY,
        recoverable=False,
    )
    money = case_money(case=case)
    assert (money.costs.borne_by_bank, money.costs.third_party, money.net_recovery) == (
        Decimal("0.00"),
        Decimal("1200.00"),
        Decimal("5000.00"),
    )
    _kept_equal()


def test_what_the_debtor_paid_back_moves_to_the_corrected_cost(case, officer, today):
    cost = _court_fee(case, officer, today)
    costs_repay_first(case=case, actor=officer, amount=Decimal("300.00"), received_on=today)
    with pytest.raises(ValidationError, match="paid back 300.00"):
        services.cost_reverse(case=case, cost=cost, actor=officer, reason="error")
    fields = dict(kind="litigation", incurred_on=today, borne_by="bank", recoverable=True, reason="Typo")
    with pytest.raises(ValidationError) as too_little:
        services.cost_correct(case=case, cost=cost, actor=officer, amount=Decimal("200.00"), **fields)
    assert "amount" in too_little.value.message_dict
    corrected = services.cost_correct(case=case, cost=cost, actor=officer, amount=Decimal("800.00"), **fields)
    assert corrected.recovered_amount == Decimal("300.00") and corrected.outstanding == Decimal("500.00")
    money = case_money(case=case)
    assert (money.costs.borne_by_bank, money.costs.repaid, money.costs.recoverable_outstanding) == (
        Decimal("800.00"),
        Decimal("300.00"),
        Decimal("500.00"),
    )
    # Later repayments go to the corrected cost only, never to the reversed one.
    costs_repay_first(case=case, actor=officer, amount=Decimal("500.00"), received_on=today)
    corrected.refresh_from_db()
    assert corrected.recovered_amount == Decimal("800.00")
    assert CostRepayment.objects.filter(cost=cost).count() == 1
    _kept_equal()


def test_a_correction_needs_a_reason_a_change_and_the_right_to_record_costs(case, officer, outsider, auditor, today):
    cost = _court_fee(case, officer, today)
    same = dict(kind="litigation", amount=Decimal("1000.00"), incurred_on=today, source_document="Fee notice 17")
    with pytest.raises(ValidationError) as no_reason:
        services.cost_correct(case=case, cost=cost, actor=officer, reason=" ", **same)
    assert "reason" in no_reason.value.message_dict
    with pytest.raises(ValidationError, match="Nothing is changed"):
        services.cost_correct(case=case, cost=cost, actor=officer, reason="why", **same)
    for user in (outsider, auditor):
        with pytest.raises(PermissionDenied):
            services.cost_reverse(case=case, cost=cost, actor=user, reason="why")
    assert CaseCost.objects.count() == 1


def test_the_case_page_corrects_a_cost_next_to_the_costs(login, case, officer, today):
    cost = _court_fee(case, officer, today)
    client = login(officer)
    page = client.get(case.get_absolute_url()).content.decode()
    url = reverse("collections_app:cost_correct", args=[case.pk, cost.pk])
    # The form is drawn when opened (issue 15): the page links to it; it posts to cost_correct.
    form_url = reverse("collections_app:cost_correct_form", args=[case.pk, cost.pk])
    assert form_url in page and "Correct or reverse" in page and f'action="{url}"' not in page
    drawn = client.get(form_url, HTTP_HX_REQUEST="true").content.decode()
    assert f'action="{url}"' in drawn and "<html" not in drawn and f'name="fix-{cost.pk}-reason"' in drawn
    assert f'action="{url}"' in client.get(form_url).content.decode()  # without JavaScript: a page of its own
    prefix = f"fix-{cost.pk}-"
    form = {
        prefix + "action": "correct",
        prefix + "kind": "litigation",
        prefix + "amount": "1500.00",
        prefix + "incurred_on": today.isoformat(),
        prefix + "borne_by": "bank",
        prefix + "recoverable": "on",
        prefix + "source_document": "Fee notice 17",
        prefix + "reason": "",
    }
    refused = client.post(url, form)
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    assert CaseCost.objects.count() == 1
    response = client.post(url, {**form, prefix + "reason": "Second fee notice"})
    assert response.status_code == 302
    assert case_money(case=case).costs.borne_by_bank == Decimal("1500.00")
    page = client.get(case.get_absolute_url()).content.decode()
    assert "reversed" in page and "correcting entry" in page and "Second fee notice" in page
    # The reversed cost offers no second correction; the corrected one does.
    assert form_url not in page and client.get(form_url).status_code == 404
    corrected = CaseCost.objects.get(replaces=cost)
    reverse_url = reverse("collections_app:cost_correct", args=[case.pk, corrected.pk])
    assert reverse("collections_app:cost_correct_form", args=[case.pk, corrected.pk]) in page
    response = client.post(
        reverse_url, {f"fix-{corrected.pk}-action": "reverse", f"fix-{corrected.pk}-reason": "No fee"}
    )
    assert response.status_code == 302
    assert case_money(case=case).costs.borne_by_bank == Decimal("0.00")


def test_another_branch_gets_a_404_and_the_auditor_a_refusal(client, login, case, officer, outsider, auditor, today):
    cost = _court_fee(case, officer, today)
    url = reverse("collections_app:cost_correct", args=[case.pk, cost.pk])
    data = {f"fix-{cost.pk}-action": "reverse", f"fix-{cost.pk}-reason": "x"}
    assert login(outsider).post(url, data).status_code == 404
    assert login(auditor).post(url, data).status_code == 400
    assert CaseCost.objects.count() == 1
