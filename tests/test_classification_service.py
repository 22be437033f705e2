"""Classifying the book: history, idempotence, manual judgement, provisions."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from audit.models import AuditEvent
from loans.models import ClassificationChange, ClassificationRun, Loan
from loans.services import loan_classify, loan_classify_manually, loans_reclassify
from loans.signals import loans_reclassified
from tests.factories import LoanFactory

AS_OF = date(2026, 6, 30)
pytestmark = pytest.mark.django_db


def _loan(dpd, **kw) -> Loan:
    return LoanFactory(overdue_since=AS_OF - timedelta(days=dpd) if dpd is not None else None, **kw)


def test_book_reclassification_records_each_change_once(branch):
    loans = [_loan(None, branch=branch), _loan(100, branch=branch), _loan(400, branch=branch)]
    result = loans_reclassify(as_of=AS_OF)
    assert result.examined == 3
    loans = [Loan.objects.get(pk=x.pk) for x in loans]
    assert [x.five_level_class for x in loans] == ["normal", "substandard", "loss"]
    assert [x.four_level_class for x in loans] == ["normal", "overdue", "overdue"]
    assert loans[1].specific_provision == Decimal("20000.00")  # 25% of 80,000
    assert loans[2].specific_provision == Decimal("80000.00")
    five = ClassificationChange.objects.filter(scheme="five_level").order_by("loan_id")
    assert [(c.from_class, c.to_class, c.source) for c in five] == [
        ("normal", "substandard", "rule"),
        ("normal", "loss", "rule"),
    ]
    assert five[0].reason == "100 days past due (more than 90)"
    assert five[0].as_of == AS_OF
    assert set(result.became_non_performing) == {loans[1].pk, loans[2].pk}
    run = ClassificationRun.objects.get()
    assert run.finished_at is not None and run.loans_changed == 3


def test_running_twice_for_the_same_day_changes_nothing_more(branch):
    _loan(100, branch=branch)
    loans_reclassify(as_of=AS_OF)
    before = ClassificationChange.objects.count()
    again = loans_reclassify(as_of=AS_OF)
    assert again.changed == 0
    assert ClassificationChange.objects.count() == before


def test_small_batches_cover_the_whole_book(branch):
    for dpd in range(0, 500, 25):
        _loan(dpd, branch=branch)
    result = loans_reclassify(as_of=AS_OF, batch_size=3)
    assert result.examined == 20
    assert (
        Loan.objects.filter(five_level_class="loss").count()
        == Loan.objects.filter(overdue_since__lt=AS_OF - timedelta(days=360)).count()
    )


def test_a_loan_crossing_a_threshold_tomorrow_changes_tomorrow(branch):
    loan = _loan(90, branch=branch)
    loans_reclassify(as_of=AS_OF)
    assert Loan.objects.get(pk=loan.pk).five_level_class == "special_mention"
    loans_reclassify(as_of=AS_OF + timedelta(days=1))
    assert Loan.objects.get(pk=loan.pk).five_level_class == "substandard"


def test_signal_names_loans_that_became_non_performing(branch, django_capture_on_commit_callbacks):
    loan = _loan(200, branch=branch)
    received = []

    def listener(**kwargs):
        received.append(kwargs)

    loans_reclassified.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            loans_reclassify(as_of=AS_OF)
    finally:
        loans_reclassified.disconnect(listener)
    assert received and received[0]["became_non_performing"] == [loan.pk]


@override_settings(NPL_RULES={"technical_delay_days": 0})
def test_thresholds_come_from_settings(branch):
    loan = _loan(3, branch=branch)
    loan_classify(loan=loan, as_of=AS_OF)
    assert Loan.objects.get(pk=loan.pk).five_level_class == "special_mention"


def test_manager_classifies_worse_with_a_reason(branch, manager):
    loan = _loan(10, branch=branch)
    loans_reclassify(as_of=AS_OF)
    result = loan_classify_manually(
        loan=loan, five_level_class="doubtful", reason="Borrower's factory closed", actor=manager, as_of=AS_OF
    )
    loan.refresh_from_db()
    assert result.five_level == "doubtful"
    assert loan.five_level_class == "doubtful" and loan.manual_five_level_class == "doubtful"
    change = ClassificationChange.objects.filter(loan=loan, source="manual").get()
    assert (change.from_class, change.to_class, change.actor, change.reason) == (
        "special_mention",
        "doubtful",
        manager,
        "Borrower's factory closed",
    )
    event = AuditEvent.objects.get(event_type="loan.classified_manually")
    assert event.actor == manager and event.new_values["five_level_class"] == "doubtful"
    # The daily run keeps the manager's judgement.
    loans_reclassify(as_of=AS_OF + timedelta(days=1))
    assert Loan.objects.get(pk=loan.pk).five_level_class == "doubtful"


def test_manual_class_better_than_the_floor_is_refused_with_the_floor_named(branch, manager):
    loan = _loan(300, branch=branch)
    loans_reclassify(as_of=AS_OF)
    with pytest.raises(ValidationError) as exc:
        loan_classify_manually(loan=loan, five_level_class="normal", reason="Trust me", actor=manager, as_of=AS_OF)
    message = exc.value.message_dict["five_level_class"][0]
    assert "better than the floor" in message and "Doubtful" in message
    loan.refresh_from_db()
    assert loan.five_level_class == "doubtful" and loan.manual_five_level_class == ""
    assert not AuditEvent.objects.filter(event_type="loan.classified_manually").exists()


def test_manual_classification_needs_a_reason(branch, manager):
    loan = _loan(10, branch=branch)
    with pytest.raises(ValidationError) as exc:
        loan_classify_manually(loan=loan, five_level_class="loss", reason="  ", actor=manager, as_of=AS_OF)
    assert "reason" in exc.value.message_dict


def test_officer_may_not_classify_by_hand(branch, officer):
    loan = _loan(10, branch=branch)
    with pytest.raises(PermissionDenied):
        loan_classify_manually(loan=loan, five_level_class="loss", reason="x", actor=officer, as_of=AS_OF)


def test_manager_of_another_branch_may_not_classify(branch, outside_manager):
    loan = _loan(10, branch=branch)
    with pytest.raises(PermissionDenied):
        loan_classify_manually(loan=loan, five_level_class="loss", reason="x", actor=outside_manager, as_of=AS_OF)


def test_history_is_append_only(branch):
    _loan(100, branch=branch)
    loans_reclassify(as_of=AS_OF)
    change = ClassificationChange.objects.first()
    change.reason = "rewritten"
    with pytest.raises(ValidationError):
        change.save()
    with pytest.raises(ValidationError):
        change.delete()


@pytest.mark.django_db(transaction=True)
def test_pipelined_run_on_postgresql_writes_every_batch_once(require_postgres, branch):
    """Outside a transaction, PostgreSQL writes batches in a second thread while the next is read."""
    for dpd in range(0, 600, 20):
        _loan(dpd, branch=branch)
    result = loans_reclassify(as_of=AS_OF, batch_size=4)
    assert result.examined == 30 and result.changed == 30
    assert (
        ClassificationChange.objects.filter(scheme="five_level").count()
        == Loan.objects.exclude(five_level_class="normal").count()
    )
    assert loans_reclassify(as_of=AS_OF, batch_size=4).changed == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 3])
def test_pipelined_run_writes_batches_on_several_connections_at_once(require_postgres, branch, monkeypatch, threads):
    """A batch's write is most of a whole-book run: writers, each with its own connection, write
    batches at once (1,000,000 loans, every one changing: 62.7 s with one writer, 40.7 s with two).
    Two by default; NPL_RECLASSIFY_WRITERS sets how many."""
    import threading
    import time

    import loans.services.classification as services

    for dpd in range(0, 600, 20):
        _loan(dpd, branch=branch)
    writers: set[tuple[str, int]] = set()
    real = services._apply_changes

    def apply(*args, **kwargs):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            writers.add((threading.current_thread().name, cursor.fetchone()[0]))
        time.sleep(0.05)  # each batch takes a while, as a real one does
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_apply_changes", apply)
    if threads != 2:
        monkeypatch.setattr(settings, "NPL_RECLASSIFY_WRITERS", threads)
    result = loans_reclassify(as_of=AS_OF, batch_size=3)
    assert result.examined == 30 and result.changed == 30
    assert len(writers) == settings.NPL_RECLASSIFY_WRITERS == threads
    assert len({pid for _, pid in writers}) == threads  # as many connections
    assert ClassificationChange.objects.filter(scheme="five_level").count() == (
        Loan.objects.exclude(five_level_class="normal").count()
    )


@pytest.mark.django_db(transaction=True)
def test_pipelined_run_reports_a_write_error(require_postgres, branch, monkeypatch):
    import loans.services.classification as services

    for dpd in (100, 200, 300, 400, 500):
        _loan(dpd, branch=branch)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_apply_changes", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        loans_reclassify(as_of=AS_OF, batch_size=2)
    assert not ClassificationChange.objects.exists()


def test_statistics_are_refreshed_only_after_a_large_write(require_postgres):
    from npl_recovery.db import analyze_after_bulk_write

    assert analyze_after_bulk_write("loans_loan", rows=10) is False
    assert analyze_after_bulk_write("loans_loan", rows=50_000) is True
