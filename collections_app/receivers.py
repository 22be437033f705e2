"""Reactions to other apps' signals."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.dispatch import receiver

from collections_app.services import cases_open_for_non_performing
from loans.signals import loans_reclassified


@receiver(loans_reclassified, dispatch_uid="collections_open_cases_for_new_npls")
def open_cases_for_new_npls(
    sender: Any, *, as_of: date, actor: Any = None, became_non_performing: list[int] = (), **kwargs: Any
) -> None:
    """A loan that became non-performing gets its case (sent on commit, so the class is saved)."""
    if became_non_performing:
        cases_open_for_non_performing(as_of=as_of, actor=actor, loan_ids=became_non_performing)
