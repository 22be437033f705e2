from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from ledger.models import LedgerEntry
from loans.classification import NON_PERFORMING_FIVE_CODES
from loans.permissions import is_officer
from reconciliation.models import ReportedFall


def falls_for_user(*, user: Any, status: str = ReportedFall.Status.TO_CLASSIFY) -> QuerySet[ReportedFall]:
    """The falls reported by the book in the user's scope; an officer's are those of their cases."""
    falls = ReportedFall.objects.visible_to(user).filter(status=status)
    if is_officer(user):
        falls = falls.filter(officer=user)
    return falls.select_related("loan", "loan__borrower", "case", "entry", "officer", "classified_by", "branch")


def to_classify_count(*, user: Any) -> int:
    """The "To classify" count of the work queue (one COUNT on a partial index)."""
    return falls_for_user(user=user).count()


def rises_for_user(*, user: Any) -> QuerySet[LedgerEntry]:
    """Rises of a non-performing loan's balance reported by an import (corrections from the book) that
    nobody has acknowledged yet; an officer's are those of their loans and cases."""
    rises = LedgerEntry.objects.visible_to(user).filter(
        kind=LedgerEntry.Kind.BOOK_CORRECTION,
        import_batch__isnull=False,
        loan__five_level_class__in=sorted(NON_PERFORMING_FIVE_CODES),
        rise_acknowledgement__isnull=True,
    )
    if is_officer(user):
        rises = rises.filter(Q(loan__responsible_officer=user) | Q(case__officer=user))
    return rises.select_related("loan", "loan__borrower", "loan__branch", "case", "import_batch").order_by(
        "-value_date", "-id"
    )
