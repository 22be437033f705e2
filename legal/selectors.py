"""Reads of legal recourse for the pages and the dashboards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from legal.models import GuaranteeRelease


def guarantees_released(*, user: Any, since: date | None = None, until: date | None = None) -> QuerySet:
    """Guarantees released because their period ended without a demand, in the user's scope."""
    rows = GuaranteeRelease.objects.visible_to(user).select_related("guarantee__guarantor", "loan")
    if since is not None:
        rows = rows.filter(released_on__gte=since)
    if until is not None:
        rows = rows.filter(released_on__lte=until)
    return rows


def guarantee_amount_lost(*, user: Any, since: date | None = None, until: date | None = None) -> dict:
    """How many guarantees in the user's scope were released and the amount lost with them."""
    return amount_lost(guarantees_released(user=user, since=since, until=until))


def amount_lost(releases: QuerySet) -> dict:
    """The dashboards' figure over `releases` (GuaranteeRelease rows, already scoped): how many
    guarantees were released and the amount lost with them."""
    totals = releases.order_by().aggregate(released=Count("pk"), amount_lost=Sum("amount_lost"))
    return {"released": totals["released"], "amount_lost": totals["amount_lost"] or Decimal("0.00")}
