"""The dates the work queue orders by: next promise due, limitation period and urgency."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Max, Min, OuterRef, Subquery

from collections_app.case_rules import limitation_expires, limitation_start, urgency_date
from collections_app.models import CollectionCase, Contact, LegalProceeding, Notice, PromiseToPay, Recovery
from collections_app.policy import collection_policy
from loans.models import Loan
from npl_recovery.db import filter_ids


def _limitation_inputs(loan_id_ref: Any) -> dict[str, Any]:
    """Subqueries for the latest payment, signed notice, written acknowledgement, suit filed and
    enforcement applied for on a loan: what restarts the limitation period (case_rules.limitation_start)."""
    return {
        "last_recovery": Subquery(
            Recovery.objects.filter(case__loan=loan_id_ref)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("received_on"))
            .values("d")[:1]
        ),
        "last_signed_notice": Subquery(
            Notice.objects.filter(case__loan=loan_id_ref, signed_acknowledgement=True)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("served_on"))
            .values("d")[:1]
        ),
        "last_acknowledgement": Subquery(
            Contact.objects.filter(case__loan=loan_id_ref, debt_acknowledged=True)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("contacted_on"))
            .values("d")[:1]
        ),
        "last_suit_filed": Subquery(
            LegalProceeding.objects.filter(case__loan=loan_id_ref)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("filed_on"))
            .values("d")[:1]
        ),
        "last_enforcement_applied": Subquery(
            LegalProceeding.objects.filter(case__loan=loan_id_ref, enforcement_applied_on__isnull=False)
            .order_by()
            .values("case__loan")
            .annotate(d=Max("enforcement_applied_on"))
            .values("d")[:1]
        ),
    }


def cases_refresh_dates(*, case_ids: Iterable[int] | None = None, batch_size: int = 2000) -> int:
    """Recompute next promise due, limitation dates and urgency of open cases; returns rows changed.

    The services call it for the case they touch; the daily checks may call it for every open case
    (the loan's overdue date can change through an import). Set-based reads, bulk writes.
    """
    policy = collection_policy()
    base = CollectionCase.objects.filter(is_open=True)
    if case_ids is not None:
        base = filter_ids(base, "pk", case_ids)
    changed = 0
    last_id = 0
    while True:
        rows = list(
            base.filter(pk__gt=last_id)
            .order_by("pk")
            .annotate(
                overdue_since=Subquery(Loan.objects.filter(pk=OuterRef("loan_id")).values("overdue_since")[:1]),
                promise_due=Subquery(
                    PromiseToPay.objects.filter(case=OuterRef("pk"), status=PromiseToPay.Status.OPEN)
                    .order_by()
                    .values("case")
                    .annotate(d=Min("due_on"))
                    .values("d")[:1]
                ),
                **_limitation_inputs(OuterRef("loan_id")),
            )[:batch_size]
        )
        if not rows:
            break
        last_id = rows[-1].pk
        updates = []
        for case in rows:
            start = limitation_start(
                overdue_since=case.overdue_since,
                last_recovery_on=case.last_recovery,
                last_signed_notice_on=case.last_signed_notice,
                last_acknowledgement_on=case.last_acknowledgement,
                last_suit_filed_on=case.last_suit_filed,
                last_enforcement_applied_on=case.last_enforcement_applied,
            )
            expires = limitation_expires(start, policy)
            urgency = urgency_date(case.recovery_deadline, case.promise_due, expires)
            new = (case.promise_due, start, expires, urgency)
            if new != (case.next_promise_due, case.limitation_starts_on, case.limitation_expires_on, case.urgency_on):
                case.next_promise_due, case.limitation_starts_on, case.limitation_expires_on, case.urgency_on = new
                updates.append(case)
        if updates:
            # Plain UPDATEs of the date columns: the measure is not touched, so no state check is needed.
            for case in updates:
                CollectionCase.objects.filter(pk=case.pk).update(
                    next_promise_due=case.next_promise_due,
                    limitation_starts_on=case.limitation_starts_on,
                    limitation_expires_on=case.limitation_expires_on,
                    urgency_on=case.urgency_on,
                )
            changed += len(updates)
    return changed


def _refresh_dates(case: CollectionCase) -> None:
    cases_refresh_dates(case_ids=[case.pk])
