"""10e. Time-barred claims: the day after a case's limitation period ended, its officer and the
branch's managers are told once (per end date: a later acknowledgement moves it)."""

from __future__ import annotations

from datetime import date

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts
from accountability.daily_checks.legal_common import flag_lapsed
from accountability.daily_checks.limitation import open_claims
from accountability.daily_checks.notify import case_url
from legal.models import LegalReminder


def check_time_barred(*, as_of: date) -> Counts:
    return {
        "time_barred": flag_lapsed(
            kind=LegalReminder.Kind.TIME_BARRED,
            base=open_claims(),
            due_field="limitation_expires_on",
            as_of=as_of,
            values={
                "pk": "pk",
                "starts": "limitation_starts_on",
                "loan_no": "loan__loan_no",
                "officer_id": "officer_id",
                "branch_id": "branch_id",
            },
            message=lambda r: messages.time_barred(loan_no=r["loan_no"], expires=r["due_on"], starts=r["starts"]),
            url=lambda r: case_url(r["pk"]),
            also=lambda r: [r["officer_id"]] if r["officer_id"] else [],
        )
    }
