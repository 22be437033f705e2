"""Claiming and batching: how every check stays correct when rerun, killed or run twice at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

Counts = dict[str, Any]


def batch_size() -> int:
    return int(getattr(settings, "NPL_DAILY_CHECKS_BATCH_SIZE", 1000))


def _claim(queryset: QuerySet, *, after: int, size: int) -> list[int]:
    """Ids of the next rows nobody else holds, locked until this transaction ends.

    FOR NO KEY UPDATE (not FOR UPDATE) so inserts that reference the rows are not blocked;
    SKIP LOCKED so a second worker takes the next rows. SQLite has no row locks: its writers are
    serialised (IMMEDIATE transactions), which is as safe.
    """
    return list(
        queryset.filter(pk__gt=after)
        .order_by("pk")
        .select_for_update(skip_locked=True, of=("self",), no_key=True)
        .values_list("pk", flat=True)[:size]
    )


def _in_batches(
    candidates: Callable[[int], QuerySet], handle: Callable[[list[int]], int], *, size: int | None = None
) -> int:
    """Claim and handle the candidates batch by batch, each batch in its own transaction.

    `candidates(after)` is the queryset of rows still to do with an id above `after` (its "no result
    yet" subquery narrowed the same way, so each claim reads one batch's worth, not everything done
    so far). `handle(ids)` re-reads the claimed rows through it (a fresh snapshot, under the lock)
    and returns how many results it produced.
    """
    size = size or batch_size()
    done, last_id = 0, 0
    while True:
        with transaction.atomic():
            ids = _claim(candidates(last_id), after=last_id, size=size)
            if not ids:
                return done
            last_id = ids[-1]
            done += handle(ids)


def _chunks(values: list, size: int = 1000) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
