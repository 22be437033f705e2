"""Security review, finding 8 in the app: a Content-Security-Policy that allows only our own static
files (and templates that need nothing else), and sessions that end when the user stops working."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.parametrize("path", ["/login/", "/", "/loans/", "/admin/loans/loan/"])
def test_every_page_carries_a_policy_of_our_own_files_only(client, admin_user, path):
    if path != "/login/":
        client.force_login(admin_user)
    response = client.get(path)
    assert response.status_code == 200
    assert _policy(response) == STRICT


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle=[\"']", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+=[\"']", re.I), "an event-handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\shx-on[:-]", re.I), "an hx-on attribute (needs eval)"),
]


def test_no_template_needs_inline_script_or_style():
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")) + sorted(ROOT.glob("*/templates/**/*.html")):
        text = template.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{Path(template).relative_to(ROOT)}:{line}: {what}")
    assert not found, "\n".join(found)


# --- idle sessions ---------------------------------------------------------------------------------


def test_a_session_ends_after_30_idle_minutes(client, manager, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    start = timezone.now()
    with freeze_time(start):
        client.force_login(manager)
        assert client.get("/loans/").status_code == 200
    with freeze_time(start + timedelta(minutes=31)):
        response = client.get("/loans/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_working_keeps_the_session_and_the_bell_does_not(client, manager):
    start = timezone.now()
    with freeze_time(start):
        client.force_login(manager)
    for minute in (20, 40, 60):  # a request every 20 minutes: never idle for 30
        with freeze_time(start + timedelta(minutes=minute)):
            assert client.get("/loans/").status_code == 200
    for minute in (70, 80, 90):  # only the bell polls (a page left open)
        with freeze_time(start + timedelta(minutes=minute)):
            client.get("/notifications/bell/", HTTP_HX_REQUEST="true")
    with freeze_time(start + timedelta(minutes=91)):
        assert client.get("/loans/").status_code == 302


def test_a_request_saves_the_session_at_most_once_a_minute(client, manager):
    client.force_login(manager)
    with CaptureQueriesContext(connection) as captured:
        client.get("/loans/")
        client.get("/loans/")
    assert not [q for q in captured.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    with freeze_time(timezone.now() + timedelta(minutes=2)), CaptureQueriesContext(connection) as captured:
        client.get("/loans/")
    assert [q for q in captured.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]


# --- the policy in a real browser --------------------------------------------------------------------

PAGES = [
    "/",
    "/loans/",
    "{loan}",
    "/cases/",
    "{case}",
    "/accountability/board/",
    "/loans/import/",
    "/loans/import/{batch}/",
    "/loans/export/",
    "/notifications/",
    "/admin/",
    "/admin/loans/loan/",
    "/admin/loans/loan/{loan_id}/change/",
    "/admin/loans/loan/import/",
    "/admin/loans/loan/export/",
    "/admin/audit/auditevent/",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_run_in_a_browser_without_breaking_the_policy(browser_session, admin_user, branch):
    from collections_app.models import CollectionCase
    from loans.models import ImportBatch
    from loans.services import loans_reclassify
    from tests.factories import LoanFactory

    today = timezone.localdate()
    loan = LoanFactory(branch=branch, loan_no="CSP-1", overdue_since=today - timedelta(days=200))
    LoanFactory(branch=branch, loan_no="CSP-2")
    loans_reclassify(as_of=today)  # the overdue loan becomes non-performing and gets its case
    case = CollectionCase.objects.get(loan=loan)
    batch = ImportBatch.objects.create(created_by=admin_user, source="page", as_of=today, file_name="book.csv")

    s = browser_session.login("admin")
    violations: list[str] = []
    s.page.on(
        "console",
        lambda message: (
            violations.append(f"{s.page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    for path in PAGES:
        path = path.format(loan=loan.get_absolute_url(), loan_id=loan.pk, case=case.get_absolute_url(), batch=batch.pk)
        response = s.go(path)
        assert response.status == 200, path
        s.page.wait_for_load_state("load")
        s.page.wait_for_timeout(300)  # htmx's first requests (the bell, the progress poll)
    assert not violations, "\n".join(violations)

    s.go("/")  # the class bar's widths are set by static/js/app.js (no inline styles)
    widths = s.page.eval_on_selector_all(".bar span", "spans => spans.map(s => s.getBoundingClientRect().width)")
    assert widths and all(w > 0 for w in widths)
