"""Headline figures: the NPL under the chosen scheme with the other beside it, their changes since the
month's and the year's start (a fall is good), the five-level bar, recoveries by source (value taken
in kind apart), provisions, write-offs and what came back after them, claims running out of time.

Every figure comes from dashboards.figures (kept cells, the month-end closes, the index of open
cases by limitation end): no scan of the loans per page view. A past as-of month shows that month's
close ("from the month-end close").
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from dashboards import figures
from dashboards import headline_rules as hr
from dashboards.query import DashboardQuery
from ledger.models import LedgerEntry
from loans.models import FIVE_LEVEL_WORDS, FOUR_LEVEL_WORDS

TEMPLATE = "dashboards/panels/headline.html"


def scheme_label(scheme: str) -> str:
    return _("Five-level") if scheme == "five" else _("Four-level")


def slices(book: figures.Book, scheme: str = "five") -> list[dict]:
    """The bar's slices: each class's loans, balance and share of the outstanding principal."""
    words = FIVE_LEVEL_WORDS if scheme == "five" else FOUR_LEVEL_WORDS
    classes = book.five if scheme == "five" else book.four
    return [
        {
            "code": c.code,
            "label": str(words[c.code]),
            "count": c.loans,
            "outstanding": c.balance,
            "share": float(hr.percent(c.balance, book.outstanding) or 0),
        }
        for c in classes
    ]


def source_rows(recoveries: figures.Recoveries) -> list[dict]:
    labels = dict(LedgerEntry.Kind.choices)
    return [
        {
            "kind": s.kind,
            "label": str(labels.get(s.kind, s.kind)),
            "cash_month": s.cash_month,
            "cash_year": s.cash_year,
            "in_kind_month": s.in_kind_month,
            "in_kind_year": s.in_kind_year,
        }
        for s in recoveries.by_source
    ]


def tile(t: figures.SchemeTile | None) -> dict | None:
    if t is None:
        return None
    return {
        "scheme": t.scheme,
        "label": scheme_label(t.scheme),
        "npl": t.npl,
        "npl_interest": None if t.npl.interest_on is None else t.npl.interest_on + t.npl.interest_off,
        "month_change": t.month_change,
        "month_change_loans": t.month_change_loans,
        "year_change": t.year_change,
        "year_change_loans": t.year_change_loans,
        "recovery_rate": t.recovery_rate,
        "at_year_start": t.at_year_start,
    }


def context(query: DashboardQuery, user: Any) -> dict:
    from dashboards.lists import narrowed
    from legal.models import GuaranteeRelease
    from legal.selectors import amount_lost

    h = figures.headline(query)
    return {
        "figures": h,
        "book": h.book,
        "from_close": not query.is_current_month,
        "tile": tile(h.tiles.get(query.scheme)),
        "other": tile(h.tiles.get(hr.other_scheme(query.scheme))),
        "slices": slices(h.book) if h.book is not None else [],
        "sources": source_rows(h.recoveries) if h.recoveries is not None else [],
        "recoveries": h.recoveries,
        "write_offs": h.write_offs,
        "limitation": h.limitation,
        "closes": h.closes,
        # Issue 12: the amount lost with released guarantees (tests read this key), narrowed as every
        # figure of the page: the user's scope and the dashboard's subtree, officer, product and kind.
        "guarantees_lost": amount_lost(
            narrowed(GuaranteeRelease.objects.all(), query, user, branch="branch", loan="loan")
        ),
    }
