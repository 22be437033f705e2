"""Headline figures. (Skeleton: the book summary as it was; the kept-aggregate headline replaces it.)"""

from __future__ import annotations

from typing import Any

from dashboards.query import DashboardQuery

TEMPLATE = "dashboards/panels/headline.html"


def context(query: DashboardQuery, user: Any) -> dict:
    from legal.selectors import guarantee_amount_lost
    from loans.selectors import book_summary

    return {"summary": book_summary(user=user), "guarantees_lost": guarantee_amount_lost(user=user)}
