"""Security review, finding 10: logs say what happened without what they should not hold. A refused
request (403) is one line, not a traceback; without a mail server, a production process logs which
notification e-mails it did not send, not their text."""

from __future__ import annotations

import logging

import pytest

from notifications.models import Notification
from notifications.services import notification_send, notifications_send_pending_emails

pytestmark = pytest.mark.django_db


def test_a_refused_request_logs_one_line_with_the_reason(client, officer, caplog):
    client.force_login(officer)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/loans/import/")
    assert response.status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and not record.exc_text
    assert record.getMessage() == (
        "Forbidden (Permission denied): /loans/import/ (Only an administrator may import the loan book.)"
    )
    assert "Traceback" not in caplog.text


def test_a_server_error_still_logs_its_traceback(caplog):
    from django.test import RequestFactory
    from django.utils.log import log_response

    request = RequestFactory().get("/boom/")
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        from django.http import HttpResponseServerError

        with caplog.at_level(logging.ERROR, logger="django.request"):
            log_response("Internal Server Error: %s", "/boom/", response=HttpResponseServerError(), request=request,
                         exception=exc)  # fmt: skip
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None


@pytest.fixture
def outbox_notification(manager):
    manager.email = "manager@bank.example"
    manager.save()
    notification_send(
        recipient=manager,
        kind="deadline",
        key="quiet-logs-1",
        title="Time limit missed: loan L-0001 of Zhang Wei",
        body="Zhang Wei, ID 110101199001011234, owes 80,000.00",
        url="/cases/1/",
    )
    return Notification.objects.get(key="quiet-logs-1")


def test_without_a_mail_server_production_logs_only_ids(outbox_notification, settings, caplog, capsys):
    settings.EMAIL_BACKEND = "npl_recovery.mail.LogIdsEmailBackend"
    with caplog.at_level(logging.INFO, logger="npl_recovery.mail"):
        assert notifications_send_pending_emails() == 1
    output = caplog.text + capsys.readouterr().out
    assert f"notification {outbox_notification.pk}" in output
    for secret in ("Zhang Wei", "110101199001011234", "80,000.00", "manager@bank.example", "Time limit missed"):
        assert secret not in output
    outbox_notification.refresh_from_db()
    assert outbox_notification.email_status == Notification.EmailStatus.SENT


def test_production_settings_use_the_ids_only_backend_unless_a_mail_server_is_set():
    from tests.test_deployment import SECRET, _django

    env = {"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "npl.bank.internal"}
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    assert _django(code, env).stdout.strip() == "npl_recovery.mail.LogIdsEmailBackend"
    smtp = {**env, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    assert _django(code, smtp).stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"
    assert _django(code, {"DEBUG": "1"}).stdout.strip() == "django.core.mail.backends.console.EmailBackend"
