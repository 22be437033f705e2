"""Loan pages and admin: they render, and their query counts do not grow with the rows."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from loans.services import loans_reclassify
from tests.factories import CollateralFactory, GuaranteeFactory, LoanFactory

pytestmark = pytest.mark.django_db


def _book(branch, n):
    for i in range(n):
        loan = LoanFactory(branch=branch, overdue_since=date(2026, 1, 1) - timedelta(days=i * 40))
        GuaranteeFactory(loan=loan)
        CollateralFactory(loan=loan)
    loans_reclassify(as_of=date(2026, 6, 30))


def _queries_for(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url_name", ["home", "loans:loan_list"])
def test_list_pages_make_the_same_number_of_queries_for_3_or_30_loans(
    client, manager, branch, url_name, django_assert_max_num_queries
):
    client.force_login(manager)
    # The dashboard: fourteen panels, each reading kept cells, snapshots or indexed lists (issue 13;
    # tests/dashboards pins each panel's own count): 47 for a branch manager, whatever the book's size.
    limit = {"home": 48}.get(url_name, 12)
    _book(branch, 3)
    few = _queries_for(client, reverse(url_name), django_assert_max_num_queries, limit)
    _book(branch, 27)
    many = _queries_for(client, reverse(url_name), django_assert_max_num_queries, limit)
    assert few == many


def test_loan_detail_query_count_is_pinned(client, manager, branch, django_assert_max_num_queries):
    client.force_login(manager)
    _book(branch, 1)
    loan = branch.loans.get()
    GuaranteeFactory(loan=loan)
    _queries_for(client, reverse("loans:loan_detail", args=[loan.pk]), django_assert_max_num_queries, 12)


def test_loan_list_filters_and_sorts(client, manager, branch):
    client.force_login(manager)
    _book(branch, 12)
    html = client.get(reverse("loans:loan_list"), {"five_level_class": "loss", "sort": "-outstanding_principal"})
    assert html.status_code == 200
    body = html.content.decode()
    assert "badge-loss" in body and "badge-normal" not in body


def test_dashboard_shows_npl_totals(client, manager, branch):
    client.force_login(manager)
    _book(branch, 10)
    body = client.get(reverse("home")).content.decode()
    assert "Non-performing balance" in body and "NPL ratio" in body


@pytest.mark.parametrize(
    "model", ["branch", "user", "borrower", "loan", "guarantor", "guarantee", "collateral", "classificationchange"]
)
def test_admin_changelists_with_search_render(admin_client, branch, model):
    _book(branch, 2)
    response = admin_client.get(reverse(f"admin:loans_{model}_changelist"), {"q": "a"})
    assert response.status_code == 200


def test_admin_reclassify_action(admin_client, branch):
    loan = LoanFactory(branch=branch, overdue_since=date(2020, 1, 1))
    response = admin_client.post(
        reverse("admin:loans_loan_changelist"),
        {"action": "reclassify_today", "_selected_action": [loan.pk]},
        follow=True,
    )
    assert response.status_code == 200
    loan.refresh_from_db()
    assert loan.five_level_class == "loss"


def test_loan_list_non_performing_filter(client, manager, branch):
    client.force_login(manager)
    _book(branch, 12)
    body = client.get(reverse("loans:loan_list"), {"non_performing": "yes"}).content.decode()
    assert "badge-loss" in body and "badge-normal" not in body and "badge-special_mention" not in body
    body = client.get(reverse("loans:loan_list"), {"non_performing": "no"}).content.decode()
    assert "badge-loss" not in body and "badge-substandard" not in body


def test_landing_pages_by_role(client, officer, manager, admin_user):
    """Issue 10: an officer lands on today's work, a manager on the dashboard, an admin on the
    dashboard with the book and the imports."""
    client.force_login(officer)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("collections_app:case_list")) and "due=today" in response["Location"]
    assert client.get(reverse("dashboard")).status_code == 200
    client.force_login(manager)
    body = client.get(reverse("home")).content.decode()
    assert "Non-performing balance" in body and "Recent imports" not in body
    client.force_login(admin_user)
    body = client.get(reverse("home")).content.decode()
    assert "Non-performing balance" in body and "Recent imports" in body and reverse("loans:import_start") in body


def test_seed_demo_prints_only_its_summary_lines(tmp_path):
    """Issue 10: `seed_demo` prints no stray line (kombu's "No hostname was supplied" on the
    filesystem broker), on stdout or stderr."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    run = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Loan book",
        "Collection cases",
        "Accountability",
        "Book of the day imported",
        "Demo logins (password demo-pass-2026)",
    ]


def test_date_inputs_render_iso_dates_in_chinese():
    """Issue 10: in zh-hans a form's date input showed 2026/12/02, which <input type="date"> drops:
    the import page's as-of date came back empty and the upload failed."""
    import datetime

    from django import forms
    from django.utils import translation

    with translation.override("zh-hans"):
        html = forms.DateInput(attrs={"type": "date"}).render("d", datetime.date(2026, 12, 2))
        assert 'value="2026-12-02"' in html
        assert forms.DateField().clean("2026/12/02") == datetime.date(2026, 12, 2)
