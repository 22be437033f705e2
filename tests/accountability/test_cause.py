"""Why a loan went bad, and the compensation a human cause proposes (issue 11, item 7)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accountability.causes import case_cause_record
from accountability.models import AccountabilityRecord, CaseCause
from accountability.services import record_decide
from audit.models import AuditEvent
from tests.accountability.conftest import OPENED

pytestmark = pytest.mark.django_db

# The loan of npl_case owes 80,000.00 principal + 1,000.00 on + 500.00 off balance sheet.
LOSS = Decimal("81500.00")


def test_an_objective_cause_is_recorded_by_a_manager_and_proposes_nothing(npl_case, manager):
    cause = case_cause_record(
        case=npl_case, actor=manager, kind="natural_disaster", description="The flood of July", as_of=OPENED
    )
    assert (cause.category, cause.kind, cause.loss) == ("objective", "natural_disaster", LOSS)
    assert cause.recorded_by == manager
    assert not AccountabilityRecord.objects.filter(origin="human_cause").exists()
    event = AuditEvent.objects.get(event_type="accountability.cause_recorded")
    assert event.actor == manager and event.new_values["kind"] == "natural_disaster" and event.old_values == {}


def test_a_human_cause_proposes_compensation_per_person_sized_by_rate_loss_and_share(
    npl_case, manager, officer, officer2
):
    case_cause_record(
        case=npl_case,
        actor=manager,
        kind="negligence",
        description="Collateral never registered",
        staff=[(officer, Decimal("60")), (officer2, Decimal("40"))],
        as_of=OPENED,
    )
    records = {r.officer: r for r in AccountabilityRecord.objects.filter(origin="human_cause")}
    # 5% (the default compensation_rate) x 81,500.00 x 60% = 2,445.00; x 40% = 1,630.00.
    assert records[officer].amount == Decimal("2445.00") and records[officer2].amount == Decimal("1630.00")
    for record in records.values():
        assert (record.kind, record.record_type, record.state) == ("sanction", "compensation", "proposed")
        assert record.proposed_by == manager and record.case == npl_case
    assert AuditEvent.objects.filter(event_type="accountability.proposed").count() == 2


def test_the_compensation_rate_is_a_setting(npl_case, manager, officer, settings):
    settings.NPL_RULES = {"compensation_rate": "0.10"}
    case_cause_record(
        case=npl_case, actor=manager, kind="fraud", description="Forged papers", staff=[(officer, 100)], as_of=OPENED
    )
    assert AccountabilityRecord.objects.get(origin="human_cause").amount == Decimal("8150.00")


def test_recording_the_cause_twice_proposes_nothing_twice(npl_case, manager, officer):
    for description in ("Rules broken", "Rules broken, as the audit found"):
        case_cause_record(
            case=npl_case,
            actor=manager,
            kind="lending_rules_broken",
            description=description,
            staff=[(officer, Decimal("100"))],
            as_of=OPENED,
        )
    assert AccountabilityRecord.objects.filter(origin="human_cause").count() == 1
    assert CaseCause.objects.get().description == "Rules broken, as the audit found"
    second = AuditEvent.objects.filter(event_type="accountability.cause_recorded").order_by("-id").first()
    assert second.old_values["description"] == "Rules broken"


def test_the_compensation_is_decided_maker_checker(npl_case, manager, manager2, officer):
    case_cause_record(
        case=npl_case, actor=manager, kind="interference", description="Pressure", staff=[(officer, 100)], as_of=OPENED
    )
    record = AccountabilityRecord.objects.get(origin="human_cause")
    with pytest.raises(PermissionDenied):
        record_decide(record=record, decision="impose", actor=manager, reason="Agreed")
    record = record_decide(record=record, decision="impose", actor=manager2, reason="Agreed")
    assert record.state == "imposed" and record.decided_by == manager2


@pytest.mark.parametrize(
    ("kind", "staff", "field_says"),
    [
        ("negligence", "none", "Name at least one"),
        ("negligence", "half", "add up to 100"),
        ("market", "all", "names no staff"),
    ],
)
def test_bad_causes_are_refused_and_nothing_is_written(npl_case, manager, officer, kind, staff, field_says):
    people = {"none": [], "half": [(officer, Decimal("50"))], "all": [(officer, Decimal("100"))]}[staff]
    with pytest.raises(ValidationError) as error:
        case_cause_record(case=npl_case, actor=manager, kind=kind, description="x", staff=people, as_of=OPENED)
    assert field_says in " ".join(error.value.message_dict["staff"])
    assert not CaseCause.objects.exists() and not AccountabilityRecord.objects.filter(origin="human_cause").exists()


def test_an_officer_cannot_record_a_cause_nor_a_manager_name_themselves(npl_case, manager, officer):
    with pytest.raises(PermissionDenied):
        case_cause_record(case=npl_case, actor=officer, kind="market", description="x", as_of=OPENED)
    with pytest.raises(ValidationError):
        case_cause_record(
            case=npl_case, actor=manager, kind="fraud", description="x", staff=[(manager, 100)], as_of=OPENED
        )
    assert not CaseCause.objects.exists()


def test_a_manager_of_another_branch_gets_a_404_and_cannot_record(npl_case, outside_manager, login):
    with pytest.raises(PermissionDenied):
        case_cause_record(case=npl_case, actor=outside_manager, kind="market", description="x", as_of=OPENED)
    client = login(outside_manager)
    assert client.get(reverse("accountability:case_cause", args=[npl_case.pk])).status_code == 404


def test_the_cause_page_records_a_human_cause_with_its_staff(npl_case, manager, officer, officer2, login):
    client = login(manager)
    url = reverse("accountability:case_cause", args=[npl_case.pk])
    response = client.post(
        url,
        {
            "kind": "negligence",
            "description": "No site visit before lending",
            "person_1": str(officer.pk),
            "share_1": "70",
            "person_2": str(officer2.pk),
            "share_2": "30",
        },
    )
    assert response.status_code == 302
    cause = CaseCause.objects.get()
    assert {(s.person, s.share) for s in cause.shares.all()} == {(officer, Decimal("70")), (officer2, Decimal("30"))}
    page = client.get(url).content.decode()
    assert "No site visit before lending" in page and "2,852.50" in page  # 5% x 81,500.00 x 70%


def test_the_cause_page_names_what_is_wrong(npl_case, manager, officer, login):
    client = login(manager)
    url = reverse("accountability:case_cause", args=[npl_case.pk])
    response = client.post(url, {"kind": "fraud", "description": "x", "person_1": str(officer.pk), "share_1": "40"})
    assert response.status_code == 400
    assert "add up to 100" in response.content.decode()
    assert not CaseCause.objects.exists()


def test_an_officer_reads_the_cause_page_but_may_not_post(npl_case, officer, login):
    client = login(officer)
    url = reverse("accountability:case_cause", args=[npl_case.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"kind": "market", "description": "x"}).status_code == 403
