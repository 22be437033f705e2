"""Importing the loan book from a file: the one service behind the admin, the import page (and
its Celery task) and `manage.py import_loans`.

    loan_book_import(files=ImportFiles(loans=path), actor=user, dry_run=False) -> ImportOutcome

1. Stream every sheet (loans, then guarantees and collateral): map the header, check each row
   as it is read and COPY it into a staging table. Progress goes to the ImportBatch as it moves.
2. Check across rows on the staging tables (duplicates, one borrower with two names, guarantees
   of loans that exist nowhere).
3. Any problem: nothing is written; the batch keeps the problems, each "row R, column C: ...".
   A dry run records what would be created, updated and left unchanged, and stops.
4. Otherwise, in one transaction: upsert borrowers, loans (new ones already classified),
   guarantors, guarantees and collateral; reclassify the loans that changed with
   loans.services.loans_reclassify; record per-row outcomes and one audit row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from audit.services import audit_record
from loans.classification import NON_PERFORMING_FIVE_CODES
from loans.importing.columns import (
    COLLATERAL,
    GUARANTEES,
    LOANS,
    HeaderMap,
    SheetSpec,
    find_header,
    is_header_echo,
    map_headers,
)
from loans.importing.readers import OpenedFile, ReadError, SheetReader, Source, file_name_of, open_sheets
from loans.importing.staging import COLLATERAL as COLLATERAL_TABLE
from loans.importing.staging import GUARANTEES as GUARANTEES_TABLE
from loans.importing.staging import LOANS as LOANS_TABLE
from loans.importing.staging import Counts, Stage, stage_for
from loans.importing.validation import (
    CollateralChecker,
    ErrorLog,
    GuaranteeChecker,
    LoanChecker,
    Lookups,
    NewLoanClasses,
    SheetChecker,
)
from loans.importing.values import quoted
from loans.models import Borrower, Branch, ImportBatch, Loan, User
from loans.permissions import role_allows
from loans.policy import classification_policy
from loans.services import loans_reclassify
from loans.signals import loans_reclassified
from npl_recovery.db import analyze_after_bulk_write
from npl_recovery.jobs import (
    IMPORT_BATCH_LOCK,
    RecoveredJob,
    max_attempts,
    queued_stale_after,
    running_lost_before,
)

logger = logging.getLogger(__name__)

# Rows per COPY into the staging table; progress is reported between chunks.
CHUNK_ROWS = 5000
PROGRESS_EVERY_SECONDS = 0.3


@dataclass
class ImportFiles:
    """The file(s) of one import: a CSV or XLSX loan book; guarantees and collateral either as
    sheets of the XLSX file or as separate CSV/XLSX files."""

    loans: Source
    guarantees: Source | None = None
    collateral: Source | None = None

    @property
    def display_name(self) -> str:
        names = [file_name_of(s) for s in (self.loans, self.guarantees, self.collateral) if s is not None]
        return " + ".join(names)[:255]


@dataclass
class ImportOutcome:
    batch: ImportBatch

    @property
    def ok(self) -> bool:
        return self.batch.status in (ImportBatch.Status.CHECKED, ImportBatch.Status.IMPORTED)

    @property
    def created(self) -> int:
        return self.batch.created

    @property
    def updated(self) -> int:
        return self.batch.updated

    @property
    def unchanged(self) -> int:
        return self.batch.unchanged

    @property
    def errors(self) -> list[str]:
        return list(self.batch.errors)

    @property
    def error_count(self) -> int:
        return self.batch.error_count

    @property
    def summary(self) -> str:
        return self.batch.summary


def can_import(user: Any) -> bool:
    return role_allows(user, "loans.import_loans")


def _require_importer(actor: User | None) -> None:
    # None is the command line run by an operator on the server.
    if actor is not None and not can_import(actor):
        raise PermissionDenied("Only an administrator may import the loan book.")


def import_batch_create(
    *,
    actor: User | None,
    source: str,
    dry_run: bool,
    as_of: date | None = None,
    file_name: str,
    files: dict[str, Any] | None = None,
) -> ImportBatch:
    """A queued batch (the import page stores the uploaded files with it for the worker)."""
    _require_importer(actor)
    batch = ImportBatch(
        created_by=actor,
        source=source,
        language=translation.get_language() or "",
        dry_run=dry_run,
        as_of=as_of or timezone.localdate(),
        file_name=file_name[:255],
    )
    for name, upload in (files or {}).items():
        if upload is not None:
            getattr(batch, f"{name}_file").save(upload.name, upload, save=False)
    batch.save()
    return batch


# The process running a batch holds its advisory lock ("NPLI", batch id) for as long as its
# database session lives (npl_recovery/jobs.py).
_RUN_LOCK = IMPORT_BATCH_LOCK.namespace
_lock_batch = IMPORT_BATCH_LOCK.take
_unlock_batch = IMPORT_BATCH_LOCK.release


def import_batch_claim(*, batch_id: int) -> ImportBatch | None:
    """Take a batch for this worker; None when another worker runs it or it is finished.

    A queued batch is taken with a conditional UPDATE, so two workers given the same task cannot
    both run it. On PostgreSQL a batch left "running" by a worker that died is taken again: its
    write is one transaction, so nothing of it was written, and no live worker holds its lock.
    """
    if not _lock_batch(batch_id):
        return None
    fields = {"status": ImportBatch.Status.RUNNING, "started_at": timezone.now(), "phase": ImportBatch.Phase.READING}
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.QUEUED).update(**fields)
    if not claimed and connection.vendor == "postgresql":
        claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.RUNNING).update(
            **fields, rows_read=0, rows_validated=0
        )
    if not claimed:
        _unlock_batch(batch_id)
        return None
    return ImportBatch.objects.get(pk=batch_id)


def import_batch_fail(*, batch_id: int, reason: str) -> bool:
    """Mark a batch that is not finished as failed, with the reason (its task cannot run it)."""
    unfinished = [s for s in ImportBatch.Status.values if s not in ImportBatch.FINISHED]
    return bool(
        ImportBatch.objects.filter(pk=batch_id, status__in=unfinished).update(
            status=ImportBatch.Status.FAILED,
            phase=ImportBatch.Phase.DONE,
            finished_at=timezone.now(),
            message=reason[:2000],
        )
    )


def import_batch_send(*, batch_id: int, queue: str | None = None) -> None:
    """Hand a queued batch to the workers (the import queue unless told another)."""
    from loans.tasks import import_loan_book

    import_loan_book.apply_async(args=[batch_id], queue=queue or getattr(settings, "NPL_IMPORT_QUEUE", None))


def import_batches_recover_stale(*, now: datetime, queue: str | None = None) -> list[RecoveredJob]:
    """Batches a gone worker left behind (npl_recovery/jobs.py): sent to the workers again, or
    failed with the reason when out of attempts, or when nothing is stored to run them from again
    (an import from the admin or the command line stopped with its process)."""
    lost = Q(status=ImportBatch.Status.RUNNING, started_at__lt=running_lost_before(now)) | Q(
        Q(queued_at__lt=now - queued_stale_after()) | Q(queued_at=None, created_at__lt=now - queued_stale_after()),
        status=ImportBatch.Status.QUEUED,
    )
    recovered = []
    for batch_id in ImportBatch.objects.filter(lost).order_by("pk").values_list("pk", flat=True):
        # A live worker holds the lock of the batch it runs; holding it here also keeps a second
        # recovery off this batch while it is decided.
        if not _lock_batch(batch_id):
            continue
        try:
            job = _recover_batch(batch_id, lost, now=now)
        finally:
            _unlock_batch(batch_id)
        if job is not None:
            recovered.append(job)
            if job.outcome == "requeued":
                transaction.on_commit(lambda pk=batch_id: import_batch_send(batch_id=pk, queue=queue))
    return recovered


@transaction.atomic
def _recover_batch(batch_id: int, lost: Q, *, now: datetime) -> RecoveredJob | None:
    batch = ImportBatch.objects.select_for_update().filter(lost, pk=batch_id).first()
    if batch is None:  # taken, finished or recovered meanwhile
        return None
    if batch.status == ImportBatch.Status.RUNNING:
        what = gettext("The worker running it stopped.")
    else:
        since = timezone.localtime(batch.queued_at or batch.created_at)
        what = gettext("No worker had taken it since %(since)s.") % {"since": f"{since:%Y-%m-%d %H:%M}"}
    limit = max_attempts()
    if not batch.loans_file:
        outcome, reason = "failed", gettext("The process running this import stopped before it finished.")
    elif batch.attempts >= limit:
        outcome, reason = "failed", gettext("%(what)s Given up after %(attempts)d attempts.")
    else:
        outcome, reason = "requeued", gettext("%(what)s Sent to the workers again (attempt %(n)d of %(max)d).")
    reason %= {"what": what, "attempts": batch.attempts, "n": batch.attempts + 1, "max": limit}
    old = {"status": batch.status, "attempts": batch.attempts}
    if outcome == "failed":
        # The write is one transaction: a batch that stopped wrote nothing.
        reason += " " + gettext("Nothing was written; import the file again.")
        batch.status, batch.phase, batch.finished_at, batch.message = (
            ImportBatch.Status.FAILED, ImportBatch.Phase.DONE, now, reason,
        )  # fmt: skip
        batch.save(update_fields=["status", "phase", "finished_at", "message"])
    else:
        batch.status, batch.phase, batch.queued_at, batch.attempts = (
            ImportBatch.Status.QUEUED, ImportBatch.Phase.WAITING, now, batch.attempts + 1,
        )  # fmt: skip
        batch.rows_read = batch.rows_validated = 0
        batch.save(update_fields=["status", "phase", "queued_at", "attempts", "rows_read", "rows_validated"])
    audit_record(
        actor=None,
        event_type=f"system.import_batch.{outcome}",
        subject=batch,
        old=old,
        new={"status": batch.status, "attempts": batch.attempts},
        reason=reason,
    )
    return RecoveredJob("import_batch", batch_id, outcome, reason)


def import_batch_run(*, batch: ImportBatch) -> ImportOutcome:
    """Run a claimed batch from its stored files (the Celery task), then let go of its lock."""
    stored = {name: getattr(batch, f"{name}_file") for name in ("loans", "guarantees", "collateral")}
    handles = {name: f.open("rb") for name, f in stored.items() if f}
    try:
        return loan_book_import(
            files=ImportFiles(**handles),
            actor=batch.created_by,
            dry_run=batch.dry_run,
            as_of=batch.as_of,
            source=batch.source,
            batch=batch,
        )
    finally:
        for handle in handles.values():
            handle.close()
        _unlock_batch(batch.pk)


def loan_book_import(
    *,
    files: ImportFiles,
    actor: User | None,
    dry_run: bool = False,
    as_of: date | None = None,
    source: str = ImportBatch.Source.COMMAND,
    batch: ImportBatch | None = None,
) -> ImportOutcome:
    """Import (or, with dry_run, check) a loan-book file. Nothing is written unless every row is
    right. Returns the outcome; its batch holds the counts, the errors and per-row outcomes."""
    _require_importer(actor)
    as_of = as_of or (batch.as_of if batch else timezone.localdate())
    locked_here = batch is None
    if batch is None:
        # Seen running only with its lock held: the lock shows this process is alive.
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                created_by=actor,
                language=translation.get_language() or "",
                source=source,
                dry_run=dry_run,
                as_of=as_of,
                file_name=files.display_name,
                status=ImportBatch.Status.RUNNING,
                phase=ImportBatch.Phase.READING,
                started_at=timezone.now(),
            )
            _lock_batch(batch.pk)
    elif batch.status != ImportBatch.Status.RUNNING:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.RUNNING, phase=ImportBatch.Phase.READING, started_at=timezone.now()
        )
    try:
        _Import(batch=batch, files=files, actor=actor, dry_run=dry_run, as_of=as_of).run()
    finally:
        if locked_here:
            _unlock_batch(batch.pk)
    batch.refresh_from_db()
    return ImportOutcome(batch)


class _Progress:
    """Moves the batch's counters, outside the import's transaction, a few times a second."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.read = 0
        self._last = 0.0

    def update(self, force: bool = False, **fields: Any) -> None:
        now = time.monotonic()
        if not force and not fields and now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        ImportBatch.objects.filter(pk=self.batch_id).update(rows_read=self.read, rows_validated=self.read, **fields)


