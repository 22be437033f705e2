"""The PostgreSQL stage and the portable stage write the same book from the same files.

On PostgreSQL an import stages its rows with COPY and merges them with single upserts
(PostgresStage); SQLite takes the portable path (PortableStage). Both run on PostgreSQL, so the
same story is imported twice, once through each, and the books they leave are compared.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection, transaction

import loans.importing.services as import_services
from audit.models import AuditEvent
from collections_app.models import CollectionCase
from loans.importing.staging import PortableStage, PostgresStage, Stage
from loans.models import (
    Borrower,
    ClassificationChange,
    Collateral,
    Guarantee,
    Guarantor,
    ImportBatch,
    Loan,
)
from tests.imports.conftest import (
    COLLATERAL_HEADER,
    GUARANTEE_HEADER,
    all_row_outcomes,
    csv_bytes,
    loan_row,
    run_import,
    three_loans,
)

pytestmark = pytest.mark.django_db

JULY = date(2026, 7, 31)


def _june() -> dict[str, bytes]:
    loans = three_loans() + [
        loan_row(loan_no="L-0004", borrower_name="Wang Fang", borrower_id_no="330101197003033456",
                 overdue_since="2026-02-01", outstanding_principal="60000"),
        loan_row(loan_no="L-0005", borrower_name="Zhang Wei", borrower_id_no="110101199001011234",
                 overdue_since="2024-05-01", business_ceased="yes"),
    ]  # fmt: skip
    guarantees = [
        ["L-0002", "Chen Jie", "440101198008084567", "individual", "200000", "2024-01-15"],
        ["L-0002", "Li Na", "220101198505052345", "individual", "50000", ""],  # a borrower who guarantees
        ["L-0004", "Hillside Co-op", "91440000MA02", "enterprise", "60000", "2024-03-01"],
    ]
    collateral = [
        ["L-0002", "real_estate", "Flat 3-2-101, Riverside Road", "600000", "2024-01-10", "free"],
        ["L-0004", "equipment", "Two looms", "80000", "", "frozen"],
    ]
    return {
        "loans": csv_bytes(loans),
        "guarantees": csv_bytes(guarantees, GUARANTEE_HEADER),
        "collateral": csv_bytes(collateral, COLLATERAL_HEADER),
    }


def _july() -> dict[str, bytes]:
    """The monthly refresh: balances move, arrears are cleared, a borrower is renamed, a loan turns
    bad, a new loan arrives; guarantees and collateral change, one row of each stays the same."""
    loans = three_loans()
    loans[0].update(overdue_since="2026-03-15")  # normal -> substandard (DPD 138)
    loans[1].update(outstanding_principal="400000", overdue_since="")  # loss, arrears cleared: held
    loans[2].update(borrower_name="Riverside Textiles Ltd")  # renamed; its loan is unchanged
    loans += [
        loan_row(loan_no="L-0004", borrower_name="Wang Fang", borrower_id_no="330101197003033456",
                 overdue_since="2026-02-01", outstanding_principal="60000"),  # unchanged
        loan_row(loan_no="L-0006", borrower_name="Zhou Min", borrower_id_no="510101196612125678",
                 overdue_since="2025-06-01", principal="30000", outstanding_principal="30000"),  # new, doubtful
    ]  # fmt: skip
    guarantees = [
        ["L-0002", "Chen Jie", "440101198008084567", "individual", "150000", "2024-01-15"],  # amount down
        ["L-0004", "Hillside Co-op", "91440000MA02", "enterprise", "60000", "2024-03-01"],  # the same
        ["L-0006", "Chen Jie", "440101198008084567", "individual", "30000", "2025-01-01"],  # new
    ]
    collateral = [
        ["L-0002", "real_estate", "Flat 3-2-101, Riverside Road", "550000", "2026-07-01", "sealed"],
        ["L-0004", "equipment", "Two looms", "80000", "", "frozen"],
        ["L-0006", "vehicle", "Truck 粤B-12345", "120000", "2025-01-02", "free"],
    ]
    return {
        "loans": csv_bytes(loans),
        "guarantees": csv_bytes(guarantees, GUARANTEE_HEADER),
        "collateral": csv_bytes(collateral, COLLATERAL_HEADER),
    }


def _book() -> dict[str, Any]:
    """The book by natural keys (loan number, ID number, branch code, username): ids differ between runs."""
    loan_fields = [
        f.attname if not f.is_relation else f.name
        for f in Loan._meta.concrete_fields
        if f.attname not in ("id", "created_at", "updated_at")
    ]
    keys = {"borrower": "borrower__id_no", "branch": "branch__code"}
    loan_values = [keys.get(f, f"{f}__username" if f.endswith("officer") else f) for f in loan_fields]
    batches = list(ImportBatch.objects.order_by("id"))
    batch_no = {b.pk: n for n, b in enumerate(batches)}
    loan_no = dict(Loan.objects.values_list("id", "loan_no"))
    return {
        "loans": list(Loan.objects.order_by("loan_no").values_list(*loan_values)),
        "borrowers": list(
            Borrower.objects.order_by("id_no").values_list("id_no", "name", "kind", "group_code", "phone", "address")
        ),
        "guarantors": list(
            Guarantor.objects.order_by("id_no").values_list("id_no", "name", "kind", "phone", "borrower__id_no")
        ),
        "guarantees": list(
            Guarantee.objects.order_by("loan__loan_no", "guarantor__id_no").values_list(
                "loan__loan_no", "guarantor__id_no", "amount", "signed_on"
            )
        ),
        "collateral": list(
            Collateral.objects.order_by("loan__loan_no", "description").values_list(
                "loan__loan_no", "kind", "description", "appraised_value", "appraised_on", "lien_status"
            )
        ),
        "history": sorted(
            ClassificationChange.objects.values_list(
                "loan__loan_no",
                "scheme",
                "from_class",
                "to_class",
                "source",
                "rule",
                "reason",
                "actor__username",
                "as_of",
            )
        ),  # fmt: skip
        "batches": [
            (
                b.status,
                b.dry_run,
                b.created,
                b.updated,
                b.unchanged,
                b.rows_read,
                b.rows_to_write,
                b.rows_written,
                b.error_count,
                {k: v for k, v in b.counts.items() if k != "seconds"},
            )
            for b in batches
        ],  # fmt: skip
        "rows": sorted((batch_no[b], sheet, row, key, o) for b, sheet, row, key, o in all_row_outcomes(batches)),
        "cases": sorted(
            CollectionCase.objects.values_list(
                "loan__loan_no",
                "is_open",
                "measure",
                "opened_on",
                "officer__username",
                "recovery_deadline",
                "opening_reason",
            )
        ),
        "audit": sorted(_audit_row(e, batch_no, loan_no) for e in AuditEvent.objects.all()),
    }


def _audit_row(event: AuditEvent, batch_no: dict[int, int], loan_no: dict[int, str]) -> tuple:
    if event.subject_type == "loans.importbatch":
        subject = batch_no[event.subject_id]
    elif event.subject_type == "loans.loan":
        subject = loan_no[event.subject_id]
    elif event.subject_type == "collections_app.collectioncase":
        subject = CollectionCase.objects.get(pk=event.subject_id).loan.loan_no
    else:
        # A run of a rule, its subject the run's own record and its values ids of the rows it wrote.
        return (event.event_type, event.subject_type)
    return (
        event.event_type,
        event.subject_type,
        subject,
        event.actor_id is not None,
        repr(_by_natural_keys(event.old_values, loan_no)),
        repr(_by_natural_keys(event.new_values, loan_no)),
        event.reason,
    )


def _by_natural_keys(values: Any, loan_no: dict[int, str]) -> Any:
    """Audit values with loans named by their numbers and other row ids left out (the two runs
    number their rows differently)."""
    if isinstance(values, dict):
        return {
            k: loan_no[v] if k == "loan" else _by_natural_keys(v, loan_no)
            for k, v in values.items()
            if not (k == "id" or k.endswith(("_id", "_ids")))
        }
    if isinstance(values, list):
        return [_by_natural_keys(v, loan_no) for v in values]
    return values


def _story(monkeypatch, stage: type[Stage], admin_user, capture) -> dict[str, Any]:
    """June's book, July's dry run and July's refresh through one stage; the book they leave.
    Rolled back afterwards, so the other stage starts from the same empty book."""
    monkeypatch.setattr(import_services, "stage_for", lambda connection=None: stage(connection))
    saved = transaction.savepoint()
    try:
        for files, as_of, dry_run in (
            (_june(), date(2026, 6, 30), False),
            (_july(), JULY, True),
            (_july(), JULY, False),
        ):
            with capture(execute=True):  # the cases of new non-performing loans open on commit
                outcome = run_import(files["loans"], guarantees=files["guarantees"], collateral=files["collateral"],
                                     actor=admin_user, as_of=as_of, dry_run=dry_run)  # fmt: skip
            assert outcome.ok, outcome.errors
        return _book()
    finally:
        transaction.savepoint_rollback(saved)


def test_postgresql_and_portable_stages_write_the_same_book(
    require_postgres, bank, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    postgres = _story(monkeypatch, PostgresStage, admin_user, django_capture_on_commit_callbacks)
    assert Loan.objects.count() == 0  # rolled back
    portable = _story(monkeypatch, PortableStage, admin_user, django_capture_on_commit_callbacks)

    # The story did what it says, so the comparison below compares something.
    assert [b[:5] for b in postgres["batches"]] == [
        ("imported", False, 5, 0, 0),
        ("checked", True, 1, 2, 2),
        ("imported", False, 1, 2, 2),
    ]
    assert {c[0] for c in postgres["cases"]} == {"L-0001", "L-0002", "L-0004", "L-0005", "L-0006"}
    assert len(postgres["guarantees"]) == 4 and len(postgres["collateral"]) == 3
    assert any(e[0] == "loans.imported" for e in postgres["audit"])
    for part in postgres:
        assert portable[part] == postgres[part], part


def test_an_import_uses_the_stage_of_its_database():
    expected = PostgresStage if connection.vendor == "postgresql" else PortableStage
    assert type(import_services.stage_for()) is expected
