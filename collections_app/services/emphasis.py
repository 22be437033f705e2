"""The guideline's emphasis on open cases (the queue's first order), kept set-based.

case_rules.case_emphasis is the rule; selectors.emphasis_conditions is the same rule as SQL, which
these writes use. Set at opening (services/opening.py), refreshed here when a loan's class changes
(the reclassification signal, collections_app/receivers.py) or a borrower's insider flag changes
(loans.services.borrower_update sends borrower_flags_changed).
"""

from __future__ import annotations

from collections.abc import Iterable

from collections_app.models import CollectionCase
from collections_app.selectors import emphasis_conditions
from npl_recovery.db import filter_ids


def cases_refresh_emphasis(*, loan_ids: Iterable[int] | None = None, borrower_id: int | None = None) -> int:
    """Set the emphasis of the open cases of these loans (or of this borrower's loans, or of every
    open case) from their loans: one UPDATE per value, touching only rows whose emphasis changes.
    Returns how many changed."""
    cases = CollectionCase.objects.filter(is_open=True)
    if loan_ids is not None:
        loan_ids = sorted(set(loan_ids))
        if not loan_ids:
            return 0
        # One array parameter however many loans (an import announces 100,000 new loans at once).
        cases = filter_ids(cases, "loan_id", loan_ids)
    if borrower_id is not None:
        cases = cases.filter(loan__borrower_id=borrower_id)
    changed = 0
    for value, condition in emphasis_conditions("loan__"):
        changed += cases.filter(condition).exclude(emphasis=value).update(emphasis=value)
    return changed
