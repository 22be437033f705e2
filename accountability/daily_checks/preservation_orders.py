"""10b. Preservation orders: reminders 30 and 7 days (legal policy) before an order expires; an order
that expired neither renewed nor released is flagged to the branch's managers (and the officer)."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts
from accountability.daily_checks.legal_common import flag_lapsed, remind_in_windows
from accountability.daily_checks.notify import CaseRecipients
from legal.models import LegalReminder, PreservationOrder
from legal.policy import legal_policy

_VALUES = {
    "pk": "pk",
    "kind": "kind",
    "description": "description",
    "proceeding_id": "proceeding_id",
    "case_number": "proceeding__case_number",
    "loan_no": "proceeding__case__loan__loan_no",
    "officer_id": "proceeding__case__officer_id",
    "branch_id": "proceeding__case__branch_id",
}


def _order_label(kind: str) -> str:
    return PreservationOrder.Kind(kind).label


def _url(row: dict) -> str:
    return reverse("legal:proceeding_detail", args=[row["proceeding_id"]])


def orders_in_force() -> QuerySet:
    """Orders neither released nor of a closed case: reminded before expiry, flagged once lapsed
    (and listed by the dashboard's legal deadlines)."""
    return PreservationOrder.objects.filter(released_on__isnull=True, proceeding__case__is_open=True)


def check_preservation_orders(*, as_of: date) -> Counts:
    recipients = CaseRecipients()
    in_force = orders_in_force()
    counts = remind_in_windows(
        kind=LegalReminder.Kind.PRESERVATION,
        base=in_force,
        due_field="expires_on",
        thresholds=legal_policy().preservation_reminder_days,
        as_of=as_of,
        values=_VALUES,
        recipients=lambda r: recipients(officer_id=r["officer_id"], branch_id=r["branch_id"]),
        message=lambda r, left: messages.preservation_reminder(
            loan_no=r["loan_no"],
            expires=r["due_on"],
            days_left=left,
            order=_order_label(r["kind"]),
            description=r["description"],
            case_number=r["case_number"],
        ),
        url=_url,
    )
    counts["lapsed"] = flag_lapsed(
        kind=LegalReminder.Kind.PRESERVATION,
        base=in_force,
        due_field="expires_on",
        as_of=as_of,
        values=_VALUES,
        message=lambda r: messages.preservation_lapsed(
            loan_no=r["loan_no"],
            expires=r["due_on"],
            order=_order_label(r["kind"]),
            description=r["description"],
            case_number=r["case_number"],
        ),
        url=_url,
        also=lambda r: [r["officer_id"]] if r["officer_id"] else [],
    )
    return counts