@dataclass
class _Import:
    batch: ImportBatch
    files: ImportFiles
    actor: User | None
    dry_run: bool
    as_of: date
    errors: ErrorLog = field(default_factory=ErrorLog)
    present: dict[str, set[str]] = field(default_factory=dict)
    headers: dict[str, HeaderMap] = field(default_factory=dict)
    # Wall-clock seconds of each phase, kept with the batch's counts.
    seconds: dict[str, float] = field(default_factory=dict)
    # The rows PostgreSQL read and left to read here (_unchanged_in_database), closed at the end.
    raw_rows: Generator | None = None

    def run(self) -> None:
        # The problems are written in the uploader's language.
        with translation.override(self.batch.language or None):
            self._run()

    def _run(self) -> None:
        stage = stage_for()
        opened: list[OpenedFile] = []
        self.progress = _Progress(self.batch.pk)
        started = time.perf_counter()
        try:
            stage.create()
            stage.tune()
            sheets = self._open(opened)
            self.progress.update(force=True, rows_total=sum(s.estimated_rows for s in sheets.values()))
            lookups = _lookups()
            self.classes = NewLoanClasses(as_of=self.as_of, policy=classification_policy())
            makers: dict[str, Callable[[HeaderMap], SheetChecker]] = {
                "loans": lambda hm: LoanChecker(
                    hm,
                    self.errors,
                    lookups=lookups,
                    as_of=self.as_of,
                    classes=self.classes,
                    imported=stage.imported_loans if stage.skips_unchanged else None,
                ),
                "guarantees": lambda hm: GuaranteeChecker(hm, self.errors),
                "collateral": lambda hm: CollateralChecker(hm, self.errors),
            }
            tables = {"loans": LOANS_TABLE, "guarantees": GUARANTEES_TABLE, "collateral": COLLATERAL_TABLE}
            if "loans" not in sheets:
                raise ReadError(
                    gettext("the workbook has no Loans sheet (a sheet named Loans or 贷款, or a first sheet)")
                )
            for spec in (LOANS, GUARANTEES, COLLATERAL):
                reader = sheets.get(spec.code)
                if reader is not None:
                    self._read_sheet(spec, reader, makers[spec.code], stage, tables[spec.code])
            self.progress.update(force=True, rows_total=self.progress.read, phase=ImportBatch.Phase.CHECKING)
            self.seconds["read"] = time.perf_counter() - started
            stage.analyze()
            self._check_across_rows(stage)
            self.seconds["check"] = time.perf_counter() - started - self.seconds["read"]
            if self.errors:
                self._finish(ImportBatch.Status.REJECTED)
            elif self.dry_run:
                self._dry_run(stage)
            else:
                self._write(stage)
        except ReadError as exc:
            self.errors.file(str(exc))
            self._finish(ImportBatch.Status.REJECTED)
        except Exception as exc:
            logger.exception("import %s failed", self.batch.pk)
            self._fail(exc)
            raise
        finally:
            if self.raw_rows is not None:
                self.raw_rows.close()  # its cursor, before the table it reads is dropped
            for f in opened:
                f.close()
            try:
                stage.drop()
                stage.untune()
            except Exception:  # noqa: BLE001 - a broken connection drops its temporary tables anyway
                logger.warning("could not drop the staging tables of import %s", self.batch.pk)

    # --- reading ---------------------------------------------------------------------------

    def _open(self, opened: list[OpenedFile]) -> dict[str, SheetReader]:
        book = open_sheets(self.files.loans, default=LOANS)
        opened.append(book)
        sheets = dict(book.sheets)
        for spec, source in ((GUARANTEES, self.files.guarantees), (COLLATERAL, self.files.collateral)):
            if source is not None:
                extra = open_sheets(source, default=spec)
                opened.append(extra)
                if spec.code in extra.sheets:
                    sheets[spec.code] = extra.sheets[spec.code]
        return sheets

    def _read_sheet(
        self,
        spec: SheetSpec,
        reader: SheetReader,
        make_checker: Callable[[HeaderMap], SheetChecker],
        stage: Stage,
        table: str,
    ) -> None:
        rows = reader.rows
        found = find_header(spec, rows)
        if found is None:
            if spec is LOANS:
                self.errors.row(spec, 1, gettext("the file is empty; the first row must hold the column headers"))
            return
        (header_row, header_cells), rows = found
        header_map, problems = map_headers(spec, header_row, header_cells)
        for problem in problems:
            if problem.column:
                self.errors.add(
                    f"{_sheet_prefix(spec)}row {header_row}, column {problem.column}: {problem.message}",
                    sheet_order=_order(spec),
                    row_no=header_row,
                )
            else:
                self.errors.row(spec, header_row, problem.message, column_order=10_000)
        if any(not p.column for p in problems):
            return  # a required column is missing: the rows cannot be read meaningfully
        self.headers[spec.code] = header_map
        self.present[spec.code] = set(header_map.positions)
        checker = make_checker(header_map)
        data_rows = 0
        if isinstance(checker, LoanChecker):
            rows, data_rows = self._unchanged_in_database(reader, header_row, len(header_cells), checker, stage, rows)
        chunk: list[tuple[int, Any]] = []
        for row_no, cells in rows:
            if row_no == header_row + 1 and is_header_echo(header_map, cells):
                continue  # the template's second header line (Chinese names)
            chunk.append((row_no, cells))
            data_rows += 1
            if len(chunk) >= CHUNK_ROWS:
                self._stage_chunk(checker, chunk, stage, table)
                chunk = []
        self._stage_chunk(checker, chunk, stage, table)
        if data_rows == 0 and spec is LOANS:
            self.errors.row(spec, header_row + 1, gettext("there are no loans below the header row"))

    def _unchanged_in_database(
        self,
        reader: SheetReader,
        header_row: int,
        width: int,
        checker: LoanChecker,
        stage: Stage,
        rows: Iterator[tuple[int, Any]],
    ) -> tuple[Iterator[tuple[int, Any]], int]:
        """A CSV loan book re-imported on PostgreSQL: PostgreSQL reads the file (COPY) and stages the
        rows the book holds as they are, by their digest computed in SQL; only the other rows come
        back to be read and checked here, in file order. Returns the rows left to read (`rows` as
        they are when the file is not for COPY: each chunk is then compared as it is read) and how
        many were staged."""
        if reader.csv is None or header_row != 1 or checker.imported is None or not stage.book_has_digests():
            return rows, 0
        self.progress.update(force=True, phase=ImportBatch.Phase.COMPARING)
        if stage.copy_raw(reader.csv, width) is None:
            self.progress.update(force=True, phase=ImportBatch.Phase.READING)
            return rows, 0
        if hasattr(rows, "close"):
            rows.close()  # the CSV reader's, while its file is open: the rows now come from the database
        staged = stage.stage_unchanged_loans(checker.unchanged_probe())
        checker.imported = None  # the rows left differ from the book, or need the full check
        checker.rows_skipped += staged
        self.progress.read += staged
        self.progress.update(force=True, phase=ImportBatch.Phase.READING)
        self.raw_rows = stage.raw_loans_left(width)
        return self.raw_rows, staged

    def _stage_chunk(self, checker: SheetChecker, chunk: list[tuple[int, Any]], stage: Stage, table: str) -> None:
        if chunk:
            stage.write(table, checker.check_chunk(chunk))
            self.progress.read += len(chunk)
            self.progress.update()

    # --- checks across rows ----------------------------------------------------------------

    def _check_across_rows(self, stage: Stage) -> None:
        if "loans" in self.headers:
            hm = self.headers["loans"]
            for (loan_no,), row_no, first in stage.duplicates(LOANS_TABLE, ["loan_no"]):
                self.errors.cell(
                    LOANS,
                    hm,
                    row_no,
                    "loan_no",
                    gettext("loan number %(no)s is also in row %(row)s") % {"no": quoted(loan_no), "row": first},
                )
            self._people_agree(stage, LOANS, LOANS_TABLE, "borrower", hm)
        if "guarantees" in self.headers:
            hm = self.headers["guarantees"]
            for (loan_no, id_no), row_no, first in stage.duplicates(GUARANTEES_TABLE, ["loan_no", "guarantor_id_no"]):
                self.errors.cell(
                    GUARANTEES, hm, row_no, "guarantor_id_no",
                    f"guarantor {quoted(id_no)} of loan {quoted(loan_no)} is also in row {first}",
                )  # fmt: skip
            self._people_agree(stage, GUARANTEES, GUARANTEES_TABLE, "guarantor", hm)
            for row_no, loan_no in stage.unknown_loans(GUARANTEES_TABLE):
                self.errors.cell(GUARANTEES, hm, row_no, "loan_no", _unknown_loan(loan_no))
        if "collateral" in self.headers:
            hm = self.headers["collateral"]
            for (loan_no, _kind, description), row_no, first in stage.duplicates(
                COLLATERAL_TABLE, ["loan_no", "kind", "description"]
            ):
                self.errors.cell(
                    COLLATERAL, hm, row_no, "description",
                    f"{quoted(description)} of loan {quoted(loan_no)} is also in row {first}",
                )  # fmt: skip
            for row_no, loan_no in stage.unknown_loans(COLLATERAL_TABLE):
                self.errors.cell(COLLATERAL, hm, row_no, "loan_no", _unknown_loan(loan_no))

    def _people_agree(self, stage: Stage, spec: SheetSpec, table: str, who: str, hm: HeaderMap) -> None:
        attributes = [f"{who}_name"] + ([f"{who}_kind"] if f"{who}_kind" in self.present[spec.code] else [])
        for row_no, values, first_row, first in stage.inconsistent(table, f"{who}_id_no", attributes):
            for attribute in attributes:
                if (
                    values[attribute] is not None
                    and first[attribute] is not None
                    and values[attribute] != first[attribute]
                ):
                    what = "name" if attribute.endswith("_name") else "kind"
                    self.errors.cell(
                        spec, hm, row_no, attribute,
                        f"the same {who} (ID number in row {first_row}) has the {what} {quoted(first[attribute])} "
                        f"there but {quoted(values[attribute])} here",
                    )  # fmt: skip

    # --- outcomes ----------------------------------------------------------------------------

    def _dry_run(self, stage: Stage) -> None:
        batch_id = self.batch.pk
        counts: dict[str, dict[str, int]] = {}
        loans = Counts()
        if "loans" in self.present:
            counts["borrowers"] = stage.borrower_counts(self.present["loans"]).as_dict()
            loans = stage.record_loan_outcomes(batch_id, self.present["loans"])
        if "guarantees" in self.present:
            guarantees, guarantors = stage.record_guarantee_outcomes(batch_id, self.present["guarantees"])
            counts["guarantors"], counts["guarantees"] = guarantors.as_dict(), guarantees.as_dict()
        if "collateral" in self.present:
            counts["collateral"] = stage.record_collateral_outcomes(batch_id, self.present["collateral"]).as_dict()
        self._finish(
            ImportBatch.Status.CHECKED, loans=loans, counts=counts, rows_to_write=loans.created + loans.updated
        )

    def _write(self, stage: Stage) -> None:
        batch_id = self.batch.pk
        ImportBatch.objects.filter(pk=batch_id).update(phase=ImportBatch.Phase.WRITING)
        counts: dict[str, dict[str, int]] = {}
        actor_id = getattr(self.actor, "pk", None)
        write_started = time.perf_counter()
        with transaction.atomic():
            stage.lock_writes()  # one import writes at a time
            now = timezone.now()
            stage.write_classes(self.classes.results)
            stage.capture_balance_changes(self.present["loans"])
            loans, borrowers, updated_ids, new_npl_ids = stage.merge_loans(
                batch_id=batch_id, present=self.present["loans"], as_of=self.as_of, actor_id=actor_id, now=now
            )
            counts["borrowers"] = borrowers.as_dict()
            if "guarantees" in self.present:
                guarantees, guarantors = stage.merge_guarantees(batch_id, self.present["guarantees"], now)
                counts["guarantors"], counts["guarantees"] = guarantors.as_dict(), guarantees.as_dict()
            if "collateral" in self.present:
                counts["collateral"] = stage.merge_collateral(batch_id, self.present["collateral"]).as_dict()
            # The cases opened on commit and the next pages plan on statistics that know the new rows.
            analyze_after_bulk_write(Loan._meta.db_table, rows=loans.created + loans.updated)
            analyze_after_bulk_write(Borrower._meta.db_table, rows=borrowers.created + borrowers.updated)
            if updated_ids:
                # Changed facts (overdue since, balances...) may change the class: the usual service,
                # which knows each loan's history (manual class, upgrade hold, restructuring).
                loans_reclassify(as_of=self.as_of, actor=self.actor, loan_ids=updated_ids)
            if new_npl_ids:
                _announce_new_non_performing(new_npl_ids, as_of=self.as_of, actor=self.actor)
            ledger_started = time.perf_counter()
            counts["ledger"] = stage.post_ledger_entries(
                batch_id=batch_id, as_of=self.as_of, actor_id=actor_id, now=now
            )
            counts["ledger"]["to_classify"] = _record_reported_falls(batch_id=batch_id, as_of=self.as_of, now=now)
            counts["flags"] = self._flag(now)
            self.seconds["ledger"] = time.perf_counter() - ledger_started
            audit_record(
                actor=self.actor,
                event_type="loans.imported",
                subject=self.batch,
                new={
                    "file_name": self.batch.file_name,
                    "as_of": self.as_of,
                    **loans.as_dict(),
                    **{k: v for k, v in counts.items()},
                },
            )
            self.seconds["write"] = time.perf_counter() - write_started
            self._finish(
                ImportBatch.Status.IMPORTED,
                loans=loans,
                counts=counts,
                rows_to_write=loans.created + loans.updated,
                rows_written=loans.created + loans.updated,
            )

    def _flag(self, now: datetime) -> dict[str, int]:
        """The prevention flags of this import (accountability/prevention.py), each also a warning
        line of the report naming the row: falls reported by the book near a new loan to a related
        borrower ("loans by loans"), and new loans that should have waited ("first pay off")."""
        from accountability.prevention import (
            batch_flags,
            batch_flags_notify,
            first_pay_off_flags_find,
            refinancing_flags_find,
        )

        batch_id = self.batch.pk
        found = {
            "refinancing": refinancing_flags_find(as_of=self.as_of, batch_id=batch_id, now=now),
            "first_pay_off": first_pay_off_flags_find(as_of=self.as_of, batch_id=batch_id, now=now),
        }
        hm = self.headers["loans"]
        for flag in batch_flags(batch_id=batch_id, limit=self.errors.limit):
            self.errors.warn(LOANS, hm, flag.row_no, "loan_no", flag.warning())
        if any(found.values()):
            as_of = self.as_of
            transaction.on_commit(lambda: batch_flags_notify(batch_id=batch_id, as_of=as_of))
        return found

    def _finish(self, status: str, *, loans: Counts | None = None, counts: dict | None = None, **fields: Any) -> None:
        loans = loans or Counts()
        counts = {**(counts or {}), "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}
        logger.info(
            "import %s %s: %s rows, %s error(s), created %s, updated %s, unchanged %s, seconds %s",
            self.batch.pk, status, self.progress.read, self.errors.count,
            loans.created, loans.updated, loans.unchanged, counts["seconds"],
        )  # fmt: skip
        ImportBatch.objects.filter(pk=self.batch.pk).update(
            status=status,
            phase=ImportBatch.Phase.DONE,
            finished_at=timezone.now(),
            rows_read=self.progress.read,
            rows_validated=self.progress.read,
            created=loans.created,
            updated=loans.updated,
            unchanged=loans.unchanged,
            counts=counts,
            error_count=self.errors.count,
            errors=self.errors.messages,
            warnings=self.errors.warnings,
            **fields,
        )

    def _fail(self, exc: Exception) -> None:
        try:
            ImportBatch.objects.filter(pk=self.batch.pk).update(
                status=ImportBatch.Status.FAILED,
                phase=ImportBatch.Phase.DONE,
                finished_at=timezone.now(),
                message=f"{type(exc).__name__}: {exc}"[:2000],
            )
        except Exception:  # noqa: BLE001 - the connection itself may be what failed
            logger.warning("could not mark import %s as failed", self.batch.pk)


def _announce_new_non_performing(loan_ids: list[int], *, as_of: date, actor: User | None) -> None:
    """New loans that arrive non-performing: the same signal loans_reclassify sends for loans
    that become so (the collection app opens their cases). `loan_ids` are the new loans not normal
    under either scheme (full caliber, issue 11): all of them count as a class change, those
    non-performing under five levels as having become so."""
    ids = list(loan_ids)

    def send() -> None:
        started = time.perf_counter()
        if connection.vendor == "postgresql":
            # One array parameter: a list of 100,000 placeholders costs seconds to send and parse.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM loans_loan WHERE id = ANY(%s::bigint[]) AND five_level_class = ANY(%s) ORDER BY id",
                    [ids, list(NON_PERFORMING_FIVE_CODES)],
                )
                npl = [pk for (pk,) in cursor.fetchall()]
        else:
            npl = [
                pk
                for start in range(0, len(ids), 10_000)  # a statement takes at most 65,535 parameters
                for pk in Loan.objects.filter(
                    pk__in=ids[start : start + 10_000], five_level_class__in=NON_PERFORMING_FIVE_CODES
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            ]
        loans_reclassified.send(
            sender=Loan,
            as_of=as_of,
            actor=actor,
            became_non_performing=npl,
            left_non_performing=[],
            class_changed=ids,
        )
        logger.info("%s new non-performing loans announced in %.3f s", len(ids), time.perf_counter() - started)

    transaction.on_commit(send)


def _record_reported_falls(*, batch_id: int, as_of: date, now: datetime) -> int:
    from reconciliation.services import reported_falls_record

    return reported_falls_record(batch_id=batch_id, as_of=as_of, now=now)


def _lookups() -> Lookups:
    branches = {code.upper(): pk for pk, code in Branch.objects.values_list("pk", "code")}
    users: dict[str, tuple[int, bool]] = {}
    for pk, username, active in User.objects.values_list("pk", "username", "is_active"):
        users.setdefault(username.lower(), (pk, active))
        users[username] = (pk, active)
    return Lookups(branches=branches, users=users)


def _sheet_prefix(spec: SheetSpec) -> str:
    return "" if spec is LOANS else f"{spec.label}, "


def _order(spec: SheetSpec) -> int:
    return {"loans": 0, "guarantees": 1, "collateral": 2}[spec.code]


def _unknown_loan(loan_no: str) -> str:
    return f"loan {quoted(loan_no)} is neither in the Loans sheet nor in the loan book"
