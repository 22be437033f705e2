"""Reactions to other apps' signals."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.dispatch import receiver

from collections_app.services import cases_open_for_non_performing
from collections_app.services.emphasis import cases_refresh_emphasis
from loans.signals import borrower_flags_changed, loans_reclassified


@receiver(loans_reclassified, dispatch_uid="collections_open_cases_for_new_npls")
def open_cases_for_new_npls(
    sender: Any,
    *,
    as_of: date,
    actor: Any = None,
    became_non_performing: list[int] = (),
    class_changed: list[int] = (),
    **kwargs: Any,
) -> None:
    """A loan that became non-performing under either scheme gets its case (sent on commit, so the
    class is saved); open cases of loans whose class changed get their emphasis again. The opener
    keeps only the loans in the case classes (selectors.loans_needing_a_case)."""
    candidates = sorted({*became_non_performing, *class_changed})
    if candidates:
        cases_open_for_non_performing(as_of=as_of, actor=actor, loan_ids=candidates)
    if class_changed:
        cases_refresh_emphasis(loan_ids=class_changed)


@receiver(borrower_flags_changed, dispatch_uid="collections_emphasis_on_borrower_flags")
def emphasis_on_borrower_flags(sender: Any, *, borrower_id: int, **kwargs: Any) -> None:
    """An insider flag set or cleared moves the borrower's open cases in the queue."""
    cases_refresh_emphasis(borrower_id=borrower_id)
