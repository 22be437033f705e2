"""Limitation and other legal deadlines running out, in one table with a "kind" column, the
earliest first (so what has already run out comes before what is about to):

- limitation: open cases whose claim runs out within the limitation warning window (90 days by
  default, the limitation check's), and those already time-barred;
- hearings of open cases within the hearing reminder window (7 days by default);
- preservation orders in force expiring within their reminder window (30 days), and those lapsed
  neither renewed nor released;
- enforcement application deadlines within their warning window (60 days) with no application,
  and those missed;
- guarantee periods ending within their warning window (60 days) while nothing keeps the guarantor
  liable (a period that ended is the guarantee-period check's: it releases the guarantor).

Which rows count is the daily checks' own querysets (accountability/daily_checks: limitation,
hearings, preservation_orders, enforcement_deadlines, guarantee_periods) and their policies'
windows; each kind is read through its index, at most PAGE_ROWS + 1 rows per kind for the page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from accountability.daily_checks.enforcement_deadlines import enforcement_not_applied
from accountability.daily_checks.guarantee_periods import guarantees_at_risk, open_case_of_loan, period_ends
from accountability.daily_checks.hearings import hearings_of_open_cases
from accountability.daily_checks.limitation import open_claims, warning_horizon
from accountability.daily_checks.preservation_orders import orders_in_force
from accountability.rules import days_left
from dashboards.lists import (
    PAGE_ROWS,
    capped_count,
    case_url,
    name_of,
    narrowed,
    officer_links,
    user_display_name,
)
from dashboards.query import DashboardQuery
from dashboards.tables import COUNT, DATE, MONEY, MORE_CAP, TEXT, Column, DashTable, Row, register_table
from legal.models import LegalReminder
from legal.policy import legal_policy
from legal.rules import guarantee_maturity_range

TEMPLATE = "dashboards/panels/legal_deadlines.html"


@dataclass
class Deadline:
    kind: str  # a LegalReminder.Kind value, or "limitation" (not yet time-barred)
    on: date
    case_id: int
    loan_no: str
    borrower: str
    officer_id: int | None
    officer: str
    detail: str
    amount: Any = None  # what is at stake where it is one figure (a guarantee's amount)
    order: int = 0  # the pk, for a stable order among equal dates


def _days(as_of: date, n: int) -> date:
    return as_of + timedelta(days=n)


# The columns a row reads of its case (the loan number, the borrower's name, the officer's name):
# each list reads its 51 rows' few columns, not every column of four tables.
# The case's measure too: a case without it reads it back on load (its state field is tracked).
_CASE_COLUMNS = ("measure", "loan__loan_no", "loan__borrower__name", "officer__first_name", "officer__last_name",
                 "officer__username")  # fmt: skip


def _limitation(query: DashboardQuery, user: Any) -> QuerySet:
    qs = open_claims().filter(limitation_expires_on__lte=warning_horizon(query.as_of))
    return (
        narrowed(qs, query, user, branch="branch", loan="loan")
        .select_related("loan__borrower", "officer")
        .only("limitation_expires_on", "limitation_starts_on", *_CASE_COLUMNS)
        .order_by("limitation_expires_on", "id")
    )


def _limitation_row(c, as_of: date) -> Deadline:
    barred = c.limitation_expires_on < as_of
    return Deadline(
        kind=LegalReminder.Kind.TIME_BARRED if barred else "limitation",
        on=c.limitation_expires_on,
        case_id=c.pk,
        loan_no=c.loan.loan_no,
        borrower=c.loan.borrower.name,
        officer_id=c.officer_id,
        officer=name_of(c.officer),
        detail=(_("Runs from %(day)s") % {"day": f"{c.limitation_starts_on:%Y-%m-%d}"})
        if c.limitation_starts_on
        else "",
        order=c.pk,
    )


_PROCEEDING_CASE = ("proceeding__case__loan__borrower", "proceeding__case__officer")
_PROCEEDING_COLUMNS = (
    "proceeding__court",
    "proceeding__case_number",
    *(f"proceeding__case__{c}" for c in _CASE_COLUMNS),
)


def _hearings(query: DashboardQuery, user: Any) -> QuerySet:
    as_of = query.as_of
    qs = hearings_of_open_cases().filter(
        held_on__range=(as_of, _days(as_of, max(legal_policy().hearing_reminder_days)))
    )
    return (
        narrowed(qs, query, user, branch="proceeding__case__branch", loan="proceeding__case__loan")
        .select_related("proceeding", *_PROCEEDING_CASE)
        .only("held_on", "place", *_PROCEEDING_COLUMNS)
        .order_by("held_on", "id")
    )


def _on_case(case, kind: str, on: date, detail: str, order: int, amount: Any = None) -> Deadline:
    return Deadline(
        kind=kind,
        on=on,
        case_id=case.pk,
        loan_no=case.loan.loan_no,
        borrower=case.loan.borrower.name,
        officer_id=case.officer_id,
        officer=name_of(case.officer),
        detail=detail,
        amount=amount,
        order=order,
    )


def _hearing_row(h, as_of: date) -> Deadline:
    p = h.proceeding
    return _on_case(p.case, LegalReminder.Kind.HEARING, h.held_on, f"{p.court} {p.case_number}, {h.place}", h.pk)


def _preservation(query: DashboardQuery, user: Any) -> QuerySet:
    horizon = _days(query.as_of, max(legal_policy().preservation_reminder_days))
    qs = orders_in_force().filter(expires_on__lte=horizon)
    return (
        narrowed(qs, query, user, branch="proceeding__case__branch", loan="proceeding__case__loan")
        .select_related("proceeding", *_PROCEEDING_CASE)
        .only("expires_on", "kind", "description", *_PROCEEDING_COLUMNS)
        .order_by("expires_on", "id")
    )


def _preservation_row(o, as_of: date) -> Deadline:
    detail = f"{o.get_kind_display()}: {o.description}"
    return _on_case(o.proceeding.case, LegalReminder.Kind.PRESERVATION, o.expires_on, detail, o.pk)


def _enforcement(query: DashboardQuery, user: Any) -> QuerySet:
    horizon = _days(query.as_of, max(legal_policy().enforcement_warning_days))
    qs = enforcement_not_applied().filter(enforcement_deadline__lte=horizon)
    return (
        narrowed(qs, query, user, branch="case__branch", loan="case__loan")
        .select_related("case__loan__borrower", "case__officer")
        .only("court", "case_number", "enforcement_deadline", "awarded_amount", *(f"case__{c}" for c in _CASE_COLUMNS))
        .order_by("enforcement_deadline", "id")
    )


def _enforcement_row(p, as_of: date) -> Deadline:
    detail = f"{p.court} {p.case_number}"
    return _on_case(p.case, LegalReminder.Kind.ENFORCEMENT, p.enforcement_deadline, detail, p.pk, p.awarded_amount)


def _guarantees(query: DashboardQuery, user: Any) -> list[Deadline]:
    """Guarantee periods ending in the window: the query narrows by a slightly wider maturity range
    (the check's), each row is then checked exactly; the window bounds the rows read."""
    as_of = query.as_of
    high = _days(as_of, max(legal_policy().guarantee_warning_days))
    m_low, m_high = guarantee_maturity_range(as_of, high, legal_policy())
    at_risk = guarantees_at_risk(as_of, high)
    # The check's set, read in its two halves so that an index serves each: periods the contract
    # ends (guarantee_term_ends), and the others, by their loan's maturity (loan_maturity_on).
    out = []
    for half in (
        at_risk.filter(term__period_ends_on__range=(as_of, high)),
        at_risk.filter(term__isnull=True, loan__maturity_on__range=(m_low, m_high)),
    ):
        out += _guarantee_rows(narrowed(half, query, user, branch="loan__branch", loan="loan"), as_of, high)
    return out


def _guarantee_rows(qs: QuerySet, as_of: date, high: date) -> list[Deadline]:
    rows = qs.annotate(case_id=open_case_of_loan()).values(
        "pk",
        "amount",
        "contract_ends",
        "case_id",
        maturity=F("loan__maturity_on"),
        loan_no=F("loan__loan_no"),
        borrower=F("loan__borrower__name"),
        guarantor_name=F("guarantor__name"),
        officer_id=F("loan__responsible_officer_id"),
        officer_first=F("loan__responsible_officer__first_name"),
        officer_last=F("loan__responsible_officer__last_name"),
        officer_username=F("loan__responsible_officer__username"),
    )
    out = []
    for r in rows:
        ends = period_ends(r["maturity"], r["contract_ends"])
        if not as_of <= ends <= high:
            continue
        officer = user_display_name(r["officer_first"], r["officer_last"], r["officer_username"])
        out.append(
            Deadline(
                kind=LegalReminder.Kind.GUARANTEE,
                on=ends,
                case_id=r["case_id"],
                loan_no=r["loan_no"],
                borrower=r["borrower"],
                officer_id=r["officer_id"],
                officer=officer,
                detail=r["guarantor_name"],
                amount=r["amount"],
                order=r["pk"],
            )
        )
    return out


# Each kind: its queryset (ordered by its date) and how a row becomes a Deadline.
SOURCES: list[tuple[Callable[[DashboardQuery, Any], QuerySet], Callable[[Any, date], Deadline]]] = [
    (_limitation, _limitation_row),
    (_hearings, _hearing_row),
    (_preservation, _preservation_row),
    (_enforcement, _enforcement_row),
]


def deadlines_running_out(query: DashboardQuery, user: Any, *, for_export: bool = False) -> tuple[list[Deadline], int]:
    """Every kind's deadlines, the earliest first: all for the export; for the page the first
    PAGE_ROWS and how many more there are (each kind reads PAGE_ROWS + 1 rows, counts only if more,
    up to the cap: dashboards.tables.MORE_CAP)."""
    as_of = query.as_of
    found: list[Deadline] = []
    total = 0
    for source, to_row in SOURCES:
        qs = source(query, user)
        rows = list(qs) if for_export else list(qs[: PAGE_ROWS + 1])
        total += capped_count(qs) if len(rows) > PAGE_ROWS else len(rows)
        found += [to_row(obj, as_of) for obj in rows]
    guarantees = _guarantees(query, user)
    total += len(guarantees)
    found += guarantees
    found.sort(key=lambda d: (d.on, d.kind, d.order))
    if for_export:
        return found, 0
    # A kind counted to its cap makes the total "more than MORE_CAP".
    return found[:PAGE_ROWS], min(max(total - PAGE_ROWS, 0), MORE_CAP + 1)


def _kind_label(kind: str) -> str:
    if kind == "limitation":
        return _("Limitation period ends")
    return str(LegalReminder.Kind(kind).label)


@register_table("legal_deadlines")
def legal_deadlines_table(query: DashboardQuery, user: Any, for_export: bool = False) -> DashTable:
    found, more = deadlines_running_out(query, user, for_export=for_export)
    links = officer_links(query, user)
    rows = [
        Row(
            values={
                "kind": _kind_label(d.kind),
                "on": d.on,
                "days_left": days_left(d.on, query.as_of),
                "loan_no": d.loan_no,
                "borrower": d.borrower,
                "officer": d.officer,
                "detail": d.detail,
                "amount": d.amount,
            },
            url=case_url(d.case_id),
            links={**links(d.officer_id), "loan_no": case_url(d.case_id)},
        )
        for d in found
    ]
    return DashTable(
        name="legal_deadlines",
        title=_("Limitation and other legal deadlines running out"),
        columns=[
            Column("kind", _("Kind"), TEXT),
            Column("on", _("Date"), DATE),
            Column("days_left", _("Days left"), COUNT),
            Column("loan_no", _("Loan no."), TEXT),
            Column("borrower", _("Borrower"), TEXT),
            Column("officer", _("Officer"), TEXT),
            Column("detail", _("Details"), TEXT),
            Column("amount", _("Amount"), MONEY),
        ],
        rows=rows,
        empty=_("No legal deadline is running out."),
        more=more,
    )


def context(query: DashboardQuery, user: Any) -> dict:
    return {"table": legal_deadlines_table(query, user)}
