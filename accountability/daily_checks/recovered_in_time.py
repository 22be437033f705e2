"""4. Recovered within the time limit: the rewards a lost message left unproposed (catch-up)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Exists, F, OuterRef

from accountability.daily_checks.batching import Counts
from accountability.models import AccountabilityRecord, RecordOrigin, ResponsibilityAssignment
from accountability.policy import accountability_policy
from accountability.services import case_recovered_in_time
from collections_app.case_rules import Measure
from collections_app.models import CollectionCase


def check_recovered_in_time(*, as_of: date) -> Counts:
    """Cases recovered within their time limit whose rewards were not proposed yet (the recovery
    itself triggers it at once; this catches anything missed, e.g. a lost message)."""
    lookback = as_of - timedelta(days=accountability_policy().reward_lookback_days)
    candidates = (
        ResponsibilityAssignment.objects.filter(
            ended_on__isnull=True,
            case__measure=Measure.RECOVERED,
            case__ended_on__gte=lookback,
            case__ended_on__lte=as_of,
        )
        .filter(case__ended_on__lte=F("recovery_deadline"))
        .exclude(
            Exists(
                AccountabilityRecord.objects.filter(assignment=OuterRef("pk"), origin=RecordOrigin.RECOVERED_IN_TIME)
            )
        )
    )
    cases = list(candidates.values_list("case_id", flat=True))
    proposed = 0
    for case_id in cases:
        proposed += len(case_recovered_in_time(case=CollectionCase(pk=case_id), as_of=as_of))
    return {"cases": len(cases), "rewards_proposed": proposed}
