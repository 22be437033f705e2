"""8. The prevention watch list: performing loans that may turn bad."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Max, Q
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts, _chunks, batch_size
from accountability.models import WatchListEntry
from accountability.policy import accountability_policy
from accountability.rules import WatchFacts, watch_reasons
from loans.classification import FiveLevel, days_past_due
from loans.models import ClassificationChange, Loan
from loans.policy import classification_policy
from notifications.services import NotificationDraft, notifications_send
from npl_recovery.db import analyze_after_bulk_write


def check_watch_list(*, as_of: date) -> Counts:
    """Normal and special-mention loans that may turn bad (early days past due, close to
    substandard, recently downgraded), one row per loan for the day; older days are pruned."""
    policy = accountability_policy()
    substandard_after = classification_policy().substandard_after_days
    keep_from = as_of - timedelta(days=policy.watch_list_keep_days)
    pruned, _ = WatchListEntry.objects.filter(as_of__lt=keep_from).delete()
    previous_day = WatchListEntry.objects.filter(as_of__lt=as_of).aggregate(d=Max("as_of"))["d"]
    drift_since = as_of - timedelta(days=policy.watch_drift_days)
    performing = [FiveLevel.NORMAL.value, FiveLevel.SPECIAL_MENTION.value]
    columns = (
        "pk",
        "branch_id",
        "responsible_officer_id",
        "five_level_class",
        "overdue_since",
        "outstanding_principal",
    )

    # Every downgrade from normal to special mention in the drift window, once (small: a window's
    # worth of downgrades, not the book).
    downgraded_on = dict(
        ClassificationChange.objects.filter(
            scheme=ClassificationChange.Scheme.FIVE_LEVEL,
            from_class=FiveLevel.NORMAL,
            to_class=FiveLevel.SPECIAL_MENTION,
            as_of__range=(drift_since, as_of),
        )
        .order_by()
        .values("loan_id")
        .annotate(on=Max("as_of"))
        .values_list("loan_id", "on")
    )

    def store(rows: list[tuple]) -> int:
        ids = [r[0] for r in rows]
        # A rerun (or a second worker) skips what is on today's list already.
        done = set(WatchListEntry.objects.filter(as_of=as_of, loan_id__in=ids).values_list("loan_id", flat=True))
        first_seen = {}
        if previous_day is not None:
            first_seen = dict(
                WatchListEntry.objects.filter(as_of=previous_day, loan_id__in=ids).values_list(
                    "loan_id", "first_seen_on"
                )
            )
        entries = []
        for pk, branch_id, officer_id, five, overdue_since, outstanding in rows:
            if pk in done:
                continue
            dpd = days_past_due(overdue_since, as_of)
            reasons = watch_reasons(
                WatchFacts(five, dpd, downgraded_on.get(pk)), as_of, policy, substandard_after_days=substandard_after
            )
            if reasons:
                entries.append(
                    WatchListEntry(
                        as_of=as_of,
                        loan_id=pk,
                        branch_id=branch_id,
                        officer_id=officer_id,
                        five_level_class=five,
                        days_past_due=dpd,
                        outstanding_principal=outstanding,
                        reasons=",".join(reasons),
                        first_seen_on=first_seen.get(pk, as_of),
                    )
                )
        with transaction.atomic():
            WatchListEntry.objects.bulk_create(entries, ignore_conflicts=True)
        return len(entries)

    added, last_id, size = 0, 0, max(batch_size(), 5000)
    overdue = Loan.objects.filter(five_level_class__in=performing, overdue_since__lt=as_of)
    while True:
        rows = list(overdue.filter(pk__gt=last_id).order_by("pk").values_list(*columns)[:size])
        if not rows:
            break
        last_id = rows[-1][0]
        added += store(rows)
    # Downgraded by a manager's judgement without being overdue.
    for chunk in _chunks(sorted(downgraded_on), size):
        rows = list(
            Loan.objects.filter(pk__in=chunk, five_level_class=FiveLevel.SPECIAL_MENTION)
            .filter(Q(overdue_since__isnull=True) | Q(overdue_since__gte=as_of))
            .values_list(*columns)
        )
        if rows:
            added += store(rows)
    # The page and the notices below read today's rows: plan them on statistics that know them.
    analyze_after_bulk_write(WatchListEntry._meta.db_table, rows=added + pruned)
    listed = WatchListEntry.objects.filter(as_of=as_of).count()
    told = _notify_officers_of_watch_list(as_of)
    return {"listed": listed, "added": added, "officers_told": told, "pruned": pruned}


def _notify_officers_of_watch_list(as_of: date) -> int:
    new_per_officer = list(
        WatchListEntry.objects.filter(as_of=as_of, first_seen_on=as_of, officer__isnull=False)
        .order_by()
        .values("officer_id")
        .annotate(n=Count("id"))
        .values_list("officer_id", "n")
    )
    url = reverse("accountability:prevention") + "?mine=1"
    with transaction.atomic():
        drafts = []
        for officer_id, n in new_per_officer:
            message = messages.watch_list_for_officer(count=n)
            drafts.append(
                NotificationDraft(
                    recipient_id=officer_id,
                    kind="watch_list.new",
                    key=f"watch_list:{as_of.isoformat()}:{officer_id}",
                    title=message.title,
                    body=message.body,
                    url=url,
                    email=False,
                )
            )
        notifications_send(drafts=drafts)
    return len(new_per_officer)
