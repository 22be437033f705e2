"""Recent imports, for those who import the loan book."""

from __future__ import annotations

from typing import Any

from dashboards.query import DashboardQuery

TEMPLATE = "dashboards/panels/imports.html"


def context(query: DashboardQuery, user: Any) -> dict | None:
    from loans.importing.services import can_import
    from loans.models import ImportBatch

    if not can_import(user):
        return None
    return {"recent_imports": list(ImportBatch.objects.select_related("created_by").order_by("-created_at")[:5])}
