"""Two people at once, on PostgreSQL: one wins, the other is told plainly that the case changed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from audit.models import AuditEvent
from collections_app import services
from collections_app.models import CollectionCase, MeasureChange
from loans.models import Borrower, User
from tests.cases.helpers import satisfy
from tests.factories import LoanFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(jobs):
    """Run each job in its own thread (own connection); all start together. Returns their outcomes."""
    barrier = threading.Barrier(len(jobs))
    outcomes: dict[str, str] = {}

    def run(name, job):
        try:
            barrier.wait(timeout=10)
            job()
            outcomes[name] = "done"
        except services.CaseChanged as exc:
            outcomes[name] = str(exc)
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            outcomes[name] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


@pytest.fixture
def racing_case(require_postgres, case, officer, today):
    satisfy(case, "pressure", actor=officer, today=today)
    Borrower.objects.filter(pk=case.loan.borrower_id).update(kind=Borrower.Kind.ENTERPRISE)
    return case


@pytest.mark.parametrize("from_the_page", [True, False], ids=["seen-measure", "state-check-on-save"])
def test_two_people_move_the_same_case_at_once(racing_case, officer, manager, today, from_the_page):
    # Both read the case in responsibility before either moves it.
    officers_copy = CollectionCase.objects.get(pk=racing_case.pk)
    managers_copy = CollectionCase.objects.get(pk=racing_case.pk)
    seen = "responsibility" if from_the_page else None
    outcomes = _race(
        {
            "officer": lambda: services.case_move(
                case=officers_copy, target="pressure", actor=officer, as_of=today, seen_measure=seen
            ),
            "manager": lambda: services.case_move(
                case=managers_copy,
                target="collaborative",
                actor=User.objects.get(pk=manager.pk),
                as_of=today,
                seen_measure=seen,
            ),
        }
    )
    assert sorted(outcomes) == ["manager", "officer"]
    winners = [name for name, outcome in outcomes.items() if outcome == "done"]
    losers = [outcome for outcome in outcomes.values() if outcome != "done"]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and losers[0].startswith("Someone changed this case while you were working on it."), losers
    final = CollectionCase.objects.get(pk=racing_case.pk)
    assert final.measure == {"officer": "pressure", "manager": "collaborative"}[winners[0]]
    assert MeasureChange.objects.filter(case=racing_case).count() == 1
    assert AuditEvent.objects.filter(event_type="case.moved", subject_id=racing_case.pk).count() == 1


def test_two_openers_at_once_open_each_case_once(require_postgres, branch, officer, today):
    loans = [
        LoanFactory(
            branch=branch,
            responsible_officer=officer,
            overdue_since=today - timedelta(days=200),
            five_level_class="doubtful",
        )
        for _ in range(40)
    ]
    opened: list[int] = []
    lock = threading.Lock()

    def open_all():
        n = services.cases_open_for_non_performing(as_of=today)
        with lock:
            opened.append(n)

    outcomes = _race({"worker-1": open_all, "worker-2": open_all})
    assert set(outcomes.values()) == {"done"}, outcomes
    assert sum(opened) == len(loans)
    assert CollectionCase.objects.filter(is_open=True).count() == len(loans)
    # Each run that opened cases says how many in its one system audit event: together, every case once.
    runs = AuditEvent.objects.filter(event_type="system.cases_opened")
    assert sum(e.new_values["opened"] for e in runs) == len(loans)


def test_a_recovery_and_a_move_at_once_both_land_in_order(racing_case, officer, manager, today):
    from decimal import Decimal

    copy = CollectionCase.objects.get(pk=racing_case.pk)
    outcomes = _race(
        {
            "recovery": lambda: services.recovery_record(
                case=CollectionCase.objects.get(pk=racing_case.pk),
                actor=officer,
                received_on=today,
                amount=Decimal("100.00"),
                as_of=today,
            ),
            "move": lambda: services.case_move(case=copy, target="pressure", actor=officer, as_of=today),
        }
    )
    assert set(outcomes.values()) == {"done"}, outcomes
    final = CollectionCase.objects.select_related("loan").get(pk=racing_case.pk)
    assert final.measure == "pressure" and final.loan.total_owed == Decimal("81400.00")


def test_case_openers_take_turns_so_each_runs_ids_are_its_own(require_postgres, make_npl, today):
    """A run of the opener is named in the audit trail by the first and last id of the cases it opened.
    The reclassification's writers open the cases of two batches at once: without turns, one run's
    ids would fall inside the other's range, and a case's history would show both runs."""
    import time

    import psycopg
    from django.db import connections

    from collections_app.models import CaseOpeningRun

    loan = make_npl()
    settings = connections["default"].get_connection_params()
    settings.pop("cursor_factory", None)
    settings.pop("context", None)
    settings.pop("prepare_threshold", None)
    with psycopg.connect(**settings, autocommit=False) as other:
        other.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["npl-case-opener"])
        opened: list[int] = []

        def run():
            try:
                opened.append(services.cases_open_for_non_performing(as_of=today, loan_ids=[loan.pk]))
            finally:
                connection.close()

        opener = threading.Thread(target=run)
        opener.start()
        time.sleep(0.5)
        assert opener.is_alive(), "the opener waits while another run holds the turn"
        other.rollback()  # the other run ends
        opener.join(timeout=10)
    assert opened == [1]
    run = CaseOpeningRun.objects.get()
    assert run.first_case_id == run.last_case_id == CollectionCase.objects.get(loan=loan).pk
