"""Upload and download of evidence. Thin: evidence/services.py does the work and the audit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from collections_app.models import CollectionCase
from evidence import document_services, registry
from evidence.documents import SAMPLE_CONTEXT
from evidence.forms import DocumentGenerateForm, EvidenceUploadForm, TemplateUploadForm
from evidence.models import DocumentKind, DocumentTemplate, EvidenceFile
from evidence.services import evidence_download_record, evidence_upload, may_upload
from evidence.templatetags.evidence import form_prefix, panel_context
from loans.access import get_for_user_or_404
from loans.permissions import role_allows

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@require_GET
@login_required
def download(request: HttpRequest, pk: int) -> FileResponse:
    """The file as an attachment, to whoever may see it (another branch's file is a 404)."""
    evidence = get_for_user_or_404(EvidenceFile, request.user, pk=pk)
    evidence_download_record(actor=request.user, evidence=evidence)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The stored file is missing.") from exc
    # FileResponse writes Content-Disposition with filename*=utf-8'' (RFC 5987) for non-ASCII names.
    response = FileResponse(
        handle, as_attachment=True, filename=evidence.original_name, content_type=evidence.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_POST
@login_required
def upload(request: HttpRequest, target: str, target_id: int) -> HttpResponse:
    model = registry.target_model(target)
    if model is None:
        raise Http404("No such record.")
    obj = get_for_user_or_404(model, request.user, pk=target_id)
    if not may_upload(request.user):
        raise PermissionDenied
    form = EvidenceUploadForm(request.POST, request.FILES, prefix=form_prefix(obj))
    saved = None
    if form.is_valid():
        try:
            saved = evidence_upload(
                actor=request.user,
                target=obj,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data["description"],
                requirement=form.cleaned_data["requirement"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        except PermissionDenied:
            raise
    if request.htmx:
        context = panel_context(request=request, target=obj, form=None if saved else form)
        context["saved"] = saved
        return render(request, "evidence/_files.html", context)
    if saved is not None:
        next_url = request.POST.get("next", "")
        if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            return redirect(next_url)
        return redirect(_page_of(obj))
    context = panel_context(request=request, target=obj, form=form)
    return render(request, "evidence/upload.html", context, status=400)


def _page_of(obj) -> str:
    case = getattr(obj, "case", None)
    if case is not None:
        return case.get_absolute_url()
    return obj.get_absolute_url()


# --- generated documents and their templates ----------------------------------------------------


@require_POST
@login_required
def document_generate(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = get_for_user_or_404(CollectionCase.objects.select_related("loan"), request.user, pk=case_pk)
    form = DocumentGenerateForm(request.POST, case=case)
    if form.is_valid():
        try:
            document = document_services.document_generate(
                case=case,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                guarantee=form.cleaned_data.get("guarantee"),
                as_of=timezone.localdate(),
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You may not do this."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("%(kind)s no. %(number)s generated (Word and PDF).")
                % {"kind": document.get_kind_display(), "number": document.number},
            )
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect(case.get_absolute_url() + "#documents")


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    """Administrators: the templates in use, and the upload of a replacement (checked by rendering it)."""
    if not role_allows(request.user, "evidence.manage_templates"):
        raise PermissionDenied
    form = TemplateUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                template = document_services.document_template_replace(
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    _("%(kind)s: version %(version)s is now in use.")
                    % {"kind": template.get_kind_display(), "version": template.version},
                )
                return redirect("evidence:templates")
        status = 400
    current = {t.kind: t for t in DocumentTemplate.objects.select_related("uploaded_by").order_by("kind", "-version")}
    history = DocumentTemplate.objects.select_related("uploaded_by").order_by("kind", "-version")
    rows = [{"kind": kind, "label": label, "current": current.get(kind)} for kind, label in DocumentKind.choices]
    return render(
        request,
        "evidence/templates.html",
        {"rows": rows, "history": history, "form": form, "names": sorted(SAMPLE_CONTEXT)},
        status=status,
    )


@require_GET
@login_required
def template_download(request: HttpRequest, kind: str) -> HttpResponse:
    """The template in use for `kind` (the shipped default until one is uploaded), to edit in Word."""
    if not role_allows(request.user, "evidence.manage_templates"):
        raise PermissionDenied
    if kind not in DocumentKind.values:
        raise Http404("No such document.")
    version, content = document_services.current_template(kind)
    response = HttpResponse(content, content_type=DOCX_MIME)
    name = f"{DocumentKind(kind).label}-v{version}.docx"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
