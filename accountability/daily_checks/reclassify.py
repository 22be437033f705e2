"""1. Reclassify the book, open a case for every new NPL, give each new case its first division."""

from __future__ import annotations

from datetime import date

from accountability.daily_checks.batching import Counts
from accountability.models import DailyCheckRun
from accountability.services import responsibility_assign_defaults
from collections_app.services import cases_open_for_non_performing
from loans.services import loans_reclassify


def check_reclassify(*, as_of: date, run: DailyCheckRun | None = None) -> Counts:
    """Classify every loan, open a case for every new NPL, give each new case its first division.

    `run` (the DailyCheckRun recording this run) is the subject of the first divisions' audit event.
    """
    result = loans_reclassify(as_of=as_of)
    opened = cases_open_for_non_performing(as_of=as_of)
    divisions = responsibility_assign_defaults(as_of=as_of, run=run)
    return {
        "loans_examined": result.examined,
        "loans_changed": result.changed,
        "became_non_performing": len(result.became_non_performing),
        "left_non_performing": len(result.left_non_performing),
        "cases_opened": opened,
        "divisions_created": divisions,
    }
