"""The demo's last part (issue 11): the book of the day lowers a few balances of the officer's
non-performing loans and raises one, through a real import, so `make run` shows the falls the
officer classifies ("To classify" on the work queue) and a rise to acknowledge. Idempotent: once."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from decimal import Decimal

from collections_app.models import CollectionCase
from loans.exporting import LOAN_IMPORT_VALUES
from loans.importing.columns import LOAN_COLUMNS
from loans.importing.services import ImportFiles, loan_book_import
from loans.models import ImportBatch, User

FILE_NAME = "demo-book-of-the-day.csv"
# The import column -> its source on the loan: as the loans export writes them (an export can be
# imported again).
_SOURCES = LOAN_IMPORT_VALUES


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _book_of_the_day(cases: list[CollectionCase]) -> bytes:
    """The rows of the cases' loans as the core system reports them today: the first paid part of its
    principal, the second its interest on the balance sheet, the third all of it; the fourth's interest
    off the balance sheet rose (penalty interest)."""
    header = [c.field for c in LOAN_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for n, case in enumerate(cases):
        loan = type(case.loan).objects.filter(pk=case.loan_id).values(*(_SOURCES[h] for h in header)).get()
        row = {h: loan[_SOURCES[h]] for h in header}
        principal = row["outstanding_principal"]
        if n == 0:
            row["outstanding_principal"] = (principal * Decimal("0.8")).quantize(Decimal("0.01"))
        elif n == 1:
            row["interest_on_balance"] = Decimal("0.00")
        elif n == 2:
            row["outstanding_principal"] = row["interest_on_balance"] = row["interest_off_balance"] = Decimal("0.00")
        else:
            row["interest_off_balance"] = row["interest_off_balance"] + Decimal("1250.00")
        writer.writerow([_cell(row[h]) for h in header])
    return out.getvalue().encode("utf-8")


def seed_demo(*, as_of: date) -> str:
    if ImportBatch.objects.filter(file_name=FILE_NAME).exists():
        return "Book of the day: already imported."
    admin = User.objects.filter(username="admin").first()
    officer = User.objects.filter(username="officer").first()
    if admin is None or officer is None:
        return "Book of the day: no demo staff."
    # The officer's open cases not used by the other demo stories (those take the last loan numbers),
    # on loans that still owe interest on the balance sheet (so each change is a fall).
    cases = list(
        CollectionCase.objects.filter(officer=officer, is_open=True, measure="responsibility")
        .filter(loan__interest_on_balance__gt=0, loan__outstanding_principal__gt=0, loan__written_off_on__isnull=True)
        .select_related("loan")
        .order_by("loan__loan_no")[:4]
    )
    if len(cases) < 4:
        return "Book of the day: not enough open cases."
    handle = io.BytesIO(_book_of_the_day(cases))
    handle.name = FILE_NAME
    # The importer logs each import for the operators; the demo prints its own summary line only.
    log = logging.getLogger("loans.importing.services")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        outcome = loan_book_import(files=ImportFiles(loans=handle), actor=admin, as_of=as_of)
    finally:
        log.setLevel(level)
    if not outcome.ok:
        return f"Book of the day: refused ({outcome.batch.errors[:3]})."
    from reconciliation.models import ReportedFall

    falls = ReportedFall.objects.filter(entry__import_batch=outcome.batch).count()
    return f"Book of the day imported: {falls} falls for officer to classify, 1 rise to acknowledge."
