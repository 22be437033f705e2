"""Upload and download of evidence. Thin: evidence/services.py does the work and the audit."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from evidence import registry
from evidence.forms import EvidenceUploadForm
from evidence.models import EvidenceFile
from evidence.services import evidence_download_record, evidence_upload, may_upload
from evidence.templatetags.evidence import form_prefix, panel_context
from loans.access import get_for_user_or_404


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
