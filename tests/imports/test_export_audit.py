"""Security review, finding 7: every export leaves an audit row (who, what, filters, rows), however
it is made, and a user may make at most NPL_EXPORTS_PER_HOUR exports an hour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from freezegun import freeze_time

from audit.models import AuditEvent
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db

EXPORTED = "loans.exported"


@pytest.fixture
def book(branch, other_branch):
    LoanFactory(loan_no="L-1", branch=branch)
    LoanFactory(loan_no="L-2", branch=branch, overdue_since=timezone.localdate() - timedelta(days=400))
    LoanFactory(loan_no="H-1", branch=other_branch)


def _exports(**filters):
    return AuditEvent.objects.filter(event_type=EXPORTED, **filters).order_by("id")


def _drain(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_page_export_records_who_what_filters_and_rows(book, manager, client):
    client.force_login(manager)
    _drain(client.get("/loans/export/loans.csv?branch=&q=L-"))
    _drain(client.get("/loans/export/loans.xlsx"))
    first, second = _exports()
    assert first.actor == manager and first.branch_id == manager.branch_id
    assert (first.subject_type, first.subject_id) == ("loans.user", manager.pk)
    assert first.new_values == {"export": "loans", "format": "csv", "filters": {"q": "L-"}, "rows": 2, "via": "page"}
    assert second.new_values == {"export": "loans", "format": "xlsx", "filters": {}, "rows": 2, "via": "page"}


def test_the_board_the_admin_and_the_command_exports_are_recorded(book, manager, admin_user, client, tmp_path):
    client.force_login(manager)
    _drain(client.get("/accountability/board/?export=csv&state=proposed"))
    client.force_login(admin_user)
    _drain(client.post("/admin/loans/loan/export/?branch__id__exact=1", {"format": "0", "resource": "0"}))
    call_command("export_loans", str(tmp_path / "all.csv"))
    call_command("export_loans", str(tmp_path / "mine.csv"), "--user", "manager")
    board, admin, command, command_as_manager = _exports()
    assert board.actor == manager
    assert board.new_values == {
        "export": "accountability", "format": "csv", "filters": {"state": "proposed"}, "rows": 0, "via": "board",
    }  # fmt: skip
    assert admin.actor == admin_user
    assert admin.new_values["via"] == "admin" and admin.new_values["filters"] == {"branch__id__exact": "1"}
    assert command.actor is None and (command.subject_type, command.subject_id) == ("", 0)
    path = str(tmp_path / "all.csv")
    assert command.new_values == {
        "export": "loans", "format": "csv", "filters": {}, "rows": 3, "via": "command", "path": path,
    }  # fmt: skip
    assert command_as_manager.actor == manager and command_as_manager.new_values["rows"] == 2


def test_a_user_over_the_hourly_limit_is_refused_with_when_to_try_again(book, manager, client, settings):
    settings.NPL_EXPORTS_PER_HOUR = 3
    client.force_login(manager)
    start = timezone.now().replace(microsecond=0)
    for minute in range(3):
        with freeze_time(start + timedelta(minutes=minute)):
            assert client.get("/loans/export/loans.csv").status_code == 200
    with freeze_time(start + timedelta(minutes=10)):
        refused = client.get("/loans/export/loans.csv")
        board = client.get("/accountability/board/?export=xlsx")
    assert refused.status_code == board.status_code == 429
    again = timezone.localtime(start + timedelta(hours=1))
    assert (
        f"You have made 3 exports in the last hour; at most 3 an hour are allowed. Try again after {again:%H:%M}."
        in refused.content.decode()
    )
    assert refused["Retry-After"] == str(50 * 60)
    assert _exports(actor=manager).count() == 3  # a refused export is not an export
    with freeze_time(start + timedelta(hours=1, seconds=1)):
        client.force_login(manager)  # (idle for 50 minutes: the session has ended)
        assert client.get("/loans/export/loans.csv").status_code == 200


def test_the_limit_is_per_user_and_the_command_without_a_user_has_none(
    book, manager, head_manager, client, settings, tmp_path
):
    settings.NPL_EXPORTS_PER_HOUR = 1
    client.force_login(manager)
    assert client.get("/loans/export/loans.csv").status_code == 200
    assert client.get("/loans/export/loans.csv").status_code == 429
    client.force_login(head_manager)
    assert client.get("/loans/export/loans.csv").status_code == 200
    for n in range(3):
        call_command("export_loans", str(tmp_path / f"book-{n}.csv"))
    assert _exports(actor=None).count() == 3
