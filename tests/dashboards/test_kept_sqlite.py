"""The SQLite row triggers (the demo's embedded database) keep the cells equal to their definition:
a temporary SQLite database is migrated in a subprocess, changed through the services and plain
bulk updates, then `manage.py dashboard_figures --check` compares (this test runs in CI's
PostgreSQL suite too: the subprocess has its own DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHANGES = """
from datetime import date, timedelta
from decimal import Decimal
from collections_app import services as cases
from collections_app.models import CaseCost, CollectionCase, CostRepayment
from collections_app.services.costs import costs_repay_first
from ledger.models import LedgerEntry
from ledger.services import ledger_entry_decide
from loans.models import Borrower, Branch, Loan, Role
from loans.services import loans_reclassify
from tests.factories import BorrowerFactory, BranchFactory, LoanFactory, UserFactory

day = date(2026, 3, 2)
ho = BranchFactory(code="HO", kind=Branch.Kind.HEAD_OFFICE, parent=None)
b1, b2 = BranchFactory(code="B1", parent=ho), BranchFactory(code="B2", parent=ho)
officer = UserFactory(username="o1", role=Role.OFFICER, branch=b1)
other = UserFactory(username="o2", role=Role.OFFICER, branch=b2)
manager = UserFactory(username="m1", role=Role.MANAGER, branch=ho)
approver = UserFactory(username="m2", role=Role.MANAGER, branch=ho)
loans = [
    LoanFactory(branch=b1, responsible_officer=officer, overdue_since=day - timedelta(days=d))
    for d in (0, 120, 400)
]
Loan.objects.filter(pk=loans[0].pk).update(overdue_since=None)
loans_reclassify(as_of=day)
cases.cases_open_for_non_performing(as_of=day, loan_ids=[loan.pk for loan in loans])
case = CollectionCase.objects.order_by("pk").first()
later, back = day + timedelta(days=40), day + timedelta(days=10)
cases.recovery_record(case=case, actor=manager, received_on=later, amount=Decimal("250.10"), as_of=later)
cases.recovery_record(case=case, actor=manager, received_on=back, amount=Decimal("33.33"), as_of=later)
awaiting = LedgerEntry.objects.get(approval="awaiting")
ledger_entry_decide(entry=awaiting, actor=approver, approve=False, as_of=later, reason="No receipt")
cases.cost_record(case=case, actor=manager, kind="litigation", amount=Decimal("80.05"), incurred_on=later)
costs_repay_first(case=case, actor=manager, amount=Decimal("20"), received_on=later)
Loan.objects.filter(pk=case.loan_id).update(branch=b2, responsible_officer=other, written_off_on=back)
Borrower.objects.filter(pk=case.loan.borrower_id).update(kind="enterprise")
CollectionCase.objects.filter(pk=case.pk).update(measure="legal")
Loan.objects.update(product="Mortgage")
Loan.objects.update(updated_at=Loan.objects.first().updated_at)  # nothing a figure reads
print("changed", Loan.objects.count(), CollectionCase.objects.count(), LedgerEntry.objects.count())
"""

# Compaction keeps them equal; a tampered cell is found; a rebuild repairs it.
AFTERWARDS = """
from django.core.management import CommandError, call_command
from dashboards.maintain import differences
from dashboards.models import BookCell

call_command("dashboard_figures", "--compact")
call_command("dashboard_figures", "--check")
cell = BookCell.objects.first()
BookCell.objects.create(branch_id=cell.branch_id, officer_id=cell.officer_id, product=cell.product,
    borrower_kind=cell.borrower_kind, five_level_class=cell.five_level_class,
    four_level_class=cell.four_level_class, loans=1)
try:
    call_command("dashboard_figures", "--check")
except CommandError as error:
    print("found:", error)
call_command("dashboard_figures", "--rebuild")
print("after rebuild:", len(differences().differences))
"""


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


def test_the_sqlite_triggers_keep_the_cells(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kept.sqlite3'}",
        "DEBUG": "1",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_SETTINGS_MODULE": "npl_recovery.settings",
    }
    env.pop("DATABASE_POOL", None)
    done = manage("migrate", "--noinput", "-v0", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    done = manage("shell", "-c", CHANGES, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "changed 3 " in done.stdout
    done = manage("dashboard_figures", "--check", env=env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "ledgercell: " in done.stdout and "The kept figures equal their definition." in done.stdout
    assert "costcell: 2 cells, 0 differ" in done.stdout
    done = manage("shell", "-c", AFTERWARDS, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "bookcell: " in out and " rows folded into " in out  # the compaction
    assert out.count("The kept figures equal their definition.") == 1  # after it; not after the tampering
    assert "found: 2 kept cell(s) differ" in out  # the ghost cell and its branch roll-up
    assert "after rebuild: 0" in out
