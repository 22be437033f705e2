"""django-import-export for the loan book: formats, the resource and the admin's import/export.

The admin keeps django-import-export's flow (choose a file, see the dry run, confirm), but the
file goes through the one pipeline every other way in uses, loans.importing.services
.loan_book_import, and exports go through loans.exporting. django-import-export's own per-row
and bulk paths are not used: they are one to two orders of magnitude slower (issue 5).
"""

from __future__ import annotations

import io
import re
from typing import Any

import tablib
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html
from import_export import fields, resources
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import Format
from import_export.forms import ExportForm, ImportForm
from import_export.results import Error, Result, RowResult

from loans.exporting import LOANS_EXPORT, can_export, export_filters, export_response
from loans.importing.columns import LOAN_COLUMNS
from loans.importing.limits import upload_refusal
from loans.importing.outcomes import BatchRows
from loans.importing.services import ImportFiles, can_import, loan_book_import
from loans.models import ImportBatch, ImportRow, Loan

PREVIEW_ROWS = 200


class LoanBookFormat(Format):
    """A CSV or XLSX loan book, handed to the pipeline as the uploaded bytes (the pipeline tells
    CSV from XLSX by content and reads it as a stream)."""

    TITLE = ""
    CONTENT_TYPE = "application/octet-stream"

    def __init__(self, encoding: str | None = None) -> None:
        self.encoding = encoding

    def get_title(self) -> str:
        return self.TITLE

    def get_extension(self) -> str:
        return self.TITLE

    def get_content_type(self) -> str:
        return self.CONTENT_TYPE

    def is_binary(self) -> bool:
        return True

    def get_read_mode(self) -> str:
        return "rb"

    def can_import(self) -> bool:
        return True

    def can_export(self) -> bool:
        return True

    def create_dataset(self, in_stream: bytes) -> tablib.Dataset:
        # No parsing here: one row so the admin goes on to the resource, which reads the bytes.
        dataset = tablib.Dataset(["(read by the loan-book import)"], headers=["file"])
        dataset.npl_source = bytes(in_stream)
        return dataset

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> Any:
        return dataset.export(self.TITLE)


class LoanBookCSV(LoanBookFormat):
    TITLE = "csv"
    CONTENT_TYPE = "text/csv"


class LoanBookXLSX(LoanBookFormat):
    TITLE = "xlsx"
    CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LoanBookResult(Result):
    """import-export's Result, filled from an import batch (for the admin's templates)."""

    def __init__(self, batch: ImportBatch | None) -> None:
        super().__init__()
        self.batch = batch
        self.diff_headers = ["Row", "Loan number"]


_TYPES = {
    ImportRow.Outcome.CREATED: RowResult.IMPORT_TYPE_NEW,
    ImportRow.Outcome.UPDATED: RowResult.IMPORT_TYPE_UPDATE,
    ImportRow.Outcome.UNCHANGED: RowResult.IMPORT_TYPE_SKIP,
}
_ROW_IN_MESSAGE = re.compile(r"row (\d+)")


def result_from_batch(batch: ImportBatch) -> LoanBookResult:
    result = LoanBookResult(batch)
    result.totals[RowResult.IMPORT_TYPE_NEW] = batch.created
    result.totals[RowResult.IMPORT_TYPE_UPDATE] = batch.updated
    result.totals[RowResult.IMPORT_TYPE_SKIP] = batch.unchanged
    result.total_rows = batch.rows_read
    for message in batch.errors:
        # Each problem is an "invalid row", so import-export offers no confirm button.
        match = _ROW_IN_MESSAGE.search(message)
        result.append_invalid_row(int(match.group(1)) if match else 0, {}, ValidationError(message))
    result.totals[RowResult.IMPORT_TYPE_INVALID] = batch.error_count
    if batch.status == ImportBatch.Status.FAILED:
        result.append_base_error(Error(RuntimeError(batch.message or "the import failed")))
    for row_no, key, outcome in BatchRows(batch, "loans").each_row(limit=PREVIEW_ROWS):
        row_result = RowResult()
        row_result.import_type = _TYPES[outcome]
        row_result.object_repr = key
        row_result.diff = [row_no, key]
        row_result.outcome_label = ImportRow.Outcome(outcome).label
        result.append_row_result(row_result)
    return result


class LoanResource(resources.ModelResource):
    """The loan book's columns (English name and Chinese name), imported through the pipeline."""

    class Meta:
        model = Loan
        fields: tuple[str, ...] = ()
        import_id_fields = ()
        name = "Loan book (loans, guarantees and collateral)"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for column in LOAN_COLUMNS:
            name = f"{column.field} ({column.chinese})"
            self.fields[column.field] = fields.Field(attribute=None, column_name=name, readonly=True)

    def import_data(self, dataset: tablib.Dataset, dry_run: bool = False, raise_errors: bool = False, **kwargs: Any):
        source = getattr(dataset, "npl_source", None)
        if source is None:
            source = dataset.export("csv").encode("utf-8")  # a Dataset built by hand
        upload = io.BytesIO(source)
        upload.name = kwargs.get("file_name") or "upload"
        user = kwargs.get("user")
        try:
            outcome = loan_book_import(
                files=ImportFiles(loans=upload),
                actor=user,
                dry_run=dry_run,
                as_of=timezone.localdate(),
                source=ImportBatch.Source.ADMIN,
            )
        except Exception as exc:
            if raise_errors:
                raise
            result = LoanBookResult(None)  # the batch is marked failed, with the message
            result.append_base_error(Error(exc))
            return result
        return result_from_batch(outcome.batch)


class LoanBookImportForm(ImportForm):
    """import-export's form, refusing a file over the upload limit (the import page's rule)."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if problem := upload_refusal(upload.size, name=upload.name):
            raise ValidationError(problem)
        return upload


class LoanBookAdminMixin(ImportExportMixin):
    """For LoanAdmin: import-export's import (dry run, confirm) and export buttons, wired to the
    pipeline and the exporter, with the same permissions as the app's pages."""

    resource_classes = [LoanResource]
    import_formats = [LoanBookCSV, LoanBookXLSX]
    export_formats = [LoanBookCSV, LoanBookXLSX]
    import_template_name = "loans/import_admin.html"
    import_form_class = LoanBookImportForm
    export_form_class = ExportForm
    # The batch (with its per-row outcomes) and the audit trail record the import.
    skip_admin_log = True

    def has_import_permission(self, request) -> bool:
        return can_import(request.user)

    def has_export_permission(self, request) -> bool:
        return can_export(request.user)

    def add_success_message(self, result: Result, request) -> None:
        batch = getattr(result, "batch", None)
        if batch is None:
            return super().add_success_message(result, request)
        messages.success(
            request,
            format_html(
                'Import #{} finished: {}. <a href="{}">See the rows</a>.',
                batch.pk,
                batch.summary,
                batch.get_absolute_url(),
            ),
        )

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        # The admin's list (its filters, search and the user's branches) through the streaming exporter.
        scoped = LOANS_EXPORT.queryset(request.user).filter(pk__in=queryset.values("pk"))
        return export_response(
            LOANS_EXPORT,
            scoped,
            fmt=file_format.get_extension(),
            as_of=timezone.localdate(),
            filename=f"loans-{timezone.localdate():%Y%m%d}",
            actor=request.user,
            filters=export_filters(request.GET),
            via="admin",
        )
