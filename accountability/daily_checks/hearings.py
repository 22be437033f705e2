"""10a. Hearings: the officer is reminded 7 and 1 days (legal policy) before each hearing."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts
from accountability.daily_checks.legal_common import remind_in_windows
from accountability.daily_checks.notify import CaseRecipients
from legal.models import Hearing, LegalReminder
from legal.policy import legal_policy


def hearings_of_open_cases() -> QuerySet:
    """The hearings the reminders (and the dashboard's legal deadlines) look at: those of open cases."""
    return Hearing.objects.filter(proceeding__case__is_open=True)


def check_hearings(*, as_of: date) -> Counts:
    recipients = CaseRecipients()
    return remind_in_windows(
        kind=LegalReminder.Kind.HEARING,
        base=hearings_of_open_cases(),
        due_field="held_on",
        thresholds=legal_policy().hearing_reminder_days,
        as_of=as_of,
        values={
            "pk": "pk",
            "place": "place",
            "proceeding_id": "proceeding_id",
            "court": "proceeding__court",
            "case_number": "proceeding__case_number",
            "loan_no": "proceeding__case__loan__loan_no",
            "officer_id": "proceeding__case__officer_id",
            "branch_id": "proceeding__case__branch_id",
        },
        recipients=lambda r: recipients(officer_id=r["officer_id"], branch_id=r["branch_id"]),
        message=lambda r, left: messages.hearing_reminder(
            loan_no=r["loan_no"],
            on=r["due_on"],
            days_left=left,
            place=r["place"],
            court=r["court"],
            case_number=r["case_number"],
        ),
        url=lambda r: reverse("legal:proceeding_detail", args=[r["proceeding_id"]]),
    )
