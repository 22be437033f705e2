"""The audit page: auditors and administrators search the trail; managers follow the history of
what they see; values are shown in words, side by side; the export is itself audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accountability.services import responsibility_assign
from audit.models import AuditEvent
from collections_app import services as case_services
from loans.exporting import EXPORT_EVENT
from tests.factories import GuaranteeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(bank, officer, officer2, manager):
    """The bank's case divided between two officers, then moved from responsibility to pressure."""
    today = timezone.localdate()
    responsibility_assign(
        case=bank.case,
        shares=[(officer, Decimal("60")), (officer2, Decimal("40"))],
        recovery_deadline=today + timedelta(days=90),
        reason="Two officers",
        actor=manager,
        as_of=today,
    )
    GuaranteeFactory(loan=bank.loan)
    case_services.case_move(
        case=bank.case, target="pressure", actor=officer, as_of=timezone.localdate(), reason="Guarantor can pay"
    )
    return bank


def _page(client, user, url, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response


def test_auditor_finds_a_cases_events_with_old_and_new_values_in_words(client, moved, auditor):
    response = _page(client, auditor, reverse("audit:trail"), case=moved.case.pk, event="case.moved")
    html = response.content.decode()
    rows = list(response.context["table"].page.object_list)
    assert [r.record.event_type for r in rows] == ["case.moved"]
    # The event, the field and both values in words, old and new side by side; never the raw codes.
    assert "Case moved" in html
    assert '<th scope="row">Measure</th><td class="old">1 Responsibility</td><td class="new">5 Pressure</td>' in html
    assert ">responsibility<" not in html and ">pressure<" not in html
    assert "Guarantor can pay" in html


def test_a_recovery_names_its_fields_and_the_choice_labels(client, bank, auditor):
    html = _page(client, auditor, reverse("audit:trail"), event="case.recovery_recorded").content.decode()
    assert "Paid by" in html and ">Borrower<" in html and ">Cash<" in html
    assert "Interest on balance sheet left" in html
    assert ">borrower<" not in html


def test_names_not_ids_for_the_people_an_event_mentions(client, bank, auditor, officer):
    html = _page(client, auditor, reverse("audit:trail"), event="case.team_set").content.decode()
    assert officer.display_name in html
    assert f">{officer.pk}<" not in html


def test_search_by_loan_number_follows_the_loans_whole_history(client, moved, auditor):
    response = _page(client, auditor, reverse("audit:trail"), loan=moved.loan.loan_no, per_page=100)
    found = {(r.record.subject_type, r.record.event_type) for r in response.context["table"].page.object_list}
    # Opened by the classification: the opener's run event, which names the case's id range.
    assert ("collections_app.caseopeningrun", "system.cases_opened") in found
    assert ("collections_app.collectioncase", "case.moved") in found
    assert ("accountability.accountabilityrecord", "accountability.proposed") in found
    assert ("accountability.responsibilityassignment", "responsibility.assigned") in found


def test_search_by_type_and_number_user_branch_event_family_and_dates(client, moved, auditor, officer, manager):
    url = reverse("audit:trail")
    by_type = _page(
        client, auditor, url, subject_type="accountability.accountabilityrecord", subject_id=moved.record.pk
    )
    assert {r.record.subject_id for r in by_type.context["table"].page.object_list} == {moved.record.pk}

    by_manager = _page(client, auditor, url, actor=manager.pk)
    assert {r.record.actor_id for r in by_manager.context["table"].page.object_list} == {manager.pk}

    by_system = _page(client, auditor, url, actor="null")
    assert {r.record.actor_id for r in by_system.context["table"].page.object_list} == {None}

    family = _page(client, auditor, url, event="case.", per_page=100)
    assert {r.record.event_type.split(".")[0] for r in family.context["table"].page.object_list} == {"case"}

    today = timezone.localdate()
    tomorrow = _page(client, auditor, url, date_from=(today + timedelta(days=1)).isoformat())
    assert list(tomorrow.context["table"].page.object_list) == []
    todays = _page(
        client, auditor, url, date_from=today.isoformat(), date_to=today.isoformat(), branch=moved.case.branch_id
    )
    assert len(todays.context["table"].page.object_list) > 0


def test_an_administrator_sees_the_whole_trail(client, moved, admin_user):
    response = _page(client, admin_user, reverse("audit:trail"), per_page=100)
    assert len(response.context["table"].page.object_list) == min(AuditEvent.objects.count(), 100)


def test_officers_and_managers_may_not_search_the_trail(client, bank, officer, manager):
    for user in (officer, manager):
        client.force_login(user)
        assert client.get(reverse("audit:trail")).status_code == 403


def test_a_manager_follows_the_history_of_a_case_and_a_loan_in_scope(client, moved, manager):
    case_page = _page(client, manager, reverse("audit:history", args=["case", moved.case.pk]))
    events = {r.record.event_type for r in case_page.context["table"].page.object_list}
    assert {"case.moved", "responsibility.assigned", "accountability.proposed"} <= events
    loan_page = _page(client, manager, reverse("audit:history", args=["loan", moved.loan.pk]))
    assert "case.moved" in {r.record.event_type for r in loan_page.context["table"].page.object_list}


def test_history_outside_the_scope_is_a_404_and_officers_get_a_403(client, bank, outside_manager, officer):
    client.force_login(outside_manager)
    assert client.get(reverse("audit:history", args=["case", bank.case.pk])).status_code == 404
    assert client.get(reverse("audit:history", args=["loan", bank.loan.pk])).status_code == 404
    assert client.get(reverse("audit:history", args=["borrower", bank.loan.pk])).status_code == 404
    client.force_login(officer)
    assert client.get(reverse("audit:history", args=["case", bank.case.pk])).status_code == 403


def test_the_case_and_loan_pages_link_to_their_history_for_those_who_may_read_it(
    client, bank, officer, manager, auditor
):
    case_history = reverse("audit:history", args=["case", bank.case.pk])
    loan_history = reverse("audit:history", args=["loan", bank.loan.pk])
    for user, shown in ((officer, False), (manager, True), (auditor, True)):
        client.force_login(user)
        case_page = client.get(reverse("collections_app:case_detail", args=[bank.case.pk])).content.decode()
        loan_page = client.get(reverse("loans:loan_detail", args=[bank.loan.pk])).content.decode()
        assert (case_history in case_page) is shown, user
        assert (loan_history in loan_page) is shown, user


def test_the_menu_shows_the_trail_to_auditors_only(client, bank, auditor, manager):
    client.force_login(auditor)
    assert reverse("audit:trail") in client.get(reverse("home")).content.decode()
    client.force_login(manager)
    assert reverse("audit:trail") not in client.get(reverse("home")).content.decode()


def test_auditors_have_no_django_admin_and_need_none(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert client.get(reverse("audit:trail")).status_code == 200


def test_export_is_in_words_and_is_itself_audited(client, moved, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit:trail"), {"case": moved.case.pk, "event": "case.moved", "export": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["event"] == "Case moved" and rows[0]["about"] == "Case"
    assert rows[0]["changes"] == "Measure: 1 Responsibility → 5 Pressure"
    exported = AuditEvent.objects.get(event_type=EXPORT_EVENT, new_values__export="audit")
    assert exported.actor == auditor
    assert exported.new_values == {
        "export": "audit",
        "filters": {"case": str(moved.case.pk), "event": "case.moved"},
        "rows": 1,
        "format": "csv",
        "via": "audit page",
    }


def test_export_as_excel_of_a_cases_history(client, moved, manager):
    from openpyxl import load_workbook

    client.force_login(manager)
    response = client.get(reverse("audit:history", args=["case", moved.case.pk]), {"export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    headers = [c.value for c in next(sheet.iter_rows(max_row=1))]
    events = [row[headers.index("event")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "Case moved" in events and "Responsibility divided" in events
    exported = AuditEvent.objects.get(event_type=EXPORT_EVENT, new_values__export="audit")
    assert exported.new_values["filters"] == {"history_of": f"case {moved.case.pk}"}


def test_the_trail_page_query_count_does_not_grow_with_the_events(
    client, bank, auditor, officer, django_assert_max_num_queries
):
    client.force_login(auditor)

    def count() -> int:
        with django_assert_max_num_queries(8) as ctx:
            assert client.get(reverse("audit:trail")).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(20):
        case_services.contact_record(
            case=bank.case, actor=officer, kind="call", contacted_on=timezone.localdate(), summary=f"Call {i}"
        )
    # (At most: the names of the loans the page mentions are one query, when it mentions any.)
    assert count() <= few


def test_a_division_of_responsibility_shows_each_officers_share_by_name(client, moved, auditor, officer, officer2):
    html = _page(client, auditor, reverse("audit:trail"), event="responsibility.assigned").content.decode()
    assert f"{officer.display_name} 60.00%, {officer2.display_name} 40.00%" in html
