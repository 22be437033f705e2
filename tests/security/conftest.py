"""A small bank with one object of every kind a URL names, and the personas who ask for it.

The fuzz test and the permission matrix both fill each URL's path arguments from `PATH_ARGS`;
a URL pattern missing there fails them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accountability.models import AccountabilityRecord, LoansByLoansFlag
from accountability.services import record_propose
from collections_app import services as case_services
from collections_app.models import CaseRequest, CollectionCase
from evidence.services import evidence_upload
from ledger.models import LedgerEntry
from legal import services as legal_services
from loans.models import ImportBatch, Loan
from notifications.models import Notification
from notifications.services import notification_send
from tests.accountability.conftest import open_npl_case
from tests.factories import GuaranteeFactory, LoanFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Bank:
    loan: Loan
    case: CollectionCase
    case_request: CaseRequest
    record: AccountabilityRecord
    flag: LoansByLoansFlag
    notification: Notification
    batch: ImportBatch
    personas: dict[str, Any]
    fall: Any = None
    proceeding: Any = None
    order: Any = None
    evidence: Any = None


@pytest.fixture
def bank(
    branch,
    other_branch,
    officer,
    officer2,
    manager,
    manager2,
    admin_user,
    auditor,
    outsider,
    outside_manager,
) -> Bank:
    """Riverside's objects (Hillside's staff are the outsiders)."""
    today = timezone.localdate()
    case = open_npl_case(branch=branch, officer=officer, opened_on=today - timedelta(days=30), loan_no="RIV-1")
    case_services.notice_serve(case=case, actor=officer, served_on=today, served_to="The borrower")
    case_request = case_services.case_request_create(
        case=case, target="legal", actor=officer, as_of=today, reason="Refuses to pay"
    )
    recovery = case_services.recovery_record(
        case=case, actor=officer, received_on=today, amount=Decimal("100.00"), as_of=today
    )
    # A backdated one (issue 11): its value date awaits a manager's approval.
    case_services.recovery_record(
        case=case, actor=officer, received_on=today - timedelta(days=20), amount=Decimal("10.00"), as_of=today
    )
    new_loan = LoanFactory(
        branch=branch,
        borrower=case.loan.borrower,
        loan_no="RIV-2",
        disbursed_on=today,
        maturity_on=today + timedelta(days=365),
    )
    flag = LoansByLoansFlag.objects.create(
        new_loan=new_loan,
        overdue_loan=case.loan,
        repayment=recovery,
        relation=LoansByLoansFlag.Relation.SAME_BORROWER,
        branch=branch,
        lending_officer=officer,
        repaid_on=today,
        repaid_amount=Decimal("100.00"),
        disbursed_on=today,
        new_loan_principal=new_loan.principal,
        found_on=today,
    )
    # Proposed by the deputy, so that the branch manager may decide it.
    record = record_propose(
        officer=officer, record_type="commendation", reason="Recovered early", actor=manager2, as_of=today, case=case
    )
    GuaranteeFactory(loan=case.loan)  # the case may move to pressure
    case_services.case_team_set(case=case, members=[officer, officer2], actor=manager, reason="Two officers")
    notification_send(
        recipient=officer, kind="test", key="bank-1", title="Look at the case", url=case.get_absolute_url()
    )
    batch = ImportBatch.objects.create(
        created_by=admin_user,
        source=ImportBatch.Source.PAGE,
        dry_run=True,
        as_of=today,
        file_name="book.csv",
        status=ImportBatch.Status.REJECTED,
    )
    fall = _reported_fall(case, today)
    proceeding = case_services.legal_proceeding_file(
        case=case, actor=officer, court="Riverside Court", case_number="R-1", filed_on=today - timedelta(days=5)
    )
    order = legal_services.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="seal",
        asset_kind="real_estate",
        description="Flat",
        ruling_on=today - timedelta(days=2),
    )
    evidence = evidence_upload(
        actor=officer, target=case, upload=ContentFile(b"%PDF-1.4\n%%EOF\n", name="receipt.pdf"), kind="receipt"
    )
    personas = {
        "anonymous": None,
        "officer": officer,
        "outsider": outsider,
        "manager": manager,
        "outside_manager": outside_manager,
        "admin": admin_user,
        "auditor": auditor,
    }
    return Bank(
        loan=case.loan,
        case=case,
        case_request=case_request,
        record=record,
        flag=flag,
        notification=Notification.objects.get(key="bank-1"),
        batch=batch,
        personas=personas,
        fall=fall,
        proceeding=proceeding,
        order=order,
        evidence=evidence,
    )


def _reported_fall(case: CollectionCase, today) -> Any:
    """A fall of the case's loan reported by the book, for its officer to classify."""
    from ledger.services import ledger_post
    from reconciliation.models import ReportedFall

    posted = {"loan": case.loan, "interest_on": Decimal("0"), "interest_off": Decimal("0"), "value_date": today}
    entry = ledger_post(
        kind="book_reported", principal=Decimal("-1000.00"), actor=None, as_of=today, case=case, **posted
    )
    # Raised back by a correction, so the loan's balance (and what the other URLs do with it) is as before.
    ledger_post(kind="book_correction", principal=Decimal("1000.00"), actor=None, as_of=today, **posted)
    return ReportedFall.objects.create(
        entry=entry, loan=case.loan, case=case, branch=case.branch, officer=case.officer,
        amount=Decimal("1000.00"), reported_on=today,
    )  # fmt: skip


