"""Security review, finding 6: the audit trail is append-only in PostgreSQL itself, not only in
Python: UPDATE and DELETE on audit_auditevent are refused, whichever way they are sent."""

from __future__ import annotations

import pytest
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record


@pytest.fixture
def event(branch):
    return audit_record(actor=None, event_type="test.recorded", subject=branch, new={"name": "Riverside"})


def _refused(statement) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        statement()


@pytest.mark.django_db
def test_the_database_refuses_to_change_or_delete_audit_rows(require_postgres, event):
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten"))
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())
    _refused(lambda: AuditEvent.objects.all().delete())
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute("UPDATE audit_auditevent SET new_values = '{}' WHERE id = %s", [event.pk]))
        _refused(lambda: cursor.execute("DELETE FROM audit_auditevent"))
    kept = AuditEvent.objects.get(pk=event.pk)
    assert (kept.reason, kept.new_values) == ("", {"name": "Riverside"})


@pytest.mark.django_db
def test_new_rows_are_still_written(require_postgres, event, branch):
    audit_record(actor=None, event_type="test.recorded", subject=branch, new={"name": "again"})
    assert AuditEvent.objects.filter(event_type="test.recorded").count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_test_database_is_still_flushed_between_tests(require_postgres, event):
    # pytest-django flushes after transactional tests with TRUNCATE, which row triggers do not see.
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), ["audit_auditevent"]))
    assert not AuditEvent.objects.exists()
