"""The accountability pages: who sees what, the decisions through the page, export, query counts."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accountability.daily_checks import check_run
from accountability.models import AccountabilityRecord, LoansByLoansFlag, ResponsibilityAssignment
from accountability.services import record_propose
from tests.accountability.conftest import divide, open_npl_case
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def late_case(branch, officer, today):
    """A case whose time limit passed yesterday, with its sanction proposed."""
    case = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=200), loan_no="RIV-LATE")
    check_run(name="deadline_missed", as_of=today)
    return case


def _book(branch, officer, today, n):
    for _ in range(n):
        open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=200))
    check_run(name="deadline_missed", as_of=today)


# --- my responsibilities --------------------------------------------------------------------------


def test_officer_sees_time_limits_days_left_and_amounts(client, branch, officer, officer2, manager, today):
    case = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=10), loan_no="RIV-MINE")
    divide(
        case,
        manager,
        [(officer, Decimal("75")), (officer2, Decimal("25"))],
        deadline=today + timedelta(days=5),
        as_of=today,
    )
    client.force_login(officer)
    html = client.get(reverse("accountability:mine")).content.decode()
    assert "RIV-MINE" in html and "75%" in html
    assert 'data-days-left="5"' in html and "5 days" in html
    assert "81,500.00" in html  # still owed: 80,000 + 1,000 + 500
    assert "61,125.00" in html  # my part: 75%


def test_the_board_and_the_officers_page_count_the_same_loans(client, branch, outlet, officer, manager, today):
    """Oliver answers for a loan of his branch and one of its outlet (a division named him there)."""
    open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=10), loan_no="RIV-1")
    open_npl_case(branch=outlet, officer=officer, opened_on=today - timedelta(days=10), loan_no="EAST-1")
    client.force_login(manager)
    row = next(
        r for r in client.get(reverse("accountability:board")).context["officer_page"] if r.officer_id == officer.pk
    )
    client.force_login(officer)
    mine = client.get(reverse("accountability:mine")).context
    assert row.cases == mine["summary"].cases == len(mine["page_obj"].object_list) == 2


def test_time_limit_colours_and_due_soon_follow_the_reminder_windows_of_the_policy(
    client, branch, officer, manager, today, settings
):
    settings.NPL_RULES = {"reminder_days_before": [14, 3]}
    for loan_no, days in (("RIV-20", 20), ("RIV-10", 10), ("RIV-2", 2), ("RIV-LATE", -4)):
        case = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=30), loan_no=loan_no)
        divide(
            case,
            manager,
            [(officer, Decimal("100"))],
            deadline=today + timedelta(days=days),
            as_of=today - timedelta(days=20),
        )
    client.force_login(officer)
    html = client.get(reverse("accountability:mine")).content.decode()
    rows = {row.split('"', 1)[0]: row for row in html.split('data-days-left="')[1:]}
    assert "badge" not in rows["20"].split("</td>")[5]  # outside the first window (14 days)
    assert '<span class="badge badge-warn">10 days</span>' in rows["10"]
    assert '<span class="badge badge-bad">2 days</span>' in rows["2"]
    assert '<span class="badge badge-bad">missed 4 days ago</span>' in rows["-4"]
    assert "2 due within 14 days" in html


def test_my_responsibilities_query_count_does_not_grow(client, branch, officer, today, django_assert_max_num_queries):
    client.force_login(officer)
    _book(branch, officer, today, 2)
    with django_assert_max_num_queries(16) as few:
        assert client.get(reverse("accountability:mine")).status_code == 200
    _book(branch, officer, today, 12)
    with django_assert_max_num_queries(16) as many:
        client.get(reverse("accountability:mine"))
    assert len(few.captured_queries) == len(many.captured_queries)


# --- the board -----------------------------------------------------------------------------------


def test_board_shows_proposals_to_decide_first(client, late_case, manager, officer):
    client.force_login(manager)
    html = client.get(reverse("accountability:board")).content.decode()
    assert "Decide first" in html and "RIV-LATE" in html and "Wage stop" in html
    assert 'value="impose"' in html and 'value="waive"' in html


def test_the_checks_reasons_read_in_the_readers_language(client, late_case, manager):
    """The daily checks wrote the reason once; a manager reading in Chinese reads it in Chinese."""
    client.force_login(manager)
    html = client.get(reverse("accountability:board"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "was not recovered by its time limit" not in html
    assert "贷款 RIV-LATE" in html and "停发工资" in html
    assert "was not recovered by its time limit" in client.get(reverse("accountability:board")).content.decode()


@pytest.mark.parametrize("persona", ["officer", "outsider"])
def test_officers_may_not_open_the_board(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("accountability:board")).status_code == 403


def test_auditor_reads_the_board_but_cannot_decide(client, late_case, auditor):
    client.force_login(auditor)
    html = client.get(reverse("accountability:board")).content.decode()
    assert "RIV-LATE" in html and "Only a manager decides" in html
    record = AccountabilityRecord.objects.get()
    client.post(
        reverse("accountability:record_decide", args=[record.pk]), {"decision": "impose", "seen_state": "proposed"}
    )
    record.refresh_from_db()
    assert record.state == "proposed"


def test_manager_imposes_through_the_page_and_the_officer_is_told(client, late_case, manager, officer):
    record = AccountabilityRecord.objects.get()
    client.force_login(manager)
    response = client.post(
        reverse("accountability:record_decide", args=[record.pk]),
        {"decision": "impose", "seen_state": "proposed", "reason": "Repeated delays", "next": "/accountability/board/"},
    )
    assert response.status_code == 302 and response["Location"] == "/accountability/board/"
    record.refresh_from_db()
    assert (record.state, record.decided_by, record.decision_reason) == ("imposed", manager, "Repeated delays")
    assert officer.notifications.filter(kind="record.decided").exists()


def test_the_return_address_after_a_decision_stays_on_this_site(client, late_case, manager):
    record = AccountabilityRecord.objects.get()
    client.force_login(manager)
    response = client.post(
        reverse("accountability:record_decide", args=[record.pk]),
        {"decision": "impose", "seen_state": "proposed", "next": "//evil.example/"},
    )
    assert response["Location"] == record.get_absolute_url()


def test_a_stale_page_is_told_the_record_changed(client, late_case, manager, manager2):
    record = AccountabilityRecord.objects.get()
    client.force_login(manager2)
    client.post(
        reverse("accountability:record_decide", args=[record.pk]),
        {"decision": "waive", "seen_state": "proposed", "reason": "Sick leave"},
    )
    client.force_login(manager)
    response = client.post(
        reverse("accountability:record_decide", args=[record.pk]),
        {"decision": "impose", "seen_state": "proposed"},
        follow=True,
    )
    assert "Someone decided this record" in response.content.decode()
    record.refresh_from_db()
    assert record.state == "waived"


def test_waiving_without_a_reason_is_refused_on_the_page(client, late_case, manager):
    record = AccountabilityRecord.objects.get()
    client.force_login(manager)
    response = client.post(
        reverse("accountability:record_decide", args=[record.pk]),
        {"decision": "waive", "seen_state": "proposed"},
        follow=True,
    )
    assert "Say why it is waived" in response.content.decode()
    record.refresh_from_db()
    assert record.state == "proposed"


def test_imposing_a_sanction_without_a_reason_is_refused_on_the_page(client, late_case, manager):
    record = AccountabilityRecord.objects.get()
    client.force_login(manager)
    response = client.post(
        reverse("accountability:record_decide", args=[record.pk]),
        {"decision": "impose", "seen_state": "proposed", "reason": ""},
        follow=True,
    )
    assert "Say why the sanction is imposed" in response.content.decode()
    record.refresh_from_db()
    assert record.state == "proposed"


def test_each_decision_asks_first_saying_what_will_happen(client, late_case, manager, officer):
    client.force_login(manager)
    html = client.get(reverse("accountability:board")).content.decode()
    name = officer.display_name
    assert f'data-confirm="Impose the wage stop on {name}? This cannot be undone' in html
    assert f'data-confirm="Waive the wage stop proposed for {name}? This cannot be undone' in html


def test_board_query_count_does_not_grow(client, branch, officer, manager, today, django_assert_max_num_queries):
    client.force_login(manager)
    _book(branch, officer, today, 2)
    with django_assert_max_num_queries(30) as few:
        assert client.get(reverse("accountability:board")).status_code == 200
    _book(branch, officer, today, 15)
    with django_assert_max_num_queries(30) as many:
        client.get(reverse("accountability:board"))
    assert len(few.captured_queries) == len(many.captured_queries)


def test_board_filters_by_state_and_officer(client, late_case, manager, officer, officer2):
    client.force_login(manager)
    assert "RIV-LATE" in client.get(reverse("accountability:board") + f"?officer={officer.pk}").content.decode()
    html = client.get(reverse("accountability:board") + f"?officer={officer2.pk}&state=imposed").content.decode()
    assert "No record matches" in html


def test_export_is_a_csv_of_the_filtered_records_with_formulas_neutralised(client, late_case, manager, officer2, today):
    record_propose(
        officer=officer2,
        record_type="compensation",
        amount="1200",
        reason='=HYPERLINK("evil")',
        actor=manager,
        as_of=today,
    )
    client.force_login(manager)
    response = client.get(reverse("accountability:board") + "?export=csv&record_type=compensation")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][:3] == ["record_id", "proposed_on", "officer_username"]
    assert len(rows) == 2  # the filter applies: the wage stop is not exported
    data = dict(zip(rows[0], rows[1], strict=True))
    assert data["reason"] == '\'=HYPERLINK("evil")' and data["amount"] == "1200.00"
    assert data["officer_username"] == "officer2" and data["type"] == "Compensation"


def test_export_as_excel(client, late_case, manager):
    client.force_login(manager)
    response = client.get(reverse("accountability:board") + "?export=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_an_outside_manager_exports_nothing_of_riverside(client, late_case, outside_manager):
    client.force_login(outside_manager)
    response = client.get(reverse("accountability:board") + "?export=csv")
    assert len(b"".join(response.streaming_content).decode().strip().splitlines()) == 1  # the header only


def test_outside_manager_sees_no_record_and_gets_404_for_one(client, late_case, outside_manager):
    record = AccountabilityRecord.objects.get()
    client.force_login(outside_manager)
    assert "RIV-LATE" not in client.get(reverse("accountability:board")).content.decode()
    assert client.get(reverse("accountability:record_detail", args=[record.pk])).status_code == 404


def test_an_officer_sees_their_own_record_but_not_a_colleagues(client, late_case, officer, officer2):
    record = AccountabilityRecord.objects.get()
    client.force_login(officer)
    html = client.get(reverse("accountability:record_detail", args=[record.pk])).content.decode()
    assert "Wage stop for" in html and "Only a manager decides" in html
    client.force_login(officer2)
    assert client.get(reverse("accountability:record_detail", args=[record.pk])).status_code == 404


def test_record_page_shows_its_history(client, late_case, manager):
    record = AccountabilityRecord.objects.get()
    client.force_login(manager)
    html = client.get(reverse("accountability:record_detail", args=[record.pk])).content.decode()
    assert "Sanction or reward proposed" in html and "the daily checks" in html
    assert "accountability.proposed" not in html  # the event in words, not its code


def test_every_audit_event_code_has_words_in_both_languages():
    """Each event code the services write (found in the source) has a label, translated to zh-hans."""
    import re

    from django.utils import translation

    from audit.labels import EVENT_LABELS, event_label
    from tests.conftest import ROOT

    pattern = re.compile(r'(?:event_type=|_audit\(\s*\w+,\s*\w+,\s*)f?"((?:system\.)?[a-z_]+\.[a-z_]+)')
    codes = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"tests", ".venv", "bench"}:
            continue
        found = {m.removeprefix("system.") for m in pattern.findall(path.read_text(encoding="utf-8"))}
        codes |= {code for code in found if "." in code}  # not the head of an f-string
    codes |= {"accountability.waived", "accountability.lifted", "accountability.honoured"}  # a mapping names them
    assert "case.opened" in codes and "accountability.proposed" in codes
    assert not sorted(codes - set(EVENT_LABELS)), "event codes without words"
    with translation.override("zh-hans"):
        assert event_label("accountability.proposed") == "拟议处罚或奖励"
        assert event_label("system.responsibility.first_divisions") == "首次划分责任"


# --- proposals and divisions through the pages ----------------------------------------------------


def test_manager_proposes_compensation_for_an_npl_formed_by_human_factors(client, npl_case, manager, officer):
    client.force_login(manager)
    url = reverse("accountability:record_new") + f"?case={npl_case.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"officer": officer.pk, "record_type": "compensation", "reason": "Lent against rules", "case": npl_case.pk}
    )
    assert response.status_code == 400 and "Give the amount" in response.content.decode()
    client.post(
        url,
        {
            "officer": officer.pk,
            "record_type": "compensation",
            "amount": "5000",
            "case": npl_case.pk,
            "reason": "Lent against the credit rules",
        },
    )
    record = AccountabilityRecord.objects.get()
    assert (record.kind, record.amount, record.proposed_by, record.case) == (
        "sanction",
        Decimal("5000.00"),
        manager,
        npl_case,
    )


def test_officers_may_not_propose(client, officer):
    client.force_login(officer)
    assert client.get(reverse("accountability:record_new")).status_code == 403


def test_manager_divides_responsibility_on_the_page(client, npl_case, manager, officer, officer2, today):
    client.force_login(manager)
    url = reverse("accountability:case_responsibility", args=[npl_case.pk])
    html = client.get(url).content.decode()
    assert "New division of responsibility" in html
    deadline = (today + timedelta(days=90)).isoformat()
    bad = client.post(
        url,
        {
            "officer_1": officer.pk,
            "share_1": "60",
            "officer_2": officer2.pk,
            "share_2": "30",
            "recovery_deadline": deadline,
            "promised_reward": "bonus",
            "reason": "Split",
        },
    )
    assert bad.status_code == 400 and "add up to 90%" in bad.content.decode()
    client.post(
        url,
        {
            "officer_1": officer.pk,
            "share_1": "60",
            "officer_2": officer2.pk,
            "share_2": "40",
            "recovery_deadline": deadline,
            "promised_reward": "bonus",
            "reason": "Split",
        },
    )
    current = ResponsibilityAssignment.objects.get(case=npl_case, ended_on__isnull=True)
    assert sorted((s.officer.username, s.share) for s in current.shares.all()) == [
        ("officer", Decimal("60.00")),
        ("officer2", Decimal("40.00")),
    ]
    html = client.get(url).content.decode()
    assert html.count("current") >= 1 and "Opened with the case" in html  # the first division is kept


def test_the_officer_picker_of_a_division_lists_officers_only(client, npl_case, manager, manager2, officer, officer2):
    client.force_login(manager)
    form = client.get(reverse("accountability:case_responsibility", args=[npl_case.pk])).context["form"]
    offered = {value for value, _label in form.fields["officer_1"].choices if value}
    assert {str(officer.pk), str(officer2.pk)} <= offered
    assert str(manager.pk) not in offered and str(manager2.pk) not in offered


def test_officer_reads_the_division_but_cannot_change_it(client, npl_case, officer, officer2):
    client.force_login(officer)
    url = reverse("accountability:case_responsibility", args=[npl_case.pk])
    assert "New division" not in client.get(url).content.decode()
    assert client.post(url, {"officer_1": officer2.pk, "share_1": "100"}).status_code == 403


def test_outsider_gets_404_for_a_case_division(client, npl_case, outsider):
    client.force_login(outsider)
    assert client.get(reverse("accountability:case_responsibility", args=[npl_case.pk])).status_code == 404


# --- prevention ---------------------------------------------------------------------------------------


def test_prevention_lists_the_latest_watch_list_scoped_to_the_user(client, branch, other_branch, officer, today):
    LoanFactory(
        branch=branch, responsible_officer=officer, loan_no="RIV-WATCH", overdue_since=today - timedelta(days=3)
    )
    LoanFactory(branch=other_branch, loan_no="HIL-WATCH", overdue_since=today - timedelta(days=3))
    check_run(name="watch_list", as_of=today)
    client.force_login(officer)
    html = client.get(reverse("accountability:prevention")).content.decode()
    assert "RIV-WATCH" in html and "HIL-WATCH" not in html and "Past due while still normal" in html


def test_manager_reviews_a_loans_by_loans_flag(client, npl_case, branch, officer, manager):
    from collections_app.services import recovery_record

    recovery_record(
        case=npl_case, actor=officer, received_on=date(2026, 3, 2), amount=Decimal("3000"), as_of=date(2026, 3, 2)
    )
    LoanFactory(
        branch=branch,
        borrower=npl_case.loan.borrower,
        issuing_officer=officer,
        loan_no="RIV-NEW",
        disbursed_on=date(2026, 3, 9),
        maturity_on=date(2027, 3, 9),
    )
    check_run(name="loans_by_loans", as_of=date(2026, 3, 9))
    client.force_login(manager)
    html = client.get(reverse("accountability:prevention") + "?tab=loans_by_loans").content.decode()
    assert "RIV-NEW" in html and "To review" in html
    flag = LoansByLoansFlag.objects.get()
    client.post(reverse("accountability:flag_review", args=[flag.pk]), {"status": "confirmed", "note": "Evergreening"})
    flag.refresh_from_db()
    assert (flag.status, flag.reviewed_by) == ("confirmed", manager)


def _cells(response, column):
    return [row.get_cell(column) for row in response.context["table"].rows]


def test_prevention_names_people_not_logins(client, npl_case, branch, officer, manager, today):
    """The watch list's officer and the lender of a loans-by-loans flag by their full names."""
    from collections_app.services import recovery_record

    LoanFactory(branch=branch, responsible_officer=officer, overdue_since=today - timedelta(days=3))
    check_run(name="watch_list", as_of=today)
    recovery_record(
        case=npl_case, actor=officer, received_on=date(2026, 3, 2), amount=Decimal("3000"), as_of=date(2026, 3, 2)
    )
    LoanFactory(
        branch=branch,
        borrower=npl_case.loan.borrower,
        issuing_officer=officer,
        disbursed_on=date(2026, 3, 9),
        maturity_on=date(2027, 3, 9),
    )
    check_run(name="loans_by_loans", as_of=date(2026, 3, 9))
    client.force_login(manager)
    assert officer.display_name != officer.username
    assert _cells(client.get(reverse("accountability:prevention")), "officer") == [officer.display_name]
    flags = client.get(reverse("accountability:prevention") + "?tab=loans_by_loans")
    assert _cells(flags, "lending_officer") == [officer.display_name]


