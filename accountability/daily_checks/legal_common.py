"""What the legal checks share: reminders in windows before a due date, and the flag once it has passed.

Each reminder is a `legal.LegalReminder` row (kind, object, window, due date: its unique key) written
in the same batch transaction as its notifications, so a rerun or a second worker sends nothing twice;
a new due date (a renewal, a new acknowledgement) starts the reminders again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db.models import Exists, F, OuterRef, QuerySet

from accountability.daily_checks.batching import Counts, _in_batches
from accountability.daily_checks.messages import Message
from accountability.directory import ManagerDirectory
from accountability.rules import days_left, threshold_window
from legal.models import LegalReminder
from notifications.services import NotificationDraft, notifications_send


def _not_sent(kind: str, days_before: int, due_field: str, after: int) -> Exists:
    return Exists(
        LegalReminder.objects.filter(
            kind=kind,
            object_id=OuterRef("pk"),
            object_id__gt=after,
            days_before=days_before,
            due_on=OuterRef(due_field),
        )
    )


def _record_and_send(
    kind: str, days_before: int, as_of: date, rows: list[dict], drafts: list[NotificationDraft]
) -> int:
    LegalReminder.objects.bulk_create(
        [
            LegalReminder(
                kind=kind,
                object_id=r["pk"],
                days_before=days_before,
                due_on=r["due_on"],
                branch_id=r["branch_id"],
                sent_on=as_of,
            )
            for r in rows
        ],
        ignore_conflicts=True,
    )
    notifications_send(drafts=drafts)
    return len(rows)


def remind_in_windows(
    *,
    kind: str,
    base: QuerySet,
    due_field: str,
    thresholds: tuple[int, ...],
    as_of: date,
    values: dict[str, str],
    recipients: Callable[[dict], list[int]],
    message: Callable[[dict, int], Message],
    url: Callable[[dict], str],
) -> Counts:
    """One reminder per thing and window: `thresholds` days before its `due_field` (a skipped day is
    caught up with the most urgent window only). `values` names what each row needs (with `branch_id`)."""
    counts: Counts = {}
    for threshold in thresholds:
        low, high = threshold_window(threshold, thresholds, as_of)

        def candidates(after: int, threshold: int = threshold, low: date = low, high: date = high) -> QuerySet:
            return base.filter(pk__gt=after, **{f"{due_field}__range": (low, high)}).exclude(
                _not_sent(kind, threshold, due_field, after)
            )

        def handle(ids: list[int], threshold: int = threshold, candidates: Callable = candidates) -> int:
            rows = _rows(candidates(ids[0] - 1).filter(pk__in=ids), due_field, values)
            drafts = []
            for row in rows:
                msg = message(row, days_left(row["due_on"], as_of))
                drafts += [
                    NotificationDraft(
                        recipient_id=r,
                        kind=f"{kind}.reminder",
                        key=f"{kind}.reminder:{row['pk']}:{threshold}:{row['due_on'].isoformat()}:{r}",
                        title=msg.title,
                        body=msg.body,
                        url=url(row),
                    )
                    for r in recipients(row)
                ]
            return _record_and_send(kind, threshold, as_of, rows, drafts)

        counts[f"reminders_{threshold}_days"] = _in_batches(candidates, handle)
    return counts


def flag_lapsed(
    *,
    kind: str,
    base: QuerySet,
    due_field: str,
    as_of: date,
    values: dict[str, str],
    message: Callable[[dict], Message],
    url: Callable[[dict], str],
    also: Callable[[dict], list[int]] | None = None,
) -> int:
    """Once `due_field` has passed (the day after it), tell the managers of the branch (and `also`) once."""
    directory: list[ManagerDirectory] = []

    def managers(branch_id: int) -> list[int]:
        if not directory:
            directory.append(ManagerDirectory.build())
        return directory[0].for_branch(branch_id)

    def candidates(after: int) -> QuerySet:
        return base.filter(pk__gt=after, **{f"{due_field}__lt": as_of}).exclude(
            _not_sent(kind, LegalReminder.LAPSED, due_field, after)
        )

    def handle(ids: list[int]) -> int:
        rows = _rows(candidates(ids[0] - 1).filter(pk__in=ids), due_field, values)
        drafts = []
        for row in rows:
            msg = message(row)
            people = dict.fromkeys([*managers(row["branch_id"]), *(also(row) if also else [])])
            drafts += [
                NotificationDraft(
                    recipient_id=r,
                    kind=f"{kind}.lapsed",
                    key=f"{kind}.lapsed:{row['pk']}:{row['due_on'].isoformat()}:{r}",
                    title=msg.title,
                    body=msg.body,
                    url=url(row),
                )
                for r in people
            ]
        return _record_and_send(kind, LegalReminder.LAPSED, as_of, rows, drafts)

    return _in_batches(candidates, handle)


def _rows(queryset: QuerySet, due_field: str, values: dict[str, str]) -> list[dict]:
    """The rows as dicts: `values` maps each name to its lookup (the same name: a field of the model)."""
    plain = [name for name, lookup in values.items() if name == lookup]
    renamed = {name: F(lookup) for name, lookup in values.items() if name != lookup}
    return list(queryset.values(*plain, due_on=F(due_field), **renamed))
