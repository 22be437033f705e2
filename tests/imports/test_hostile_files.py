"""Security review, findings 1, 2 and 10: files built to hurt the importer are refused quickly,
with a message, in bounded memory; and a file that is merely wrong says where it is wrong."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest

from loans.importing.limits import FileLimits, FileRefused, check_workbook
from loans.models import ImportBatch
from tests.conftest import ROOT, database_url_for_subprocess
from tests.imports import hostile
from tests.imports.conftest import (
    LOAN_HEADER,
    admin_import,
    csv_bytes,
    loan_row,
    page_import,
    run_import,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


def _book(n: int, **overrides) -> list[dict]:
    return [loan_row(loan_no=f"U-{i:05d}", borrower_id_no=f"UID-{i:05d}", **overrides) for i in range(n)]


@pytest.mark.parametrize("bad_row", [2, 40, 3000])
def test_invalid_utf8_names_the_row_it_is_in(bank, bad_row):
    lines = csv_bytes(_book(5000, borrower_name="张伟")).split(b"\r\n")
    lines[bad_row - 1] = lines[bad_row - 1].replace("张伟".encode(), b"\xe5\xbc\xa0\xff", 1)
    outcome = run_import(b"\r\n".join(lines))
    assert not outcome.ok
    assert outcome.errors == [f"row {bad_row}: the text is not valid UTF-8"]


def test_invalid_utf8_after_a_cell_spanning_lines_names_its_record(bank):
    rows = _book(3000)
    rows[100]["product"] = "line one\nline two\nline three"  # row 102 takes three lines of the file
    records = csv_bytes(rows).split(b"\r\n")  # the csv module ends records with CRLF, lines in a cell with LF
    records[2002] = records[2002].replace(b"Zhang", b"Zh\xffng", 1)  # row 2003, on line 2005 of the file
    outcome = run_import(b"\r\n".join(records))
    assert outcome.errors == ["row 2003: the text is not valid UTF-8"]


# --- finding 1: workbooks that would make calamine allocate without bound --------------------------


def import_in_own_process(tmp_path, content: bytes, name: str = "hostile.xlsx") -> dict:
    """Dry-run import of `content` in a fresh Python process (its own peak memory), under a 3 GB
    address-space ceiling so that a file that does get through fails fast instead of eating the
    machine's memory.

    The peak is the child's VmHWM, the high-water mark of its own memory since its exec: Linux
    carries ru_maxrss across exec, so a child forked from a pytest process that has grown to 300 MB
    over the suite would report at least that much whatever the import did."""
    path = tmp_path / name
    path.write_bytes(content)
    script = (
        "import django, json, resource, sys, time\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "django.setup()\n"
        "from loans.importing.services import ImportFiles, loan_book_import\n"
        "started = time.perf_counter()\n"
        "outcome = loan_book_import(files=ImportFiles(loans=sys.argv[1]), actor=None, dry_run=True)\n"
        "hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM:')]\n"
        "print(json.dumps({'status': outcome.batch.status, 'errors': outcome.errors,\n"
        "    'seconds': time.perf_counter() - started,\n"
        "    'peak_mb': int(hwm[0].split()[1]) / 1024}))\n"
    )
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "DATABASE_POOL": "0"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"the import process died ({done.returncode}):\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


HOSTILE = {
    "sparse sheet (A1 and XFD1048576, dimension declared)": (hostile.sparse_sheet, "A1:XFD1048576"),
    "sparse sheet without a dimension": (hostile.sparse_sheet_without_dimension, "a cell at XFD1048576"),
    "shared strings declaring four billion texts": (hostile.huge_shared_string_table, "4,000,000,000"),
    "cells in a namespace prefix": (hostile.far_cell_with_a_prefix, "a cell at ZZ900000"),
    "zip bomb": (hostile.zip_bomb, "zip bomb"),
    "zip bomb whose directory lies": (hostile.lying_zip_bomb, "zip bomb"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("what", HOSTILE)
def test_a_hostile_workbook_is_refused_in_under_2_seconds_and_300_mb(what, tmp_path):
    build, says = HOSTILE[what]
    content = build()
    result = import_in_own_process(tmp_path, content)
    assert result["status"] == "rejected"
    assert len(result["errors"]) == 1 and says in result["errors"][0], result["errors"]
    assert result["seconds"] < 2
    assert result["peak_mb"] < 300


@pytest.mark.django_db(transaction=True)
def test_the_peak_is_the_import_processs_own_not_the_test_runners(tmp_path):
    """CI found every hostile file at 304 MB: the child's ru_maxrss had inherited the size of the
    pytest process it was forked from. With a 400 MB test runner the import's peak stays its own."""
    ballast = b"\x01" * (400 << 20)
    result = import_in_own_process(tmp_path, hostile.zip_bomb())
    assert len(ballast) == 400 << 20
    assert result["status"] == "rejected"
    assert result["peak_mb"] < 300