def test_prevention_query_count_does_not_grow(client, branch, officer, today, django_assert_max_num_queries):
    client.force_login(officer)
    for tab in ("watch_list", "loans_by_loans"):
        LoanFactory(branch=branch, responsible_officer=officer, overdue_since=today - timedelta(days=3))
        check_run(name="watch_list", as_of=today)
        with django_assert_max_num_queries(14) as few:
            client.get(reverse("accountability:prevention") + f"?tab={tab}")
        for _ in range(10):
            LoanFactory(branch=branch, responsible_officer=officer, overdue_since=today - timedelta(days=3))
        from accountability.models import WatchListEntry

        WatchListEntry.objects.all().delete()
        check_run(name="watch_list", as_of=today)
        with django_assert_max_num_queries(14) as many:
            client.get(reverse("accountability:prevention") + f"?tab={tab}")
        assert len(few.captured_queries) == len(many.captured_queries)


def test_menu_shows_the_pages_by_role(client, officer, manager):
    client.force_login(officer)
    html = client.get(reverse("accountability:mine")).content.decode()
    assert "My responsibilities" in html and ">Accountability<" not in html
    client.force_login(manager)
    assert ">Accountability<" in client.get(reverse("accountability:mine")).content.decode()


def test_case_division_page_query_count_does_not_grow_with_history(
    client, npl_case, manager, officer, officer2, today, django_assert_max_num_queries
):
    client.force_login(manager)
    url = reverse("accountability:case_responsibility", args=[npl_case.pk])
    with django_assert_max_num_queries(40) as few:
        assert client.get(url).status_code == 200
    for i in range(4):
        divide(
            npl_case,
            manager,
            [(officer, Decimal("50")), (officer2, Decimal("50"))],
            today + timedelta(days=30 + i),
            as_of=today,
            reason=f"Division {i}",
        )
    with django_assert_max_num_queries(40) as many:
        client.get(url)
    assert len(few.captured_queries) == len(many.captured_queries)
