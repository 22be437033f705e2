"""10c. Enforcement deadlines: warnings 60, 30 and 7 days (legal policy) before the last day to apply
for enforcement of a decision; once it has passed without an application, the managers are told."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts
from accountability.daily_checks.legal_common import flag_lapsed, remind_in_windows
from accountability.daily_checks.notify import CaseRecipients
from collections_app.models import LegalProceeding
from legal.models import LegalReminder
from legal.policy import legal_policy

_VALUES = {
    "pk": "pk",
    "case_number": "case_number",
    "performance": "performance_deadline",
    "loan_no": "case__loan__loan_no",
    "officer_id": "case__officer_id",
    "branch_id": "case__branch_id",
}


def _url(row: dict) -> str:
    return reverse("legal:proceeding_detail", args=[row["pk"]])


def enforcement_not_applied() -> QuerySet:
    """Decisions of open cases with an enforcement application deadline and no application yet:
    warned before the deadline, flagged once missed (and listed by the dashboard's legal deadlines)."""
    return LegalProceeding.objects.filter(
        enforcement_applied_on__isnull=True, enforcement_deadline__isnull=False, case__is_open=True
    )


def check_enforcement_deadlines(*, as_of: date) -> Counts:
    recipients = CaseRecipients()
    not_applied = enforcement_not_applied()
    counts = remind_in_windows(
        kind=LegalReminder.Kind.ENFORCEMENT,
        base=not_applied,
        due_field="enforcement_deadline",
        thresholds=legal_policy().enforcement_warning_days,
        as_of=as_of,
        values=_VALUES,
        recipients=lambda r: recipients(officer_id=r["officer_id"], branch_id=r["branch_id"]),
        message=lambda r, left: messages.enforcement_warning(
            loan_no=r["loan_no"],
            deadline=r["due_on"],
            days_left=left,
            performance=r["performance"],
            case_number=r["case_number"],
        ),
        url=_url,
    )
    counts["missed"] = flag_lapsed(
        kind=LegalReminder.Kind.ENFORCEMENT,
        base=not_applied,
        due_field="enforcement_deadline",
        as_of=as_of,
        values=_VALUES,
        message=lambda r: messages.enforcement_missed(
            loan_no=r["loan_no"], deadline=r["due_on"], case_number=r["case_number"]
        ),
        url=_url,
        also=lambda r: [r["officer_id"]] if r["officer_id"] else [],
    )
    return counts
