"""Celery beat's schedule for the daily checks, in code. The time of day is settings.NPL_DAILY_CHECKS_AT.

Installed by AccountabilityConfig.ready() into the Celery app's beat_schedule. Times below are for
the default 02:30 (TIME_ZONE); they move with the setting.
"""

from __future__ import annotations

import re

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from accountability.daily_checks import CHECKS

# A daily check still queued this long after beat sent it is dropped: the next day's run covers it
# (every check catches up on what a skipped day left).
EXPIRES_SECONDS = 20 * 3600


def parse_time_of_day(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value or "")
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ImproperlyConfigured(f"NPL_DAILY_CHECKS_AT must be a time of day HH:MM, got {value!r}")
    return int(match[1]), int(match[2])


def daily_checks_schedule(at: str) -> dict[str, dict]:
    hour, minute = parse_time_of_day(at)

    def after(minutes: int) -> crontab:
        total = (hour * 60 + minute + minutes) % (24 * 60)
        return crontab(hour=total // 60, minute=total % 60)

    def entry(check: str, minutes: int, **kwargs: int) -> dict:
        return {
            "task": CHECKS[check].task_name,
            "schedule": after(minutes),
            "kwargs": kwargs,
            "options": {"expires": EXPIRES_SECONDS},
        }

    return {
        # 02:30: the month-end snapshot for yesterday, before today's reclassification changes the
        # classes; it writes only when yesterday was a month's last day.
        "daily-month-end-snapshot": entry("month_end_snapshot", 0, days_ago=1),
        # 02:35: reclassify the whole book, open a case for every new NPL, give each new case its
        # first division of responsibility.
        "daily-reclassify": entry("reclassify", 5),
        # 02:50, after the reclassification (each waits for it if it is still running):
        # reminders 30/7/1 days before a time limit,
        "daily-deadline-reminders": entry("deadline_reminders", 20),
        # missed time limits: sanctions proposed, managers told,
        "daily-deadline-missed": entry("deadline_missed", 20),
        # rewards for cases recovered within their time limit (catch-up of the immediate trigger),
        "daily-recovered-in-time": entry("recovered_in_time", 20),
        # promises to pay due today and broken,
        "daily-promises": entry("promises", 20),
        # limitation-period warnings 90/30 days before a claim runs out,
        "daily-limitation": entry("limitation", 20),
        # claims that became time-barred yesterday,
        "daily-time-barred": entry("time_barred", 20),
        # hearings 7/1 days ahead, preservation orders expiring (30/7 days) or lapsed,
        "daily-hearings": entry("hearings", 20),
        "daily-preservation-orders": entry("preservation_orders", 20),
        # enforcement application deadlines (60/30/7 days, missed), guarantee periods (60/30/7 days, lapsed),
        "daily-enforcement-deadlines": entry("enforcement_deadlines", 20),
        "daily-guarantee-periods": entry("guarantee_periods", 20),
        # the "loans by loans" detector,
        "daily-loans-by-loans": entry("loans_by_loans", 20),
        # the prevention watch list,
        "daily-watch-list": entry("watch_list", 20),
        # and the ledger invariant (every balance explained by its entries).
        "daily-ledger-invariant": entry("ledger_invariant", 20),
        # and the dashboards' kept figures (equal to their definition; rebuilt when not).
        "daily-kept-figures": entry("kept_figures", 20),
        # Every 10 minutes: jobs a gone worker left queued or running, sent again or failed
        # (npl_recovery/jobs.py; a worker also does it as it starts).
        "recover-stale-jobs": {
            "task": "npl_recovery.recover_stale_jobs",
            "schedule": crontab(minute="*/10"),
            "options": {"expires": 540},
        },
        # Daily, after the checks: export files older than NPL_EXPORT_KEEP_DAYS deleted.
        "export-files-purge": {
            "task": "loans.tasks.export_jobs_purge",
            "schedule": after(90),
            "options": {"expires": EXPIRES_SECONDS},
        },
        # Every 5 minutes: notification e-mails whose hand-off after commit was lost.
        "notifications-outbox": {
            "task": "notifications.tasks.send_pending_emails",
            "schedule": crontab(minute="*/5"),
            "options": {"expires": 240},
        },
    }
