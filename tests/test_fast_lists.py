"""Issue 15, items 1-2: the search uses an index, the lists sort only by what an index serves, page
stably and cheaply, and count without scanning a million rows (npl_recovery/tables.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from collections_app.models import CollectionCase
from collections_app.services import cases_open_for_non_performing
from collections_app.tables import CaseTable
from loans import selectors
from loans.models import Loan
from loans.selectors import loans_for_user, loans_search
from loans.tables import LoanTable
from npl_recovery import tables as paging
from npl_recovery.tables import EstimatedCountPaginator, paginate_table
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL plans and estimates")


def loan_list(client, **params):
    return client.get(reverse("loans:loan_list"), params)


def queue(client, **params):
    return client.get(reverse("collections_app:case_list"), params)


def found(user, text) -> set[str]:
    return set(loans_search(loans_for_user(user=user), text).values_list("loan_no", flat=True))


# --- item 1: search -------------------------------------------------------------------------------


@pytest.fixture
def searchable(branch):
    return {
        "wang": LoanFactory(
            loan_no="RIV-2026-0001",
            branch=branch,
            borrower=BorrowerFactory(name="Wang Wei", id_no="330102198001011234"),
        ),
        "zhang": LoanFactory(
            loan_no="RIV-2026-0002",
            branch=branch,
            borrower=BorrowerFactory(name="Zhang Min", id_no="110101197502023456"),
        ),
        "percent": LoanFactory(
            loan_no="RIV-2025-0100", branch=branch, borrower=BorrowerFactory(name="Ten % Trading", id_no="ORG-77")
        ),
        "underscore": LoanFactory(
            loan_no="X_1", branch=branch, borrower=BorrowerFactory(name="A_B Farm", id_no="ORG-78")
        ),
        "lookalike": LoanFactory(
            loan_no="XY1", branch=branch, borrower=BorrowerFactory(name="AxB Farm", id_no="ORG-79")
        ),
    }


def test_search_finds_a_loan_by_the_start_of_its_number_in_any_case(manager, searchable):
    assert found(manager, "riv-2026") == {"RIV-2026-0001", "RIV-2026-0002"}
    assert found(manager, "RIV-2026-0002") == {"RIV-2026-0002"}
    # Numbers are looked up by their start, not by any part.
    assert found(manager, "2026-0001") == set()


def test_search_finds_a_borrower_by_any_part_of_the_name(manager, searchable):
    assert found(manager, "ang We") == {"RIV-2026-0001"}
    assert found(manager, "WANG") == {"RIV-2026-0001"}
    assert found(manager, "min") == {"RIV-2026-0002"}


def test_search_finds_a_borrower_by_the_start_of_the_id_number(manager, searchable):
    assert found(manager, "330102") == {"RIV-2026-0001"}
    assert found(manager, "110101197502023456") == {"RIV-2026-0002"}


def test_a_search_shorter_than_three_characters_matches_the_start_of_a_name_only(manager, searchable):
    assert found(manager, "Zh") == {"RIV-2026-0002"}
    assert found(manager, "ei") == set()  # "Wang Wei" contains it, but not at the start


def test_search_takes_percent_and_underscore_literally(manager, searchable):
    assert found(manager, "%") == set()
    assert found(manager, "Ten %") == {"RIV-2025-0100"}
    assert found(manager, "A_B") == {"X_1"}
    assert found(manager, "X_") == {"X_1"}  # not XY1: "_" is not a wildcard


def test_search_is_scoped_and_blank_changes_nothing(manager, outsider, searchable, other_branch):
    LoanFactory(loan_no="RIV-2026-0009", branch=other_branch)
    assert found(manager, "RIV-2026") == {"RIV-2026-0001", "RIV-2026-0002"}
    assert found(outsider, "RIV-2026") == {"RIV-2026-0009"}
    assert found(outsider, "Wang") == set()
    assert loans_search(loans_for_user(user=manager), "   ").count() == 5


def test_the_loan_list_search_uses_the_selector(client, manager, searchable):
    client.force_login(manager)
    body = loan_list(client, q="zhang").content.decode()
    assert "RIV-2026-0002" in body and "RIV-2026-0001" not in body


def test_a_search_matching_too_many_loans_stops_and_says_so(client, manager, branch, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_MAX_MATCHES", 3)
    import loans.views

    monkeypatch.setattr(loans.views, "SEARCH_MAX_MATCHES", 3)
    loans = [LoanFactory(loan_no=f"CAP-{i}", branch=branch) for i in range(5)]
    assert found(manager, "CAP-") == {loan.loan_no for loan in loans[:3]}  # the lowest ids
    client.force_login(manager)
    body = loan_list(client, q="CAP-").content.decode()
    assert "More loans match this search than the 3 shown" in body
    assert "More loans match" not in loan_list(client, q="CAP-1").content.decode()


def test_the_queue_search_finds_a_case_by_borrower_id_number(login, manager, branch, officer):
    today = timezone.localdate()
    for i, id_no in enumerate(["ID-QUEUE-1", "ID-OTHER-2"]):
        LoanFactory(
            loan_no=f"Q-{i}",
            branch=branch,
            responsible_officer=officer,
            borrower=BorrowerFactory(id_no=id_no),
            overdue_since=today - timedelta(days=200),
            five_level_class="substandard",
        )
    cases_open_for_non_performing(as_of=today)
    body = queue(login(manager), q="id-queue").content.decode()
    assert "Q-0" in body and "Q-1" not in body


# --- item 2: sort orders and stable pages ----------------------------------------------------------


def test_the_loan_list_offers_only_index_served_sorts():
    table = LoanTable(Loan.objects.none())
    orderable = {c.name: tuple(o.lstrip("-") for o in c.order_by) for c in table.columns if c.orderable}
    assert orderable == {
        "loan_no": ("loan_no",),  # unique
        "outstanding_principal": ("outstanding_principal", "id"),
        "overdue_since": ("overdue_since", "id"),
    }


def test_the_queue_offers_only_index_served_sorts():
    table = CaseTable(CollectionCase.objects.none())
    orderable = {c.name: tuple(o.lstrip("-") for o in c.order_by) for c in table.columns if c.orderable}
    assert orderable == {
        "emphasis": ("emphasis", "urgency_on", "id"),
        "urgency_on": ("urgency_on", "id"),
        "recovery_deadline": ("recovery_deadline", "id"),
        "limitation_expires_on": ("limitation_expires_on", "id"),
    }


@pytest.fixture
def book_with_ties(branch, officer):
    """17 loans with many equal balances and overdue dates (and some never overdue): ties everywhere."""
    today = timezone.localdate()
    loans = []
    for i in range(17):
        loans.append(
            LoanFactory(
                loan_no=f"T{(i * 7) % 17:03d}",
                branch=branch,
                responsible_officer=officer,
                outstanding_principal=Decimal(10_000 + (i % 3) * 1000),
                overdue_since=None if i % 4 == 0 else today - timedelta(days=100 + (i % 2) * 200),
                five_level_class="normal" if i % 4 == 0 else "substandard",
            )
        )
    return loans


def _walk_pages(client, url, sort, per_page, pages, prefix=""):
    """The row links of every page, in order (each record's link appears once per row)."""
    seen = []
    for page in range(1, pages + 1):
        response = client.get(url, {f"{prefix}sort": sort, "per_page": per_page, "page": page})
        assert response.status_code == 200
        table = response.context["table"]
        seen += [row.record.pk for row in table.page.object_list]
    return seen


def _expected(rows, field, descending):
    if field == "emphasis":
        # The queue's default order (issue 11): emphasis, then urgency, then the pk; none is NULL.
        ordered = sorted(rows, key=lambda r: (r.emphasis, r.urgency_on, r.pk), reverse=descending)
        return [r.pk for r in ordered]
    present = [r for r in rows if getattr(r, field) is not None]
    missing = [r for r in rows if getattr(r, field) is None]
    present.sort(key=lambda r: (getattr(r, field), r.pk), reverse=descending)
    missing.sort(key=lambda r: r.pk, reverse=descending)
    # PostgreSQL puts NULLs last ascending (first descending); SQLite the other way round.
    nulls_last = (connection.vendor == "postgresql") != descending
    return [r.pk for r in (present + missing if nulls_last else missing + present)]


@pytest.mark.parametrize("field", ["loan_no", "outstanding_principal", "overdue_since"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_loan_list_sort_pages_through_every_loan_once_in_order(
    client, manager, book_with_ties, field, descending
):
    client.force_login(manager)
    seen = _walk_pages(client, reverse("loans:loan_list"), ("-" if descending else "") + field, per_page=4, pages=5)
    assert seen == _expected(book_with_ties, field, descending)


@pytest.mark.parametrize("field", ["emphasis", "urgency_on", "recovery_deadline", "limitation_expires_on"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_queue_sort_pages_through_every_case_once_in_order(client, manager, book_with_ties, field, descending):
    cases_open_for_non_performing(as_of=timezone.localdate())
    cases = list(CollectionCase.objects.filter(is_open=True))
    assert len(cases) == 12
    client.force_login(manager)
    seen = _walk_pages(client, reverse("collections_app:case_list"), ("-" if descending else "") + field, 5, 3)
    assert seen == _expected(cases, field, descending)


def test_a_sort_that_is_not_offered_is_ignored(client, manager, book_with_ties):
    client.force_login(manager)
    response = loan_list(client, sort="-borrower")
    assert [row.record.pk for row in response.context["table"].page.object_list] == _expected(
        book_with_ties, "loan_no", False
    )[:25]


# --- item 2: counts and deep pages ---------------------------------------------------------------------


def _paginate(rf, user, per_page=4, **params):
    request = rf.get("/", params)
    request.user = user
    table = LoanTable(loans_for_user(user=user))
    return paginate_table(request, table, per_page=per_page)


def test_a_list_under_the_threshold_is_counted_exactly(rf, manager, book_with_ties):
    table = _paginate(rf, manager)
    assert table.paginator.count == 17 and not table.paginator.count_is_estimate


def test_a_list_above_the_threshold_shows_an_estimate_on_postgresql(rf, client, manager, book_with_ties, monkeypatch):
    monkeypatch.setattr(paging, "EXACT_COUNT_UP_TO", 5)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE loans_loan")
    table = _paginate(rf, manager)
    if connection.vendor == "postgresql":
        assert table.paginator.count_is_estimate
        assert table.paginator.count > 5  # the planner's figure: at least what was counted
        client.force_login(manager)
        assert f"about {table.paginator.count} loans" in loan_list(client).content.decode()
    else:  # SQLite has no estimate: it counts
        assert table.paginator.count == 17 and not table.paginator.count_is_estimate


def test_the_estimate_is_read_from_the_plan(manager, book_with_ties):
    estimate = paging.planner_estimate(loans_for_user(user=manager))
    if connection.vendor == "postgresql":
        assert isinstance(estimate, int) and estimate >= 1
    else:
        assert estimate is None


@pytest.mark.parametrize("sort", ["loan_no", "-outstanding_principal", "overdue_since"])
def test_pages_past_the_middle_read_backwards_and_give_the_rows_a_forward_read_gives(
    rf, manager, book_with_ties, sort, django_assert_num_queries
):
    ordered = LoanTable(loans_for_user(user=manager), order_by=(sort,))
    forward = Paginator(list(ordered.data.data), 4)
    for number in range(1, forward.num_pages + 1):
        table = _paginate(rf, manager, sort=sort, page=number)
        rows = [row.record.pk for row in table.page.object_list]
        assert rows == [loan.pk for loan in forward.page(number).object_list], number
        assert table.page.number == number
    # The last page: one COUNT, one read (backwards), nothing per row.
    with django_assert_num_queries(2):
        table = _paginate(rf, manager, sort=sort, page=5)
        [row.record.pk for row in table.page.object_list]


def test_a_page_past_the_end_shows_the_last_page(rf, manager, book_with_ties):
    table = _paginate(rf, manager, page=999)
    assert table.page.number == 5 and len(table.page.object_list) == 1


def test_the_backwards_read_is_a_reversed_order_with_an_offset_from_the_end(rf, manager, book_with_ties):
    queryset = loans_for_user(user=manager).order_by("outstanding_principal", "id")
    paginator = EstimatedCountPaginator(queryset, 4)
    page = paginator.page(4)
    assert [loan.pk for loan in page.object_list] == [loan.pk for loan in list(queryset)[12:16]]


# --- query counts ---------------------------------------------------------------------------------------

# Session, user, the filter's branch choices, COUNT (bounded), the page; and the menu's look-ups.
LOAN_LIST_QUERIES = 8


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "T00"}, {"sort": "-outstanding_principal", "page": 5, "per_page": 4}, {"non_performing": "yes"}],
)
def test_the_loan_list_query_count_is_pinned(client, manager, book_with_ties, params, django_assert_max_num_queries):
    client.force_login(manager)
    loan_list(client, **params)
    with django_assert_max_num_queries(LOAN_LIST_QUERIES):
        assert loan_list(client, **params).status_code == 200
    for i in range(10):
        LoanFactory(loan_no=f"T00{i}X", branch=book_with_ties[0].branch)
    with django_assert_max_num_queries(LOAN_LIST_QUERIES):
        assert loan_list(client, **params).status_code == 200


# --- PostgreSQL: the plans use the indexes -----------------------------------------------------------------


def _plan(queryset, *, search: bool = False) -> str:
    """The plan PostgreSQL would use if a scan of the whole table were never cheaper (a test table is
    small, so the planner would rightly scan it): a Seq Scan left in this plan means no index can
    serve the query, and a Sort node means no index gives its order. For a search, plain index
    scans are off too (walking a whole index is no better than a Seq Scan): what is left are bitmap
    scans, which need an index condition."""
    sql, params = queryset.query.sql_with_params()
    switches = ["enable_seqscan"] + (["enable_indexscan", "enable_indexonlyscan"] if search else ["enable_sort"])
    with connection.cursor() as cursor:
        for switch in switches:
            cursor.execute(f"SET LOCAL {switch} = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        for switch in switches:
            cursor.execute(f"RESET {switch}")
    return json.dumps(plan if not isinstance(plan, str) else json.loads(plan))


def _nodes(plan_json: str) -> list[dict]:
    out = []

    def walk(node):
        out.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(json.loads(plan_json)[0]["Plan"])
    return out


def _seq_scans(plan_json: str) -> set[str]:
    return {n.get("Relation Name") for n in _nodes(plan_json) if n["Node Type"] == "Seq Scan"}


@postgres_only
@pytest.mark.parametrize("text", ["Wang", "ang We", "RIV-20", "3301", "Zh"])
def test_the_search_uses_the_trigram_indexes(manager, searchable, text):
    plan = _plan(loans_search(loans_for_user(user=manager), text).order_by("loan_no")[:25], search=True)
    assert not _seq_scans(plan) & {"loans_loan", "loans_borrower"}, plan
    indexes = {n.get("Index Name") for n in _nodes(plan)}
    assert {"loan_loan_no_trgm", "borrower_name_trgm", "borrower_id_no_trgm"} <= indexes, indexes


@postgres_only
@pytest.mark.parametrize("order", [("loan_no",), ("outstanding_principal", "id"), ("overdue_since", "id")])
@pytest.mark.parametrize("backwards", [False, True])
def test_every_loan_list_sort_is_read_from_an_index(manager, book_with_ties, order, backwards):
    queryset = loans_for_user(user=manager).order_by(*order)
    if backwards:
        queryset = queryset.reverse()
    plan = _plan(queryset[:25])
    assert "loans_loan" not in _seq_scans(plan), plan
    assert not [n for n in _nodes(plan) if n["Node Type"] in ("Sort", "Incremental Sort")], plan


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
def test_every_queue_sort_is_read_from_an_index(head_manager, book_with_ties, order, backwards):
    from collections_app.selectors import case_queue

    cases_open_for_non_performing(as_of=timezone.localdate())
    queryset = case_queue(user=head_manager).order_by(*order)
    if backwards:
        queryset = queryset.reverse()
    plan = _plan(queryset[:25])
    assert "collections_app_collectioncase" not in _seq_scans(plan), plan
    assert not [n for n in _nodes(plan) if n["Node Type"] in ("Sort", "Incremental Sort")], plan


@pytest.mark.parametrize(
    ("language", "loans", "cases"),
    [
        ("en", "about 1,234,567 loans", "about 1,234,567 cases"),
        ("zh-hans", "约 1,234,567 笔贷款", "约 1,234,567 件案件"),
    ],
)
def test_a_large_count_is_written_with_thousands_separators(
    client, manager, book_with_ties, monkeypatch, language, loans, cases
):
    """At a million loans the list said "about 1000000 loans" (seen in a screenshot of the 1M book)."""
    cases_open_for_non_performing(as_of=timezone.localdate())
    monkeypatch.setattr(EstimatedCountPaginator, "count", property(lambda self: 1_234_567))
    monkeypatch.setattr(EstimatedCountPaginator, "count_is_estimate", True)
    client.force_login(manager)
    loan_page = client.get(reverse("loans:loan_list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert loans in loan_page
    queue = client.get(reverse("collections_app:case_list"), {"scope": "all"}, HTTP_ACCEPT_LANGUAGE=language)
    assert cases in queue.content.decode()


@pytest.mark.parametrize(("language", "any_"), [("en", "Any"), ("zh-hans", "全部")])
def test_the_loan_lists_filters_offer_any_not_dashes(client, manager, book_with_ties, language, any_):
    """The loan list's class, branch and borrower-kind filters offered "---------" (Django's empty
    label) where every other list says "Any" (seen in a screenshot of the 1M book)."""
    client.force_login(manager)
    html = client.get(reverse("loans:loan_list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "---------" not in html
    for name in ("five_level_class", "four_level_class", "branch", "borrower__kind"):
        select = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        assert f'<option value="" selected>{any_}</option>' in select or f'<option value="">{any_}</option>' in select
