from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from audit.services import audit_record
from dashboards.closed import one_view
from dashboards.league import one_request
from dashboards.panels import panel_modules
from dashboards.query import dashboard_query, scope_root
from dashboards.tables import TABLES, xlsx_bytes
from loans.models import Branch
from loans.permissions import is_officer

EXPORT_EVENT = "dashboards.exported"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The recovery dashboard: every panel's figures for the filters in the URL, within the scope."""
    query, form = dashboard_query(request)
    panels = []
    # The targets and officers panels read one league computation (dashboards.league.one_request);
    # every panel reads the closes' state once (dashboards.closed.one_view).
    with one_request(), one_view():
        for name, module in panel_modules():
            context = module.context(query, request.user)
            if context is None:
                continue
            panels.append({"name": name, "template": module.TEMPLATE, **context})
    return render(
        request,
        "dashboards/page.html",
        {
            "query": query,
            "form": form,
            "panels": panels,
            # Each panel's figures by name, for tests and for panels that read another's.
            "panel_figures": {p["name"]: p for p in panels},
            "crumbs": _crumbs(query, request.user),
            "user_is_officer": is_officer(request.user),
        },
    )


def _crumbs(query, user) -> list[dict]:
    """The branches from the user's widest subtree down to the shown branch's parent, as links."""
    if query.branch is None:
        return []
    parts = query.branch.path.strip("/").split("/")
    prefixes = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]
    root = scope_root(user)
    ancestors = Branch.objects.filter(path__in=prefixes).order_by("path")
    if root is not None:
        ancestors = ancestors.filter(path__startswith=root.path)
    out = []
    if root is None:
        out.append({"name": _("Whole bank"), "url": query.querystring(branch="", officer="")})
    for b in ancestors:
        out.append({"name": b.name, "url": query.querystring(branch=b.pk, officer="")})
    return out


@login_required
@require_GET
def export_table(request: HttpRequest, name: str) -> HttpResponse:
    """One dashboard table as XLSX: the same rows as the page (all of them), figures as numbers."""
    panel_modules()  # each panel registers its tables on import
    builder = TABLES.get(name)
    if builder is None:
        raise Http404
    query, _form = dashboard_query(request)
    table = builder(query, request.user, True)
    content = xlsx_bytes(table)
    audit_record(
        actor=request.user,
        event_type=EXPORT_EVENT,
        subject=request.user,
        branch_id=request.user.branch_id,
        new={"table": name, "filters": query.params(), "rows": len(table.rows)},
    )
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-{query.month:%Y-%m}-{stamp}.xlsx"'
    return response
