"""The audit page: search the trail, follow a case's or a loan's history, export what was found.
Thin: the selectors read, audit/describe.py puts the codes into words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_tables2 import LazyPaginator

from audit.describe import Describer, event_dict
from audit.exporting import audit_export_spec
from audit.filters import AuditFilter
from audit.selectors import audit_events_for, case_history_condition, loan_history_condition
from audit.tables import AuditTable
from collections_app.models import CollectionCase
from loans.access import get_for_user_or_404
from loans.exporting import FORMATS, export_response
from loans.models import Loan
from loans.permissions import role_allows
from npl_recovery.tables import paginate_table


def _require(request: HttpRequest, perm: str) -> None:
    if not role_allows(request.user, perm):
        raise PermissionDenied(_("The audit trail is for auditors and administrators."))


@login_required
@require_GET
def trail(request: HttpRequest) -> HttpResponse:
    _require(request, "audit.view_trail")
    return _events_page(request, condition=None, title=_("Audit trail"), subject=None)


@dataclass(frozen=True)
class History:
    """An object whose whole history has a page: its model, its name, the condition of its history."""

    model: type
    name: Callable[[Any], str]
    condition: Callable[[Any], Q]


HISTORIES = {
    "case": History(
        CollectionCase, lambda c: _("Case %(no)s") % {"no": c.pk}, lambda c: case_history_condition([c.pk])
    ),
    "loan": History(
        Loan, lambda loan: _("Loan %(no)s") % {"no": loan.loan_no}, lambda loan: loan_history_condition(loan.pk)
    ),
}


@dataclass(frozen=True)
class Subject:
    kind: str
    pk: int
    name: str
    url: str


@login_required
@require_GET
def history(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require(request, "audit.view_history")
    if kind not in HISTORIES:
        raise Http404("No such history.")
    spec = HISTORIES[kind]
    obj = get_for_user_or_404(spec.model, request.user, pk=pk)
    subject = Subject(kind, obj.pk, spec.name(obj), obj.get_absolute_url())
    title = _("History of %(name)s") % {"name": subject.name.lower()}
    return _events_page(request, condition=spec.condition(obj), title=title, subject=subject)


def _events_page(request: HttpRequest, *, condition: Q | None, title: str, subject: Subject | None) -> HttpResponse:
    events = audit_events_for(user=request.user)
    if condition is not None:
        events = events.filter(condition)
    filterset = AuditFilter(request.GET or None, queryset=events, user=request.user, history=subject is not None)
    found = filterset.qs
    if request.GET.get("export") in FORMATS:
        return _export(request, found, filterset, subject)
    describer = Describer()
    table = AuditTable(found, describer=describer)
    # No count of the whole trail: it grows without end; the pager looks one page ahead.
    paginate_table(request, table, paginator_class=LazyPaginator)
    describer.prefetch(event_dict(row.record) for row in table.page.object_list)
    query = request.GET.copy()
    query.pop("export", None)
    return render(
        request,
        "audit/trail.html",
        {
            "title": title,
            "subject": subject,
            "filter": filterset,
            "table": table,
            "query": query.urlencode(),
            "may_search": role_allows(request.user, "audit.view_trail"),
        },
    )


def _export(request: HttpRequest, found, filterset: AuditFilter, subject: Subject | None) -> HttpResponse:
    fmt = request.GET["export"]
    applied = {k: v for k, v in (filterset.form.cleaned_data or {}).items() if v not in (None, "")}
    if subject is not None:
        applied["history_of"] = f"{subject.kind} {subject.pk}"
    as_of = timezone.localdate()
    found = found.order_by("created_at", "id")
    # Recorded (and limited) like every other export, by the one exporter.
    return export_response(
        audit_export_spec(),
        found,
        fmt=fmt,
        as_of=as_of,
        filename=f"audit-trail-{as_of:%Y%m%d}",
        actor=request.user,
        filters=applied,
        via="audit page",
    )
