"""5. Promises to pay: due today, and broken."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Exists, OuterRef

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts, _in_batches
from accountability.daily_checks.notify import CaseRecipients, case_url
from accountability.models import PromiseAlert
from collections_app.models import PromiseToPay
from collections_app.selectors import promises_due_unpaid
from collections_app.services import promises_mark_broken
from notifications.services import NotificationDraft, notifications_send


def check_promises(*, as_of: date) -> Counts:
    """Promises due today (the officer is told) and promises past due unpaid (marked broken)."""
    due_today = PromiseToPay.objects.filter(status=PromiseToPay.Status.OPEN, due_on=as_of, case__is_open=True).exclude(
        Exists(PromiseAlert.objects.filter(promise=OuterRef("pk"), event=PromiseAlert.Event.DUE))
    )

    def handle_due(ids: list[int]) -> int:
        rows = list(
            due_today.filter(pk__in=ids).values_list(
                "pk", "case_id", "amount", "amount_paid", "case__officer_id", "case__branch_id", "case__loan__loan_no"
            )
        )
        PromiseAlert.objects.bulk_create(
            [PromiseAlert(promise_id=r[0], case_id=r[1], event=PromiseAlert.Event.DUE, found_on=as_of) for r in rows]
        )
        notifications_send(drafts=_promise_drafts(rows, "due"))
        return len(rows)

    broken_candidates = promises_due_unpaid(as_of=as_of).filter(case__is_open=True)

    def handle_broken(ids: list[int]) -> int:
        marked = promises_mark_broken(
            promise_ids=broken_candidates.filter(pk__in=ids).values_list("pk", flat=True), actor=None, as_of=as_of
        )
        rows = list(
            PromiseToPay.objects.filter(pk__in=marked).values_list(
                "pk", "case_id", "amount", "amount_paid", "case__officer_id", "case__branch_id", "case__loan__loan_no"
            )
        )
        PromiseAlert.objects.bulk_create(
            [
                PromiseAlert(promise_id=r[0], case_id=r[1], event=PromiseAlert.Event.BROKEN, found_on=as_of)
                for r in rows
            ],
            ignore_conflicts=True,
        )
        notifications_send(drafts=_promise_drafts(rows, "broken"))
        return len(rows)

    return {
        "due_today": _in_batches(lambda after: due_today, handle_due),
        "broken": _in_batches(lambda after: broken_candidates, handle_broken),
    }


def _promise_drafts(rows: Iterable[tuple], event: str) -> list[NotificationDraft]:
    recipients = CaseRecipients()
    drafts = []
    for pk, case_id, amount, paid, officer_id, branch_id, loan_no in rows:
        message = messages.promise(event=event, loan_no=loan_no, amount=amount, paid=paid)
        drafts += [
            NotificationDraft(
                recipient_id=r,
                kind=f"promise.{event}",
                key=f"promise.{event}:{pk}:{r}",
                title=message.title,
                body=message.body,
                url=case_url(case_id),
            )
            for r in recipients(officer_id=officer_id, branch_id=branch_id)
        ]
    return drafts
