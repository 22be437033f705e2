"""The dashboards' kept figures: the cells the database triggers keep (dashboards/triggers.py)
compared with their definition (dashboards.kept.rebuild), table by table, in one snapshot. Cells that
differ are counted and the first few named in the run's record; the cells are then rebuilt (in the
same snapshot, so no change a writer commits meanwhile is lost) and the administrators are told:
a difference means a write the triggers did not see (a trigger dropped, a manual edit of a cell)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.urls import reverse

from accountability.daily_checks import messages
from accountability.daily_checks.batching import Counts
from dashboards.maintain import NAMED, check_and_repair
from loans.models import User
from loans.permissions import Role
from notifications.services import NotificationDraft, notifications_send


def check_kept_figures(*, as_of: date) -> Counts:
    comparison, repaired = check_and_repair()
    counts: Counts = {
        "cells": comparison.cells,
        "differences": len(comparison.differences),
        "per_table": comparison.per_table,
        "first": [d.as_json() for d in comparison.differences[:NAMED]],
        "repaired": repaired,
        "notified": 0,
    }
    if not repaired:
        return counts
    message = messages.kept_figures(count=len(comparison.differences), as_of=as_of)
    admins = User.objects.filter(role=Role.ADMIN, is_active=True).values_list("pk", flat=True)
    with transaction.atomic():
        counts["notified"] = notifications_send(
            drafts=[
                NotificationDraft(
                    recipient_id=admin_id,
                    kind="dashboards.kept_figures",
                    key=f"kept_figures:{as_of.isoformat()}:admin:{admin_id}",
                    title=message.title,
                    body=message.body,
                    url=reverse("dashboard"),
                )
                for admin_id in admins
            ]
        )
    return counts