def _export_job(bank: Bank) -> int:
    """A finished export job of Riverside's manager, with its file (made once per bank)."""
    from django.core.files.base import ContentFile

    from loans.models import ExportJob

    job = ExportJob.objects.filter(owner=bank.personas["manager"]).first()
    if job is None:
        job = ExportJob(
            owner=bank.personas["manager"], export="loans", fmt="csv", as_of=timezone.localdate(), status="done",
            rows_total=1, rows_written=1, file_name="loans.csv", finished_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=7),
        )  # fmt: skip
        job.file.save("loans.csv", ContentFile(b"loan_no\r\nRIV-1\r\n"), save=True)
    return job.pk


def _case_cost(bank: Bank) -> int:
    """A court fee the bank bore on the bank's case (made once per bank), to correct or reverse."""
    from collections_app.models import CaseCost

    cost = CaseCost.objects.filter(case=bank.case, reverses__isnull=True).order_by("pk").first()
    if cost is None:
        cost = CaseCost.objects.create(
            case=bank.case, kind="litigation", amount=Decimal("100.00"), incurred_on=bank.case.opened_on
        )
    return cost.pk


def _rise(bank: Bank) -> int:
    """A rise of the bank's NPL balance reported by an import (made once per bank), to acknowledge."""
    from ledger.services import ledger_post

    rise = LedgerEntry.objects.filter(loan=bank.loan, kind="book_correction", import_batch=bank.batch).first()
    if rise is None:
        today = timezone.localdate()
        posted = {"loan": bank.loan, "principal": Decimal("0"), "interest_on": Decimal("0"), "value_date": today}
        rise = ledger_post(
            kind="book_correction",
            interest_off=Decimal("10.00"),
            actor=None,
            as_of=today,
            import_batch=bank.batch,
            **posted,
        )
    return rise.pk


