"""The import page (admins), its progress and results, the template download, and the export
downloads. Thin: the work is in loans.importing.services and loans.exporting."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from loans.export_jobs import export_job_create, sync_max_rows
from loans.exporting import (
    EXPORTS,
    FORMATS,
    available_exports,
    can_export,
    export_filters,
    export_queryset,
    export_response,
    export_rows_at_most,
    wants_chinese_row,
)
from loans.importing.columns import SHEETS
from loans.importing.limits import upload_refusal
from loans.importing.outcomes import BatchRows
from loans.importing.services import can_import, import_batch_create, import_batch_send
from loans.importing.template import XLSX_CONTENT_TYPE, template_csv, template_xlsx
from loans.models import ExportJob, ImportBatch
from loans.permissions import role_allows

ROWS_PER_PAGE = 50


class ImportUploadForm(forms.Form):
    loans_file = forms.FileField(
        label=gettext_lazy("Loan book (CSV or XLSX)"),
        help_text=gettext_lazy("An XLSX file may also hold the Guarantees and Collateral sheets."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    guarantees_file = forms.FileField(
        label=gettext_lazy("Guarantees (CSV, optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    collateral_file = forms.FileField(
        label=gettext_lazy("Collateral (CSV, optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    as_of = forms.DateField(
        label=gettext_lazy("As of"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: check the file and count what would change, write nothing"),
        required=False,
        initial=True,
    )

    def _limited(self, name: str):
        upload = self.cleaned_data.get(name)
        if upload is not None and (problem := upload_refusal(upload.size, name=upload.name)):
            raise ValidationError(problem)
        return upload

    def clean_loans_file(self):
        return self._limited("loans_file")

    def clean_guarantees_file(self):
        return self._limited("guarantees_file")

    def clean_collateral_file(self):
        return self._limited("collateral_file")


def _require_importer(request: HttpRequest) -> None:
    if not can_import(request.user):
        raise PermissionDenied(gettext("Only an administrator may import the loan book."))


def _may_view_batches(user) -> bool:
    return role_allows(user, "loans.view_import_batches")


def _batch_for(request: HttpRequest, pk: int) -> ImportBatch:
    if not _may_view_batches(request.user):
        raise Http404(gettext("No import batch found."))
    return get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)


def _enqueue(batch: ImportBatch) -> None:
    transaction.on_commit(lambda: import_batch_send(batch_id=batch.pk))


@login_required
def import_start(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None, initial={"as_of": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        uploads = {name: data.get(f"{name}_file") for name in ("loans", "guarantees", "collateral")}
        with transaction.atomic():
            batch = import_batch_create(
                actor=request.user,
                source=ImportBatch.Source.PAGE,
                dry_run=data["dry_run"],
                as_of=data["as_of"],
                file_name=" + ".join(u.name for u in uploads.values() if u),
                files=uploads,
            )
            _enqueue(batch)
        return redirect(batch)
    batches = ImportBatch.objects.select_related("created_by")[:20]
    return render(request, "loans/import.html", {"form": form, "batches": batches, "sheets": SHEETS})


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    outcome = request.GET.get("outcome", "")
    sheet = request.GET.get("sheet", "loans")
    if sheet not in {s.code for s in SHEETS}:
        sheet = "loans"
    rows = BatchRows(batch, sheet, outcome)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "batch": batch,
        "page": page,
        "outcome": outcome,
        "sheet": sheet,
        "sheets": [s for s in SHEETS if s.code in batch.counts or s.code == "loans"],
        "other_records": _other_records(batch.counts),
        "ledger_and_flags": _ledger_and_flags(batch.counts),
        "can_run": can_import(request.user)
        and batch.dry_run
        and batch.status == ImportBatch.Status.CHECKED
        and bool(batch.loans_file),
    }
    return render(request, "loans/import_detail.html", context)


def _other_records(counts: dict) -> list[tuple[str, dict]]:
    """The records besides loans that an import creates, updates or leaves: (label, counts)."""
    labels = {
        "borrowers": gettext("Borrowers"),
        "guarantors": gettext("Guarantors"),
        "guarantees": gettext("Guarantees"),
        "collateral": gettext("Collateral"),
    }
    return [(label, counts[name]) for name, label in labels.items() if name in counts]


def _ledger_and_flags(counts: dict) -> list[tuple[str, int]]:
    """What an import wrote to the balance ledger and the prevention flags: (label, how many), in the
    words of the ledger and the prevention page (empty for a dry run, which writes neither)."""
    from accountability.models import LoansByLoansFlag
    from ledger.models import LedgerEntry
    from reconciliation.models import ReportedFall

    ledger, flags = counts.get("ledger") or {}, counts.get("flags") or {}
    if not ledger and not flags:
        return []
    return [
        (LedgerEntry.Kind.BOOK_REPORTED.label, ledger.get("book_reported", 0)),
        (ReportedFall.Status.TO_CLASSIFY.label, ledger.get("to_classify", 0)),
        (LedgerEntry.Kind.BOOK_CORRECTION.label, ledger.get("book_correction", 0)),
        (LedgerEntry.Kind.OPENING_BALANCE.label, ledger.get("opening_balance", 0)),
        (LoansByLoansFlag.Kind.LOANS_BY_LOANS.label, flags.get("refinancing", 0)),
        (LoansByLoansFlag.Kind.FIRST_PAY_OFF.label, flags.get("first_pay_off", 0)),
    ]


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    if batch.is_finished and request.htmx and request.GET.get("polling"):
        # Finished while the page watched: reload it to show the results.
        return HttpResponseClientRefresh()
    return render(request, "loans/import_progress.html", {"batch": batch})


@login_required
@require_POST
def import_run_checked(request: HttpRequest, pk: int) -> HttpResponse:
    """Import for real a file whose dry run passed: a new batch over the same stored files."""
    _require_importer(request)
    checked = _batch_for(request, pk)
    if not (checked.dry_run and checked.status == ImportBatch.Status.CHECKED and checked.loans_file):
        raise PermissionDenied(gettext("Only a dry run that passed can be imported from here."))
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            created_by=request.user,
            source=ImportBatch.Source.PAGE,
            dry_run=False,
            as_of=checked.as_of,
            file_name=checked.file_name,
            loans_file=checked.loans_file.name,
            guarantees_file=checked.guarantees_file.name,
            collateral_file=checked.collateral_file.name,
        )
        _enqueue(batch)
    return redirect(batch)


@login_required
def import_template(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt == "xlsx":
        response = HttpResponse(template_xlsx(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = 'attachment; filename="loan-book-template.xlsx"'
        return response
    spec = next((s for s in SHEETS if s.code == request.GET.get("sheet", "loans")), None)
    if fmt != "csv" or spec is None:
        raise Http404
    response = HttpResponse(template_csv(spec), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{spec.code}-template.csv"'
    return response


def _require_exporter(request: HttpRequest) -> None:
    if not can_export(request.user):
        raise PermissionDenied(gettext("Exports are for managers, administrators and auditors."))


@login_required
def export_index(request: HttpRequest) -> HttpResponse:
    _require_exporter(request)
    jobs = ExportJob.objects.filter(owner=request.user)[:10]
    context = {"exports": available_exports(), "formats": FORMATS, "jobs": jobs, "sync_limit": sync_max_rows()}
    return render(request, "loans/export.html", context)


@login_required
def export_download(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """GET: a small export (at most NPL_EXPORT_SYNC_MAX_ROWS rows) is written while the page waits;
    a larger one is offered as a background job. POST: the job is queued, and its page shown."""
    _require_exporter(request)
    spec = EXPORTS.get(name)
    if spec is None or not spec.available or fmt not in FORMATS:
        raise Http404
    as_of = timezone.localdate()
    if request.method == "POST":
        query = QueryDict(request.POST.get("query", ""))
        job = export_job_create(
            actor=request.user,
            spec=spec,
            fmt=fmt,
            query=query,
            chinese_row=request.POST.get("header") == "zh" or wants_chinese_row(request),
            as_of=as_of,
        )
        return redirect(job)
    queryset = export_queryset(spec, request.user, request.GET)
    rows = export_rows_at_most(queryset, sync_max_rows())
    if rows > sync_max_rows():
        query = request.GET.copy()
        chinese = wants_chinese_row(request)
        query.pop("header", None)
        context = {"spec": spec, "fmt": fmt, "limit": sync_max_rows(), "query": query.urlencode(), "chinese": chinese}
        return render(request, "loans/export_confirm.html", context)
    return export_response(
        spec,
        queryset,
        fmt=fmt,
        as_of=as_of,
        filename=f"{name}-{as_of:%Y%m%d}",
        actor=request.user,
        filters=export_filters(request.GET) if name == "loans" else {},
        via="page",
        chinese_row=wants_chinese_row(request),
    )


def _job_for(request: HttpRequest, pk: int) -> ExportJob:
    """The owner's job; anyone else's is a 404 (exports hold the owner's scope)."""
    return get_object_or_404(ExportJob, pk=pk, owner=request.user)


@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "loans/export_job.html", {"job": _job_for(request, pk)})


@login_required
def export_job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if job.is_finished and request.htmx and request.GET.get("polling"):
        return HttpResponseClientRefresh()
    return render(request, "loans/export_job_progress.html", {"job": job})


@login_required
def export_job_file(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404(gettext("This export has no file to download."))
    content_type = XLSX_CONTENT_TYPE if job.fmt == "xlsx" else "text/csv; charset=utf-8"
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name, content_type=content_type)
