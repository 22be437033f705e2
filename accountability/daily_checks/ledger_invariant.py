"""10. The ledger invariant: every loan's balance is its opening balance plus its ledger entries."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db import transaction
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts
from accountability.daily_checks.notify import notify_managers_per_branch
from ledger.selectors import invariant_breach_rows
from loans.models import User
from loans.permissions import Role
from notifications.services import NotificationDraft, notifications_send

# How many loan numbers the run's record names (the rest are counted).
NAMED = 20


def check_ledger_invariant(*, as_of: date) -> Counts:
    """Loans whose balance (outstanding principal, interest on and off the balance sheet) is not the
    sum of their ledger entries: a change that went round the ledger. Reported, never corrected: one
    message per manager of their branches and per administrator and day (a rerun adds none)."""
    rows = invariant_breach_rows()
    if not rows:
        return {"breaches": 0, "notified": 0}
    per_branch = Counter(branch_id for _, branch_id, _ in rows)
    key = f"ledger_invariant:{as_of.isoformat()}"
    url = reverse("loans:loan_list")
    notified = notify_managers_per_branch(
        dict(per_branch),
        kind="ledger.invariant",
        key=key,
        message=lambda n: messages.ledger_invariant(count=n, as_of=as_of),
        url=url,
    )
    admins = list(User.objects.filter(role=Role.ADMIN, is_active=True).values_list("pk", flat=True))
    message = messages.ledger_invariant(count=len(rows), as_of=as_of)
    with transaction.atomic():
        notified += notifications_send(
            drafts=[
                NotificationDraft(
                    recipient_id=admin_id,
                    kind="ledger.invariant",
                    key=f"{key}:admin:{admin_id}",
                    title=message.title,
                    body=message.body,
                    url=url,
                )
                for admin_id in admins
            ]
        )
    return {"breaches": len(rows), "loans": [loan_no for _, _, loan_no in rows[:NAMED]], "notified": notified}
