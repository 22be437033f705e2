"""Item 9: the write-off dossier: evidence its reason requires, no approval while any is missing,
a second manager above the amount, and recoveries after the write-off reported as such (账销案存)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from collections_app.models import CaseRequest, CollectionCase, Recovery
from collections_app.services import case_request_approve, case_request_create, recovery_record
from evidence.dossier import WriteOffPolicy, missing_items, needs_second_approval
from evidence.policy import write_off_policy
from evidence.selectors import write_off_dossier
from evidence.services import evidence_supersede, evidence_upload
from loans.policy import build_policy
from tests.accountability.conftest import open_npl_case
from tests.evidence.conftest import upload

pytestmark = pytest.mark.django_db

# What the loss-class loan below still owes: 80,000 + 1,000 + 500.
OWED = Decimal("81500.00")


@pytest.fixture
def loss_case(branch, officer) -> CollectionCase:
    # Opened a week ago: a recovery dated yesterday must not be before the case's opening (issue 11).
    return open_npl_case(branch=branch, officer=officer, opened_on=timezone.localdate() - timedelta(days=7), dpd=400)


def _request(case, officer, reason="enforcement_ended") -> CaseRequest:
    return case_request_create(
        case=case,
        target="written_off",
        actor=officer,
        as_of=timezone.localdate(),
        reason="Nothing left to enforce",
        write_off_reason=reason,
    )


def _attach_all(request: CaseRequest, officer) -> None:
    for item in write_off_policy().write_off_evidence[request.write_off_reason]:
        evidence_upload(actor=officer, target=request, upload=upload(f"{item}.pdf"), kind="judgment", requirement=item)


# --- pure rules -----------------------------------------------------------------------------------


def test_missing_items_follow_the_reasons_list_in_order():
    policy = WriteOffPolicy()
    assert missing_items("bankruptcy_closed", [], policy) == ["bankruptcy_closure_ruling", "distribution_record"]
    assert missing_items("bankruptcy_closed", ["distribution_record"], policy) == ["bankruptcy_closure_ruling"]
    assert missing_items("bankruptcy_closed", ["bankruptcy_closure_ruling", "distribution_record"], policy) == []


def test_second_approval_is_for_amounts_strictly_above_the_figure():
    policy = WriteOffPolicy(write_off_second_approval_above=Decimal("1000.00"))
    assert not needs_second_approval(Decimal("999.99"), policy)
    assert not needs_second_approval(Decimal("1000.00"), policy)
    assert needs_second_approval(Decimal("1000.01"), policy)


def test_the_reason_list_and_the_figure_are_settings(settings):
    settings.NPL_RULES = {
        "write_off_evidence": {"fraud_closed": ["police_report"]},
        "write_off_second_approval_above": "2500.5",
    }
    policy = write_off_policy()
    assert policy.write_off_evidence == {"fraud_closed": ("police_report",)}
    assert policy.write_off_second_approval_above == Decimal("2500.50")


def test_a_bad_setting_stops_naming_the_key(settings):
    settings.NPL_RULES = {"write_off_evidence": {"fraud_closed": []}}
    with pytest.raises(ImproperlyConfigured, match="write_off_evidence"):
        build_policy(WriteOffPolicy)
    settings.NPL_RULES = {"write_off_second_approval_above": "lots"}
    with pytest.raises(ImproperlyConfigured, match="write_off_second_approval_above"):
        build_policy(WriteOffPolicy)


# --- the request and its dossier -----------------------------------------------------------------


def test_a_write_off_request_must_name_a_known_reason(loss_case, officer):
    with pytest.raises(ValidationError) as exc:
        _request(loss_case, officer, reason="")
    assert "write_off_reason" in exc.value.message_dict
    with pytest.raises(ValidationError):
        _request(loss_case, officer, reason="moon_landing")
    assert not CaseRequest.objects.exists()


def test_the_dossier_lists_what_the_reason_requires(loss_case, officer):
    request = _request(loss_case, officer, reason="death_without_estate")
    dossier = write_off_dossier(request=request)
    assert [i.code for i in dossier.items] == ["death_certificate", "estate_investigation"]
    assert dossier.missing == ["death_certificate", "estate_investigation"]
    evidence_upload(actor=officer, target=request, upload=upload(), kind="other", requirement="death_certificate")
    assert write_off_dossier(request=request).missing == ["estate_investigation"]


def test_an_item_the_reason_does_not_call_for_is_refused(loss_case, officer):
    request = _request(loss_case, officer, reason="death_without_estate")
    with pytest.raises(ValidationError) as exc:
        evidence_upload(actor=officer, target=request, upload=upload(), kind="other", requirement="distribution_record")
    assert "requirement" in exc.value.message_dict


def test_no_approval_while_one_item_is_missing(loss_case, officer, manager):
    request = _request(loss_case, officer)
    items = write_off_policy().write_off_evidence["enforcement_ended"]
    for item in items[:-1]:
        evidence_upload(actor=officer, target=request, upload=upload(), kind="judgment", requirement=item)
    with pytest.raises(ValidationError, match="incomplete"):
        case_request_approve(request=request, actor=manager, as_of=timezone.localdate())
    loss_case.refresh_from_db()
    assert loss_case.measure != "written_off"
    evidence_upload(actor=officer, target=request, upload=upload(), kind="judgment", requirement=items[-1])
    case_request_approve(request=request, actor=manager, as_of=timezone.localdate())
    loss_case.refresh_from_db()
    assert loss_case.measure == "written_off" and loss_case.is_open  # the claim is kept


def test_a_superseded_file_no_longer_counts_but_its_successor_does(loss_case, officer):
    request = _request(loss_case, officer)
    _attach_all(request, officer)
    first = request_files = write_off_dossier(request=request).items[0].files[0]
    del request_files
    evidence_supersede(actor=officer, evidence=first, upload=upload("better.pdf"), reason="legible copy")
    dossier = write_off_dossier(request=request)
    assert dossier.missing == []
    assert dossier.items[0].files[0].original_name == "better.pdf"


def test_at_the_figure_one_approval_is_enough(loss_case, officer, manager, settings):
    settings.NPL_RULES = {"write_off_second_approval_above": str(OWED)}
    request = _request(loss_case, officer)
    _attach_all(request, officer)
    case_request_approve(request=request, actor=manager, as_of=timezone.localdate())
    loss_case.refresh_from_db()
    assert loss_case.measure == "written_off"


def test_above_the_figure_a_second_manager_must_approve(loss_case, officer, manager, manager2, settings):
    settings.NPL_RULES = {"write_off_second_approval_above": str(OWED - Decimal("0.01"))}
    request = _request(loss_case, officer)
    _attach_all(request, officer)
    case_request_approve(request=request, actor=manager, as_of=timezone.localdate())
    request.refresh_from_db()
    loss_case.refresh_from_db()
    assert request.status == "requested" and request.first_approved_by == manager
    assert loss_case.measure != "written_off"
    assert AuditEvent.objects.filter(event_type="case.write_off_first_approval", actor=manager).exists()
    # Neither the first approver again...
    with pytest.raises(PermissionDenied):
        case_request_approve(request=request, actor=manager, as_of=timezone.localdate())
    # ...nor the maker (an officer cannot approve at all; a manager who made it cannot either).
    request.refresh_from_db()
    case_request_approve(request=request, actor=manager2, as_of=timezone.localdate())
    request.refresh_from_db()
    loss_case.refresh_from_db()
    assert request.status == "approved" and request.decided_by == manager2
    assert loss_case.measure == "written_off"
    assert loss_case.loan.written_off_on == timezone.localdate()


def test_the_maker_cannot_give_either_approval(loss_case, manager, manager2, head_manager, settings):
    settings.NPL_RULES = {"write_off_second_approval_above": "0"}
    request = _request(loss_case, manager)
    _attach_all(request, manager)
    with pytest.raises(PermissionDenied):
        case_request_approve(request=request, actor=manager, as_of=timezone.localdate())
    case_request_approve(request=request, actor=manager2, as_of=timezone.localdate())
    with pytest.raises(PermissionDenied):
        case_request_approve(request=request, actor=manager, as_of=timezone.localdate())
    case_request_approve(request=request, actor=head_manager, as_of=timezone.localdate())
    assert CaseRequest.objects.get(pk=request.pk).status == "approved"


def test_the_database_refuses_the_first_approver_as_second(loss_case, officer, manager):
    request = _request(loss_case, officer)
    CaseRequest.objects.filter(pk=request.pk).update(first_approved_by=manager, first_approved_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseRequest.objects.filter(pk=request.pk).update(decided_by=manager)


# --- 账销案存: later recoveries --------------------------------------------------------------------


def test_recoveries_after_the_write_off_are_reported_as_such(client, loss_case, officer, manager):
    today = timezone.localdate()
    before = recovery_record(
        case=loss_case, actor=officer, received_on=today - timedelta(days=1), amount=Decimal("100")
    )
    request = _request(CollectionCase.objects.get(pk=loss_case.pk), officer)
    _attach_all(request, officer)
    case_request_approve(request=request, actor=manager, as_of=today)
    after = recovery_record(
        case=CollectionCase.objects.get(pk=loss_case.pk), actor=officer, received_on=today, amount=Decimal("250")
    )
    assert not Recovery.objects.get(pk=before.pk).after_write_off
    assert Recovery.objects.get(pk=after.pk).after_write_off
    client.force_login(officer)
    html = client.get(loss_case.get_absolute_url()).content.decode()
    assert 'id="written-off-claim-kept"' in html
    assert "recovered-after-write-off" in html
    client.force_login(manager)
    export = client.get(reverse("loans:export", args=["recoveries", "csv"]))
    text = b"".join(export.streaming_content).decode() if export.streaming else export.content.decode()
    assert "after_write_off" in text.splitlines()[0]