# The path arguments of every URL of the site (not the Django admin's: see admin_patterns).
PATH_ARGS: dict[str, Callable[[Bank], dict[str, Any]]] = {
    "home": lambda b: {},
    "dashboard": lambda b: {},
    "dashboards:export": lambda b: {"name": "measures"},
    "dashboards:targets": lambda b: {},
    "login": lambda b: {},
    "logout": lambda b: {},
    "language_set": lambda b: {},
    "loans:loan_list": lambda b: {},
    "loans:loan_detail": lambda b: {"pk": b.loan.pk},
    "loans:loan_classify_now": lambda b: {"pk": b.loan.pk},
    "loans:loan_classify_manual": lambda b: {"pk": b.loan.pk},
    "loans:import_start": lambda b: {},
    "loans:import_template": lambda b: {"fmt": "csv"},
    "loans:import_detail": lambda b: {"pk": b.batch.pk},
    "loans:import_progress": lambda b: {"pk": b.batch.pk},
    "loans:import_run_checked": lambda b: {"pk": b.batch.pk},
    "loans:export_index": lambda b: {},
    "loans:export": lambda b: {"name": "loans", "fmt": "csv"},
    "loans:export_job": lambda b: {"pk": _export_job(b)},
    "loans:export_job_progress": lambda b: {"pk": _export_job(b)},
    "loans:export_job_file": lambda b: {"pk": _export_job(b)},
    "collections_app:case_list": lambda b: {},
    "collections_app:request_list": lambda b: {},
    "collections_app:state_machine_svg": lambda b: {},
    "collections_app:case_open": lambda b: {"loan_id": b.loan.pk},
    "collections_app:case_detail": lambda b: {"pk": b.case.pk},
    "collections_app:case_move": lambda b: {"pk": b.case.pk},
    "collections_app:case_request": lambda b: {"pk": b.case.pk},
    "collections_app:request_decide": lambda b: {"request_id": b.case_request.pk},
    "collections_app:record_create": lambda b: {"pk": b.case.pk, "kind": "recovery"},
    "collections_app:record_form": lambda b: {"pk": b.case.pk, "kind": "recovery"},
    "collections_app:cost_correct": lambda b: {"pk": b.case.pk, "cost_pk": _case_cost(b)},
    "collections_app:cost_correct_form": lambda b: {"pk": b.case.pk, "cost_pk": _case_cost(b)},
    "ledger:entry_decide": lambda b: {"pk": LedgerEntry.objects.get(loan=b.loan, approval="awaiting").pk},
    "legal:proceeding_detail": lambda b: {"pk": b.proceeding.pk},
    "legal:proceeding_action": lambda b: {"pk": b.proceeding.pk, "action": "hearing"},
    "legal:order_action": lambda b: {"pk": b.order.pk, "action": "renew"},
    "legal:borrower_assets": lambda b: {"pk": b.loan.borrower_id},
    "accountability:mine": lambda b: {},
    "accountability:board": lambda b: {},
    "accountability:record_new": lambda b: {},
    "accountability:record_detail": lambda b: {"pk": b.record.pk},
    "accountability:record_decide": lambda b: {"pk": b.record.pk},
    "accountability:case_responsibility": lambda b: {"case_pk": b.case.pk},
    "accountability:case_cause": lambda b: {"case_pk": b.case.pk},
    "accountability:prevention": lambda b: {},
    "accountability:flag_review": lambda b: {"pk": b.flag.pk},
    "reconciliation:falls": lambda b: {},
    "reconciliation:classify": lambda b: {"pk": b.fall.pk},
    "reconciliation:rise_acknowledge": lambda b: {"entry_pk": _rise(b)},
    "notifications:list": lambda b: {},
    "notifications:bell": lambda b: {},
    "notifications:read_all": lambda b: {},
    "notifications:open": lambda b: {"pk": b.notification.pk},
    "notifications:read": lambda b: {"pk": b.notification.pk},
    "audit:trail": lambda b: {},
    "audit:history": lambda b: {"kind": "case", "pk": b.case.pk},
    "accounts:password_change": lambda b: {},
    "accounts:two_factor_setup": lambda b: {},
    "accounts:two_factor_verify": lambda b: {},
    "evidence:download": lambda b: {"pk": b.evidence.pk},
    "evidence:upload": lambda b: {"target": "collections_app.collectioncase", "target_id": b.case.pk},
    "evidence:document_generate": lambda b: {"case_pk": b.case.pk},
    "evidence:templates": lambda b: {},
    "evidence:template_download": lambda b: {"kind": "collection_notice"},
}


def url_names(*, admin: bool = False) -> list[str]:
    """Every named URL pattern of the URLconf ("namespace:name"); the admin's only when asked."""
    names: list[str] = []

    def walk(patterns, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern):
                if (namespace == "admin") != admin:
                    continue
                if p.name is None:
                    # The admin's own "<object_id>/" redirect to the change page has no name.
                    if admin:
                        continue
                    raise AssertionError(f"A URL pattern without a name: {p.pattern}")
                names.append(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, None)
    return sorted(set(names))


def today() -> date:
    return timezone.localdate()