def test_the_review_files_are_small():
    assert len(hostile.sparse_sheet()) < 2000
    assert len(hostile.zip_bomb()) < 1024 * 1024


def test_the_refusal_says_what_is_out_of_bounds_and_the_limits(bank):
    outcome = run_import(hostile.sparse_sheet(), name="sparse.xlsx")
    assert outcome.errors == [
        "a sheet of the workbook declares the range A1:XFD1048576 (1,048,576 rows × 16,384 columns); at most "
        "200,000 rows and 32 columns (up to AF200000) are imported: delete the rows or columns beyond them, "
        "or save the sheet as CSV"
    ]
    assert ImportBatch.objects.get().status == "rejected"


def test_cells_without_references_are_placed_the_way_calamine_places_them():
    roomy = FileLimits(xlsx_max_ratio=100_000)  # the filler rows compress far beyond the usual ratio
    with pytest.raises(FileRefused, match="a cell at CV300002;"):
        check_workbook(io.BytesIO(hostile.far_cell_without_references()), limits=roomy)


def test_the_limits_are_settings(bank, settings):
    settings.NPL_IMPORT_XLSX_MAX_ROWS = 2
    settings.NPL_IMPORT_XLSX_MAX_COLUMNS = 16
    content = xlsx_bytes({"Loans": [LOAN_HEADER, list(loan_row().values()), list(loan_row(loan_no="L-2").values())]})
    outcome = run_import(content, name="book.xlsx")
    assert outcome.errors == [
        "a sheet of the workbook declares the range A1:P3 (3 rows × 16 columns); at most 2 rows and 16 columns "
        "(up to P2) are imported: delete the rows or columns beyond them, or save the sheet as CSV"
    ]
    settings.NPL_IMPORT_XLSX_MAX_ROWS = 3
    assert run_import(content, name="book.xlsx").ok


def test_a_workbook_within_the_limits_reads_as_before(bank):
    content = xlsx_bytes({"Loans": [LOAN_HEADER, *[list(r.values()) for r in _book(300)]]})
    outcome = run_import(content, name="book.xlsx")
    assert outcome.ok and outcome.created == 300


def test_legacy_xls_files_are_refused_with_what_to_do(bank):
    outcome = run_import(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, name="book.xls")
    assert outcome.errors == ["Excel 97-2003 (.xls) files are not imported: save the file as .xlsx or CSV"]


# --- finding 2: uploads over the size limit are refused before they are read -------------------------


def test_a_50_mb_csv_is_refused_by_the_import_page_before_it_is_read(bank, admin_user, client):
    client.force_login(admin_user)
    content = csv_bytes(_book(1)) + b"x" * (51 * 1024 * 1024)  # 51 MB: over the 50 MB default
    started = time.perf_counter()
    response = page_import(client, content, "big.csv")
    assert time.perf_counter() - started < 2
    assert response.status_code == 413
    assert "at most 50 MB may be uploaded" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_file_just_over_the_limit_gets_the_limit_in_the_form(bank, admin_user, client, settings):
    settings.NPL_UPLOAD_MAX_BYTES = 100 * 1024
    client.force_login(admin_user)
    content = csv_bytes(_book(1)) + b" " * 150_000
    response = page_import(client, content, "big.csv")
    assert response.status_code == 200
    assert response.context["form"].errors["loans_file"] == [
        f"“big.csv” is {len(content) / 1024:.0f} KB; files of at most 100 KB may be uploaded."
    ]
    assert not ImportBatch.objects.exists()
    assert page_import(client, csv_bytes(_book(1)), "small.csv").status_code == 302


def test_the_admin_import_refuses_a_file_over_the_limit(bank, admin_user, client, settings):
    settings.NPL_UPLOAD_MAX_BYTES = 100 * 1024
    client.force_login(admin_user)
    dry, _done = admin_import(client, csv_bytes(_book(1)) + b" " * 150_000, "big.csv", confirm=False)
    assert "files of at most 100 KB may be uploaded" in dry.content.decode()
    assert not ImportBatch.objects.exists()


def test_any_request_body_over_the_limit_is_refused_before_it_is_read(admin_user, client, settings):
    settings.NPL_UPLOAD_MAX_BYTES = 100 * 1024
    client.force_login(admin_user)
    response = client.post("/loans/import/", data=b"x" * 2_000_000, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "The upload is 1.9 MB; at most 100 KB may be uploaded." in response.content.decode()


def test_the_admin_import_refuses_the_sparse_sheet_with_the_message(bank, admin_user, client):
    client.force_login(admin_user)
    started = time.perf_counter()
    dry, _done = admin_import(client, hostile.sparse_sheet(), "sparse.xlsx", confirm=False)
    assert time.perf_counter() - started < 2
    assert "declares the range A1:XFD1048576" in dry.content.decode()
    assert ImportBatch.objects.get().status == "rejected"
