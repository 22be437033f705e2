"""`manage.py import_loans PATH [--dry-run]`: exit status, errors on stderr, the counts last."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from loans.models import ImportBatch, Loan
from tests.conftest import ROOT, database_url_for_subprocess
from tests.imports.conftest import book_state, csv_bytes, loan_row, three_loans

pytestmark = pytest.mark.django_db


def test_the_last_line_counts_created_updated_unchanged(bank, tmp_path, capsys):
    path = tmp_path / "book.csv"
    path.write_bytes(csv_bytes(three_loans()))
    call_command("import_loans", str(path), "--as-of", "2026-06-30")
    assert capsys.readouterr().out.strip().splitlines()[-1] == "created 3, updated 0, unchanged 0"
    call_command("import_loans", str(path), "--as-of", "2026-06-30")
    assert capsys.readouterr().out.strip().splitlines()[-1] == "created 0, updated 0, unchanged 3"


def test_a_dry_run_counts_and_writes_nothing(bank, tmp_path, capsys):
    path = tmp_path / "book.csv"
    path.write_bytes(csv_bytes(three_loans()))
    call_command("import_loans", str(path), "--dry-run", "--as-of", "2026-06-30")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "created 3, updated 0, unchanged 0"
    assert "dry run, nothing written" in lines[-2]
    assert not Loan.objects.exists()
    assert ImportBatch.objects.get().source == "command"


def test_errors_go_to_stderr_and_the_command_fails(bank, tmp_path, capsys):
    path = tmp_path / "book.csv"
    path.write_bytes(csv_bytes([loan_row(branch_code="B99"), loan_row(loan_no="L-2", principal="x")]))
    before = book_state()
    with pytest.raises(CommandError, match="2 problems; nothing was written"):
        call_command("import_loans", str(path), "--as-of", "2026-06-30")
    err = capsys.readouterr().err
    assert "row 2, column branch_code: unknown branch code “B99”" in err
    assert "row 3, column principal: “x” is not an amount" in err
    assert book_state() == before


def test_a_missing_file_is_an_error(bank):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_loans", "/nonexistent/book.csv")


@pytest.mark.django_db(transaction=True)
def test_the_exit_status_is_zero_on_success_and_non_zero_on_errors(bank, tmp_path):
    def run(*args):
        env = {"DATABASE_URL": database_url_for_subprocess(), "DATABASE_POOL": "0"}
        import os

        return subprocess.run(
            [sys.executable, "manage.py", "import_loans", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_bytes(three_loans()))
    bad.write_bytes(csv_bytes([loan_row(officer_username="nobody")]))
    ok = run(str(good), "--as-of", "2026-06-30")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == "created 3, updated 0, unchanged 0"
    failed = run(str(bad), "--as-of", "2026-06-30")
    assert failed.returncode == 1
    assert "row 2, column officer_username: unknown user “nobody”" in failed.stderr
