"""Issue 13: the head-office queue's page 200 in every order under 100 ms at a million loans.

Deep pages read the page's keys first and then only those rows with their joins (npl_recovery.tables,
DEFERRED_JOIN_FROM); the queue's officer and branch filters are drawn in Python (FastSelect), with
the markup Django's own select draws. Speed is measured in bench/bench_dashboard.py, not here."""

from __future__ import annotations

import pytest
from django import forms
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from collections_app.models import CollectionCase
from collections_app.selectors import case_queue
from collections_app.services import cases_open_for_non_performing
from loans.models import Role
from loans.selectors import loans_for_user
from npl_recovery import tables as paging
from npl_recovery.widgets import FastSelect
from tests.factories import UserFactory
from tests.test_fast_lists import _expected, _nodes, _paginate, _plan, _walk_pages, book_with_ties  # noqa: F401

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL plans")


@pytest.fixture
def deferred_early(monkeypatch):
    """Every page from the second on is read keys first (the threshold is 500 rows in production)."""
    monkeypatch.setattr(paging, "DEFERRED_JOIN_FROM", 4)


@pytest.mark.parametrize("field", ["emphasis", "urgency_on", "recovery_deadline", "limitation_expires_on"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.usefixtures("book_with_ties")
def test_every_queue_sort_read_keys_first_pages_through_every_case_once_in_order(
    client, head_manager, deferred_early, field, descending
):
    cases_open_for_non_performing(as_of=timezone.localdate())
    cases = list(CollectionCase.objects.filter(is_open=True))
    assert len(cases) == 12
    client.force_login(head_manager)
    seen = _walk_pages(client, reverse("collections_app:case_list"), ("-" if descending else "") + field, 4, 3)
    assert seen == _expected(cases, field, descending)


@pytest.mark.parametrize("sort", ["loan_no", "-outstanding_principal", "overdue_since"])
@pytest.mark.usefixtures("book_with_ties")
def test_a_deep_page_read_keys_first_holds_the_rows_of_a_plain_offset(rf, manager, sort):
    queryset = loans_for_user(user=manager).order_by(*([sort] if sort == "loan_no" else [sort, "id"]))
    plain = [loan.pk for loan in queryset]
    for start in range(0, 17, 3):
        assert [loan.pk for loan in paging.page_rows(queryset, start, start + 3)] == plain[start : start + 3]


@pytest.mark.usefixtures("book_with_ties")
def test_rows_read_keys_first_come_with_their_joins_and_past_the_end_is_empty(manager, monkeypatch):
    monkeypatch.setattr(paging, "DEFERRED_JOIN_FROM", 0)
    queryset = loans_for_user(user=manager).select_related("borrower", "branch").order_by("loan_no")
    rows = paging.page_rows(queryset, 2, 5)
    assert len(rows) == 3 and all(loan._state.fields_cache.get("borrower") is not None for loan in rows)
    assert paging.page_rows(queryset, 40, 45) == []


@pytest.mark.usefixtures("book_with_ties")
def test_a_deep_page_costs_one_count_the_keys_and_the_rows(rf, manager, deferred_early, django_assert_num_queries):
    # Page 2 of 5 (before the middle: read forwards), 4 rows in: keys first.
    with django_assert_num_queries(3):
        table = _paginate(rf, manager, sort="-outstanding_principal", page=2)
        rows = [row.record.pk for row in table.page.object_list]
    assert len(rows) == 4


@pytest.mark.usefixtures("book_with_ties")
def test_first_pages_stay_one_read(rf, manager, django_assert_num_queries):
    with django_assert_num_queries(2):  # COUNT, the page (the threshold is 500 rows in)
        table = _paginate(rf, manager, sort="loan_no", page=2)
        [row.record.pk for row in table.page.object_list]


@postgres_only
@pytest.mark.parametrize(
    "order",
    [
        ("emphasis", "urgency_on", "id"),
        ("urgency_on", "id"),
        ("recovery_deadline", "id"),
        ("limitation_expires_on", "id"),
    ],
)
@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.usefixtures("book_with_ties")
def test_the_keys_of_a_deep_queue_page_come_from_the_order_index_alone(head_manager, order, backwards):
    cases_open_for_non_performing(as_of=timezone.localdate())
    queryset = case_queue(user=head_manager).order_by(*order)
    if backwards:
        queryset = queryset.reverse()
    plan = _plan(queryset.values_list("pk", flat=True)[5000:5025])
    relations = {n.get("Relation Name") for n in _nodes(plan)} - {None}
    assert relations == {"collections_app_collectioncase"}, plan
    assert not [n for n in _nodes(plan) if n["Node Type"] in ("Sort", "Incremental Sort", "Seq Scan")], plan
    assert connection.vendor == "postgresql"


# --- the filter's long choice lists ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "2", 1, "9"])
def test_fast_select_draws_what_django_select_draws(value):
    choices = [("", "Any"), (1, 'Wang & "Sons" <b>'), (2, "张伟"), ("Group <g>", [(3, "x"), (4, "y")])]
    attrs = {"id": "id_officer", "data-x": True, "hidden": False}
    assert FastSelect(choices=choices).render("officer", value, attrs=attrs) == forms.Select(choices=choices).render(
        "officer", value, attrs=attrs
    )


def test_the_queue_offers_head_office_every_officer_and_keeps_the_chosen_one(client, head_manager, branch):
    officers = [UserFactory(username=f"o{i}", first_name="Ming", last_name=f"Li<{i}>", role=Role.OFFICER,
                            branch=branch) for i in range(3)]  # fmt: skip
    client.force_login(head_manager)
    page = client.get(reverse("collections_app:case_list"), {"officer": officers[1].pk}).content.decode()
    for officer in officers:
        assert f'<option value="{officer.pk}"' in page
    assert f'<option value="{officer.pk}">' in page  # the last one is not chosen
    assert f'<option value="{officers[1].pk}" selected>' in page
    assert "Li&lt;1&gt;" in page and "Li<1>" not in page
    assert '<select name="officer" id="id_officer">' in page


@pytest.mark.usefixtures("book_with_ties")
def test_every_queue_cell_keeps_its_label_for_the_phone_cards(client, head_manager):
    cases_open_for_non_performing(as_of=timezone.localdate())
    client.force_login(head_manager)
    page = client.get(reverse("collections_app:case_list")).content.decode()
    for label in ("Emphasis", "Next due", "Loan no.", "Borrower", "Officer", "Measure", "Owed (¥)", "Time limit"):
        assert page.count(f'data-label="{label}"') == 12, label
    assert page.count('data-label="Limitation ends"') == 12
