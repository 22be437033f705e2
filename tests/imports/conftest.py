"""Helpers for the import tests: loan-book files in memory, the bank they refer to, snapshots."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from audit.models import AuditEvent
from loans.importing.columns import COLLATERAL_COLUMNS, GUARANTEE_COLUMNS, LOAN_COLUMNS
from loans.importing.services import ImportFiles, loan_book_import
from loans.models import (
    Borrower,
    ClassificationChange,
    Collateral,
    Guarantee,
    Guarantor,
    ImportBatch,
    Loan,
    Role,
)
from tests.factories import UserFactory

AS_OF = date(2026, 6, 30)
LOAN_HEADER = [c.field for c in LOAN_COLUMNS]
LOAN_HEADER_ZH = [c.chinese for c in LOAN_COLUMNS]
GUARANTEE_HEADER = [c.field for c in GUARANTEE_COLUMNS]
COLLATERAL_HEADER = [c.field for c in COLLATERAL_COLUMNS]


def loan_row(**values: Any) -> dict[str, Any]:
    row = {
        "loan_no": "L-0001",
        "borrower_name": "Zhang Wei",
        "borrower_id_no": "110101199001011234",
        "borrower_kind": "individual",
        "branch_code": "B01",
        "officer_username": "officer",
        "product": "Working capital",
        "principal": "100,000.00",
        "outstanding_principal": "80000",
        "interest_on_balance": "1000",
        "interest_off_balance": "500",
        "disbursed_on": "2024-01-15",
        "maturity_on": "2027-01-15",
        "overdue_since": "",
        "business_ceased": "no",
        "government_directed": "no",
    }
    row.update(values)
    return row


def three_loans() -> list[dict[str, Any]]:
    """A normal loan, a loss loan (DPD > 360) and an enterprise's special-mention loan."""
    return [
        loan_row(),
        loan_row(
            loan_no="L-0002",
            borrower_name="Li Na",
            borrower_id_no="220101198505052345",
            principal="500000",
            outstanding_principal="450,000.50",
            overdue_since="2025/01/20",
        ),
        loan_row(
            loan_no="L-0003",
            borrower_name="Riverside Textiles",
            borrower_id_no="91110000MA01",
            borrower_kind="企业",
            branch_code="O11",
            officer_username="outlet_officer",
            overdue_since="20260601",
            government_directed="是",
        ),
    ]


def csv_bytes(rows: list[Any], header: list[str] | None = LOAN_HEADER, *, chinese: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if header is not None:
        writer.writerow(header)
    if chinese:
        writer.writerow(LOAN_HEADER_ZH)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def named(content: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def run_import(
    content: bytes,
    *,
    name: str = "book.csv",
    dry_run: bool = False,
    actor=None,
    as_of: date = AS_OF,
    guarantees: bytes | None = None,
    collateral: bytes | None = None,
):
    files = ImportFiles(
        loans=named(content, name),
        guarantees=named(guarantees, "guarantees.csv") if guarantees is not None else None,
        collateral=named(collateral, "collateral.csv") if collateral is not None else None,
    )
    return loan_book_import(files=files, actor=actor, dry_run=dry_run, as_of=as_of)


def row_outcomes(batch, sheet: str = "loans") -> list[tuple[int, str, str]]:
    """(row number, key, outcome) of every row of one sheet of a batch, runs of unchanged rows taken apart."""
    from loans.importing.outcomes import BatchRows

    return BatchRows(batch, sheet).each_row()


def all_row_outcomes(batches) -> list[tuple[int, str, int, str, str]]:
    """(batch id, sheet, row number, key, outcome) of every row of these batches."""
    return [
        (batch.pk, sheet, row_no, key, outcome)
        for batch in batches
        for sheet in ("loans", "guarantees", "collateral")
        for row_no, key, outcome in row_outcomes(batch, sheet)
    ]


def book_state() -> dict[str, Any]:
    """Everything an import may write to, for "the database is unchanged" checks."""
    loan_fields = [f.attname for f in Loan._meta.concrete_fields if f.attname not in ("created_at", "updated_at")]
    return {
        "loans": list(Loan.objects.order_by("loan_no").values_list(*loan_fields)),
        "borrowers": list(Borrower.objects.order_by("id_no").values_list("id_no", "name", "kind")),
        "guarantors": list(Guarantor.objects.order_by("id_no").values_list("id_no", "name", "kind")),
        "guarantees": list(Guarantee.objects.order_by("id").values_list("guarantor_id", "loan_id", "amount")),
        "collateral": list(Collateral.objects.order_by("id").values_list("loan_id", "kind", "appraised_value")),
        "history": ClassificationChange.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def bank(branch, outlet, other_branch, officer, outlet_officer, admin_user):
    """The branches and staff the files refer to (B01, O11, B02; officer, outlet_officer)."""
    UserFactory(username="retired", role=Role.OFFICER, branch=branch, is_active=False)
    return {"branch": branch, "outlet": outlet, "other_branch": other_branch}


@pytest.fixture
def batches():
    return ImportBatch.objects


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The personas get a real password; a fast hasher keeps the many small tests here quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_celery():
    """Tasks run in the calling thread (for tests that are not about the worker)."""
    from npl_recovery.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def admin_import(client, content: bytes, name: str, *, confirm: bool = True):
    """Through the Django admin: upload (dry run), then confirm. Returns the two responses."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    fmt = "1" if name.endswith(".xlsx") else "0"
    upload = SimpleUploadedFile(name, content)
    dry = client.post("/admin/loans/loan/import/", {"import_file": upload, "format": fmt, "resource": "0"})
    if not confirm or "confirm_form" not in (dry.context or {}):
        return dry, None
    initial = dry.context["confirm_form"].initial
    done = client.post("/admin/loans/loan/process_import/", {**initial, "resource": initial.get("resource") or "0"})
    return dry, done


def page_import(client, content: bytes, name: str, *, dry_run: bool = False, as_of: date = AS_OF, **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"loans_file": SimpleUploadedFile(name, content), "as_of": as_of.isoformat()}
    if dry_run:
        data["dry_run"] = "on"
    for key, value in extra.items():
        data[key] = SimpleUploadedFile(f"{key}.csv", value)
    return client.post("/loans/import/", data)
