"""Targets: the year's progress against the recovery targets of the shown branch (its own target;
the whole bank: the head office's) or of the shown officer (the officer himself, or the one a
manager drilled to). Figures: dashboards.league."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from dashboards.league import Figures, branch_target, compute, officer_targets, shown_officer
from dashboards.query import DashboardQuery
from dashboards.services import can_set_targets
from loans.permissions import is_officer

TEMPLATE = "dashboards/panels/targets.html"


def _bar(percent: float | None) -> str:
    """The progress bar's width (0-100, a CSS percentage through data-width)."""
    if percent is None:
        return "0"
    return f"{max(0.0, min(100.0, percent)):.1f}"


def officer_cases_url(officer_id: int, user: Any) -> str:
    """The officer's cases in the work queue: his own queue for himself, filtered by him for a manager."""
    base = reverse("collections_app:case_list")
    if is_officer(user) and user.pk == officer_id:
        return f"{base}?scope=mine"
    return f"{base}?scope=all&officer={officer_id}"


def context(query: DashboardQuery, user: Any) -> dict:
    officer = shown_officer(query, user)
    figures: Figures = compute(query, None)["all"]
    if officer is not None:
        targets = officer_targets(query).get(officer.pk)
        figures.target_npl_reduction, figures.target_cash_recovered = targets or (None, None)
        subject = officer.display_name
        target_set = targets is not None
    else:
        target = branch_target(query)
        if target is not None:
            figures.target_npl_reduction, figures.target_cash_recovered = target.npl_reduction, target.cash_recovered
        subject = query.branch.name if query.branch else _("Whole bank")
        target_set = target is not None
    measures = [
        {
            "key": "npl_reduction",
            "label": _("NPL balance reduction"),
            "achieved": figures.npl_reduction,
            "target": figures.target_npl_reduction,
            "percent": figures.npl_progress,
            "width": _bar(figures.npl_progress),
            "unknown": _("No year-end close of last year yet: the reduction is not known.")
            if figures.npl_reduction is None
            else "",
        },
        {
            "key": "cash_recovered",
            "label": _("Cash recovered"),
            "achieved": figures.cash_recovered,
            "target": figures.target_cash_recovered,
            "percent": figures.cash_progress,
            "width": _bar(figures.cash_progress),
            "unknown": "",
        },
    ]
    return {
        "year": query.month.year,
        "subject": subject,
        "officer": officer,
        "figures": figures,
        "measures": measures,
        "target_set": target_set,
        "can_set": can_set_targets(user),
        "targets_url": f"{reverse('dashboards:targets')}?year={query.month.year}",
        "cases_url": officer_cases_url(officer.pk, user) if officer is not None else "",
    }
