"""The officer's workspace: the queue, the case page, the forms, scoped and with pinned query counts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from collections_app import services
from collections_app.models import CollectionCase, Contact, Recovery
from tests.cases.helpers import fresh, satisfy
from tests.factories import CollateralFactory, GuaranteeFactory, LoanFactory, UserFactory

pytestmark = pytest.mark.django_db


def queue(client, **params):
    return client.get(reverse("collections_app:case_list"), params)


def test_officer_sees_their_cases_most_urgent_first(login, officer, make_npl, today):
    a = services.case_open(loan=make_npl(loan_no="A-LATE"), actor=officer, as_of=today, reason="x")
    b = services.case_open(loan=make_npl(loan_no="B-SOON"), actor=officer, as_of=today, reason="x")
    services.promise_record(
        case=b, actor=officer, promised_on=today, amount=Decimal("10"), due_on=today + timedelta(days=3)
    )
    page = queue(login(officer))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("B-SOON") < html.index("A-LATE")
    assert a.loan.loan_no in html


def test_an_officer_queue_is_their_own_cases_unless_they_ask_for_the_branch(login, officer, officer2, make_npl, today):
    services.case_open(loan=make_npl(loan_no="MINE"), actor=officer, as_of=today, reason="x")
    services.case_open(
        loan=make_npl(loan_no="THEIRS", responsible_officer=officer2), actor=officer2, as_of=today, reason="x"
    )
    client = login(officer)
    html = queue(client).content.decode()
    assert "MINE" in html and "THEIRS" not in html
    html = queue(client, scope="all").content.decode()
    assert "MINE" in html and "THEIRS" in html


def test_a_manager_sees_the_subtree_and_filters_by_officer(
    login, manager, officer, outlet_officer, outlet, other_branch, make_npl, today
):
    services.case_open(loan=make_npl(loan_no="RIVER"), actor=officer, as_of=today, reason="x")
    services.case_open(
        loan=make_npl(loan_no="OUTLET", branch=outlet, responsible_officer=outlet_officer),
        actor=outlet_officer,
        as_of=today,
        reason="x",
    )
    services.cases_open_for_non_performing(as_of=today)
    make_npl(loan_no="HILL", branch=other_branch, responsible_officer=None)
    services.cases_open_for_non_performing(as_of=today)
    client = login(manager)
    html = queue(client).content.decode()
    assert "RIVER" in html and "OUTLET" in html and "HILL" not in html
    html = queue(client, officer=outlet_officer.pk).content.decode()
    assert "RIVER" not in html and "OUTLET" in html


@pytest.mark.parametrize(
    "params,shown",
    [
        ({"measure": "pressure"}, {"PRESS"}),
        ({"q": "press"}, {"PRESS"}),
        ({"due": "promise_due_7"}, {"PROMISED"}),
        ({"due": "deadline_passed"}, {"LATE"}),
    ],
)
def test_queue_filters(login, officer, make_npl, today, params, shown):
    press = services.case_open(loan=make_npl(loan_no="PRESS"), actor=officer, as_of=today, reason="x")
    satisfy(press, "pressure", actor=officer, today=today)
    services.case_move(case=press, target="pressure", actor=officer, as_of=today)
    promised = services.case_open(loan=make_npl(loan_no="PROMISED"), actor=officer, as_of=today, reason="x")
    services.promise_record(case=promised, actor=officer, promised_on=today, amount=Decimal("1"), due_on=today)
    late = services.case_open(
        loan=make_npl(loan_no="LATE"), actor=officer, as_of=today - timedelta(days=200), reason="x"
    )
    assert late.recovery_deadline < today
    html = queue(login(officer), **params).content.decode()
    for loan_no in ("PRESS", "PROMISED", "LATE"):
        assert (loan_no in html) == (loan_no in shown), loan_no


def test_queue_sorts_by_a_column(login, officer, make_npl, today):
    services.case_open(loan=make_npl(loan_no="ZZZ"), actor=officer, as_of=today, reason="x")
    services.case_open(loan=make_npl(loan_no="AAA"), actor=officer, as_of=today - timedelta(days=1), reason="x")
    html = queue(login(officer), sort="-recovery_deadline").content.decode()
    assert html.index("ZZZ") < html.index("AAA")


def _book(officer, make_npl, today, n):
    for _ in range(n):
        services.case_open(loan=make_npl(), actor=officer, as_of=today, reason="x")


# Session, user, the user's branch, COUNT, the filter's branch choices, the page of cases, the
# count of balance changes to classify.
QUEUE_QUERIES_OFFICER = 7
# A manager's filter also lists the officers to choose from; the menu counts the requests waiting.
QUEUE_QUERIES_MANAGER = 9
# Constant whatever the timeline holds: the case with its loan, the move facts and role, the timeline
# page (count, keys, one query per kind on the page), the facts cards, each form's choices, and the
# current division of responsibility with its shares (one query); the evidence panel (the case's files),
# the generated documents, the notice form's documents and the notices waiting for their receipt.
# (+1 since issue 11: the Ledger section reads the loan's entries, one query.)
# current division of responsibility with its shares (one query), the latest assessment of the
# debtor's ability to pay and the dishonest-debtor listings (one query each, issue 11).
# (+3 since issue 11's costs: the cost totals, the ledger's cash and in-kind sums, the list of costs.)
# (-10 in issue 15: the rows the page shows and its forms offer again as choices, i.e. guarantees,
# proceedings, collateral, documents, assets and notices to act on, are read once per page
# (npl_recovery/page_reads.py), and the case read through visible_to is not asked for its scope again.)
# (-1 in issue 15: the record forms are drawn when opened (collections_app:record_form), so the page
# no longer reads the choices only a form shows: the team form's colleagues, the notice form's documents.)
CASE_PAGE_QUERIES = 38


@pytest.fixture
def menu_without_other_apps(monkeypatch):
    """Pin this app's queries: other apps' menu predicates (permission look-ups) are not ours to count."""
    from npl_recovery import navigation

    monkeypatch.setattr(
        navigation, "NAV_ITEMS", [i for i in navigation.NAV_ITEMS if i.url_name.startswith("collections")]
    )
    monkeypatch.setattr(navigation, "NAV_TAIL", [])


def test_the_queue_query_count_is_pinned_and_does_not_grow_with_rows(
    login, officer, manager, make_npl, today, django_assert_num_queries, menu_without_other_apps
):
    _book(officer, make_npl, today, 3)
    client = login(officer)
    queue(client)  # warm (content types)
    with django_assert_num_queries(QUEUE_QUERIES_OFFICER):
        assert queue(client).status_code == 200
    _book(officer, make_npl, today, 30)
    with django_assert_num_queries(QUEUE_QUERIES_OFFICER):
        assert queue(client, page=2).status_code == 200
    client = login(manager)
    queue(client)
    with django_assert_num_queries(QUEUE_QUERIES_MANAGER):
        queue(client, sort="-recovery_deadline")


def _fill(case, officer, manager, today):
    """One of every kind of timeline record."""
    GuaranteeFactory(loan=case.loan)
    flat = CollateralFactory(loan=case.loan)
    services.contact_record(case=case, actor=officer, kind="visit", contacted_on=today, summary="Met at the shop")
    services.notice_serve(case=case, actor=officer, served_on=today, served_to="Wang Wei", signed_acknowledgement=True)
    services.promise_record(case=case, actor=officer, promised_on=today, amount=Decimal("100"), due_on=today)
    services.guarantor_demand_record(
        case=case, actor=officer, guarantee=case.loan.guarantees.first(), demanded_on=today, amount=Decimal("10")
    )
    proceeding = services.legal_proceeding_file(
        case=case, actor=officer, court="County Court", case_number=f"N-{Contact.objects.count()}", filed_on=today
    )
    services.legal_step_record(proceeding=proceeding, actor=officer, kind="seal", taken_on=today, collateral=flat)
    services.asset_take_in_kind(
        case=case, actor=officer, kind="vehicle", description="Van", taken_on=today, appraised_value=Decimal("50")
    )
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("20"))
    services.case_request_create(case=case, target="legal", actor=officer, as_of=today, reason="Refuses")
    services.case_move(case=case, target="pressure", actor=officer, as_of=today)


def test_the_case_page_shows_facts_timeline_and_the_possible_moves(login, case, officer, manager, today):
    _fill(case, officer, manager, today)
    html = login(officer).get(case.get_absolute_url()).content.decode()
    for text in (
        "RIV-NPL-1",
        "Wang Wei",
        "Met at the shop",
        "Collection notice served",
        "Promise to pay",
        "Demand on guarantor",
        "County Court",
        "Seal up",
        "Asset taken in kind",
        "Recovery",
        "Moved",
        "Flat, 3rd floor",
        "state-machine",
        'data-state="pressure"',
    ):
        assert text in html, text
    assert "Mark recovered" in html and "outstanding" in html  # disabled, with the reason
    assert "Request disposal" in html and "Record a legal proceeding with a judgment" in html


def test_the_case_page_query_count_is_pinned_and_does_not_grow_with_the_timeline(
    login,
    case,
    officer,
    manager,
    today,
    django_assert_num_queries,
    django_assert_max_num_queries,
    menu_without_other_apps,
):
    _fill(case, officer, manager, today)
    client = login(officer)
    client.get(case.get_absolute_url())
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        assert client.get(case.get_absolute_url()).status_code == 200
    for _ in range(10):
        services.contact_record(case=case, actor=officer, kind="call", contacted_on=today, summary="again")
        services.recovery_record(case=fresh(case), actor=officer, received_on=today, amount=Decimal("1"))
    # The newest page now holds only contacts and recoveries: one query per kind, so fewer, never more.
    with django_assert_max_num_queries(CASE_PAGE_QUERIES):
        client.get(case.get_absolute_url())


def test_the_timeline_is_paginated_and_loads_by_htmx(login, case, officer, today):
    for i in range(20):
        services.contact_record(case=case, actor=officer, kind="call", contacted_on=today, summary=f"Call number {i}")
    client = login(officer)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Call number 19" in html and "Call number 0<" not in html
    part = client.get(case.get_absolute_url(), {"tl": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline")
    body = part.content.decode()
    assert part.status_code == 200 and body.lstrip().startswith('<div id="timeline">')
    assert "Call number 0" in body and "<html" not in body


@pytest.mark.parametrize("persona", ["outsider", "outside_manager", "outlet_officer"])
def test_a_case_outside_the_users_branches_is_a_404(request, login, case, persona):
    client = login(request.getfixturevalue(persona))
    assert client.get(case.get_absolute_url()).status_code == 404
    assert client.post(reverse("collections_app:case_move", args=[case.pk]), {}).status_code == 404
    url = reverse("collections_app:record_create", args=[case.pk, "contact"])
    assert client.post(url, {}).status_code == 404


@pytest.mark.parametrize("persona", ["auditor", "admin_user", "head_manager", "manager"])
def test_readers_see_the_case(request, login, case, persona):
    assert login(request.getfixturevalue(persona)).get(case.get_absolute_url()).status_code == 200


def test_an_auditor_sees_no_forms_and_every_move_disabled(login, case, auditor):
    html = login(auditor).get(case.get_absolute_url()).content.decode()
    assert "Auditors read" in html and 'id="record"' not in html and "Send request" not in html


def test_the_officer_logs_a_contact_through_the_form(login, case, officer, today):
    url = reverse("collections_app:record_create", args=[case.pk, "contact"])
    response = login(officer).post(
        url,
        {
            "contact-kind": "visit",
            "contact-contacted_on": today.isoformat(),
            "contact-summary": "Visited the shop",
            "contact-debt_acknowledged": "on",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.debt_acknowledged and contact.recorded_by == officer
    assert fresh(case).limitation_starts_on == today


def test_a_recovery_above_the_debt_shows_a_form_error(login, case, officer, today):
    url = reverse("collections_app:record_create", args=[case.pk, "recovery"])
    data = {"recovery-received_on": today.isoformat(), "recovery-amount": "99999", "recovery-paid_by": "borrower"}
    response = login(officer).post(url, data)
    assert response.status_code == 400
    assert "more than the 81,500.00 owed" in response.content.decode()
    htmx = login(officer).post(url, data, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and htmx.content.decode().lstrip().startswith("<form")
    assert "more than the 81,500.00 owed" in htmx.content.decode()
    assert not Recovery.objects.exists()


def test_a_saved_form_under_htmx_reloads_the_case_page(login, case, officer, today):
    url = reverse("collections_app:record_create", args=[case.pk, "recovery"])
    data = {"recovery-received_on": today.isoformat(), "recovery-amount": "100", "recovery-paid_by": "borrower"}
    response = login(officer).post(url, data, HTTP_HX_REQUEST="true")
    assert response.headers["HX-Redirect"] == case.get_absolute_url()


def test_moves_and_requests_through_the_page(login, case, officer, manager, today):
    satisfy(case, "pressure", actor=officer, today=today)
    satisfy(case, "legal", actor=officer, today=today)
    client = login(officer)
    client.post(
        reverse("collections_app:case_request", args=[case.pk]),
        {"target": "legal", "seen_measure": "responsibility", "reason": "Refuses to pay", "confirmed": "on"},
    )
    asked = case.requests.get()
    page = login(manager).get(case.get_absolute_url()).content.decode()
    assert "Approve" in page and "Refuses to pay" in page
    response = login(manager).post(
        reverse("collections_app:request_decide", args=[asked.pk]),
        {"decision": "approve", "reason": "Go", "confirmed": "on"},
    )
    assert response.status_code == 302
    assert fresh(case).measure == "legal"
    response = login(officer).post(
        reverse("collections_app:case_move", args=[case.pk]),
        {"target": "pressure", "seen_measure": "legal", "reason": "", "confirmed": "on"},
        follow=True,
    )
    assert "moved to 5 pressure" in response.content.decode()


def test_a_move_on_a_case_someone_else_moved_says_so_plainly(login, case, officer, today):
    satisfy(case, "pressure", actor=officer, today=today)
    services.case_move(case=case, target="pressure", actor=officer, as_of=today)
    satisfy(case, "collaborative", actor=officer, today=today)
    response = login(officer).post(
        reverse("collections_app:case_move", args=[case.pk]),
        {"target": "collaborative", "seen_measure": "responsibility", "confirmed": "on"},
        follow=True,
    )
    assert "Someone changed this case while you were working on it" in response.content.decode()
    assert fresh(case).measure == "pressure"


def test_the_requester_cannot_decide_and_a_rejection_needs_a_reason(login, case, officer, manager, manager2, today):
    satisfy(case, "legal", actor=officer, today=today)
    asked = services.case_request_create(case=case, target="legal", actor=manager, as_of=today, reason="Sue")
    page = login(manager).get(case.get_absolute_url()).content.decode()
    assert "You made this request: another manager must decide it." in page
    url = reverse("collections_app:request_decide", args=[asked.pk])
    response = login(manager2).post(url, {"decision": "reject", "reason": ""}, follow=True)
    assert "Say why the request is rejected." in response.content.decode()
    asked.refresh_from_db()
    assert asked.status == "requested"


def test_the_approvals_inbox_lists_open_requests_in_scope(login, case, officer, manager, outside_manager, today):
    satisfy(case, "legal", actor=officer, today=today)
    services.case_request_create(case=case, target="legal", actor=officer, as_of=today, reason="Sue them")
    url = reverse("collections_app:request_list")
    assert "Sue them" in login(manager).get(url).content.decode()
    assert "Sue them" not in login(outside_manager).get(url).content.decode()


def test_a_case_is_opened_from_the_loan_page(login, officer, make_npl):
    loan = make_npl(loan_no="FROM-LOAN")
    client = login(officer)
    assert "Open case" in client.get(loan.get_absolute_url()).content.decode()
    response = client.post(reverse("collections_app:case_open", args=[loan.pk]), {"reason": "Called, no answer"})
    case = CollectionCase.objects.get(loan=loan)
    assert response.url == case.get_absolute_url()
    assert "Collection case: 1 Responsibility" in client.get(loan.get_absolute_url()).content.decode()


def test_the_loan_page_offers_no_case_where_the_opener_would_refuse_one(login, officer, make_npl, today):
    observed = make_npl(loan_no="OBSERVED", restructured_on=today - timedelta(days=10), overdue_since=None)
    owes_nothing = make_npl(loan_no="PAID", outstanding_principal=0, interest_on_balance=0, interest_off_balance=0)
    client = login(officer)
    for loan in (observed, owes_nothing):
        html = client.get(loan.get_absolute_url()).content.decode()
        assert loan.is_non_performing and "Open case" not in html, loan.loan_no


def test_the_loan_and_the_case_page_show_the_loan_facts_from_one_include(login, case, officer):
    client = login(officer)
    for url in (case.loan.get_absolute_url(), case.get_absolute_url()):
        response = client.get(url)
        assert "loans/_loan_facts.html" in [t.name for t in response.templates], url
        assert "Interest off balance sheet" in response.content.decode()


def test_the_dispose_form_is_offered_only_while_an_asset_is_held(login, case, officer, today):
    client = login(officer)
    assert "dispose" not in client.get(case.get_absolute_url()).context["record_forms"]
    asset = services.asset_take_in_kind(
        case=case, actor=officer, kind="vehicle", description="Van", taken_on=today, appraised_value=Decimal("50")
    )
    assert "dispose" in client.get(case.get_absolute_url()).context["record_forms"]
    services.asset_dispose(asset=asset, actor=officer, disposed_on=today, disposal_proceeds=Decimal("40"))
    assert "dispose" not in client.get(case.get_absolute_url()).context["record_forms"]


def test_the_state_machine_picture_is_served(login, officer):
    response = login(officer).get(reverse("collections_app:state_machine_svg"), {"current": "legal"})
    assert response["Content-Type"] == "image/svg+xml" and b'class="sm-node sm-current" data-state="legal"' in (
        response.content
    )


def test_the_menu_shows_cases_to_everyone_and_approvals_to_managers(login, officer, manager):
    assert "Approvals</a>" not in login(officer).get("/").content.decode()
    html = login(manager).get("/").content.decode()
    assert ">Cases</a>" in html and ">Approvals</a>" in html


def test_the_team_is_named_through_the_page(login, case, officer, today):
    mates = [UserFactory(username=f"mate{i}", role="officer", branch=case.branch) for i in range(2)]
    url = reverse("collections_app:record_create", args=[case.pk, "team"])
    response = login(officer).post(url, {"team-members": [m.pk for m in mates], "team-reason": "Big debtor"})
    assert response.status_code == 302
    assert set(fresh(case).team_members.all()) == set(mates)


def test_unknown_record_kinds_are_404(login, case, officer):
    assert login(officer).post(reverse("collections_app:record_create", args=[case.pk, "nope"])).status_code == 404


def test_another_loans_proceeding_cannot_be_updated_through_this_case(login, case, officer, make_npl, today):
    other_case = services.case_open(loan=make_npl(), actor=officer, as_of=today, reason="x")
    foreign = services.legal_proceeding_file(case=other_case, actor=officer, court="c", case_number="9", filed_on=today)
    url = reverse("collections_app:record_create", args=[case.pk, "judgment"])
    response = login(officer).post(url, {"judgment-proceeding": foreign.pk, "judgment-judgment_on": today})
    assert response.status_code == 400  # not among this case's proceedings: a form error
    foreign.refresh_from_db()
    assert foreign.judgment_on is None


__all__ = ["LoanFactory"]


def test_the_admin_lists_cases_read_only(client, admin_user, case):
    client.force_login(admin_user)
    assert client.get(reverse("admin:collections_app_collectioncase_changelist")).status_code == 200
    assert client.get(reverse("admin:collections_app_collectioncase_change", args=[case.pk])).status_code == 200
    assert client.get(reverse("admin:collections_app_collectioncase_add")).status_code == 403
    assert client.get(reverse("admin:collections_app_recovery_changelist")).status_code == 200


def test_the_open_cases_command_opens_and_is_idempotent(make_npl, today):
    from io import StringIO

    from django.core.management import call_command

    make_npl()
    out = StringIO()
    call_command("open_cases", "--as-of", today.isoformat(), stdout=out)
    assert "Opened 1 case(s)" in out.getvalue()
    call_command("open_cases", stdout=out)
    assert CollectionCase.objects.count() == 1


def test_the_demo_seeds_cases_and_histories_once(db, today):
    from collections_app.demo import seed_demo
    from loans.demo import seed_demo as seed_loans

    seed_loans(as_of=today)
    first = seed_demo(as_of=today)
    assert "demo histories written" in first and " 5 demo" in first
    counts = (CollectionCase.objects.count(), Contact.objects.count(), Recovery.objects.count())
    second = seed_demo(as_of=today)
    assert "0 opened" in second and " 0 demo" in second
    assert (CollectionCase.objects.count(), Contact.objects.count(), Recovery.objects.count()) == counts


def test_no_template_runs_a_query_of_its_own():
    """Querysets are evaluated by views and tags; a template only shows what it is given."""
    import re
    from pathlib import Path

    from django.conf import settings

    query_call = re.compile(r"\.(exists|filter|exclude|aggregate|annotate|values_list|in_bulk|select_related)\b")
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{n}"
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(query_call.search(tag) for tag in re.findall(r"{[{%].*?[%}]}", line))
    ]
    assert offenders == []
