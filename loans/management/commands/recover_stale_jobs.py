from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from npl_recovery.jobs import jobs_recover_stale


class Command(BaseCommand):
    help = (
        "Send again, or fail with the reason, the import batches and daily-check runs that a worker "
        "that is gone left queued or running (a worker also does this as it starts)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", help="the Celery queue to send jobs to again (default: each job's own)")

    def handle(self, *args, queue: str | None = None, **options) -> None:
        recovered = jobs_recover_stale(now=timezone.now(), queue=queue)
        for job in recovered:
            self.stdout.write(str(job))
        requeued = sum(job.outcome == "requeued" for job in recovered)
        self.stdout.write(f"sent again {requeued}, failed {len(recovered) - requeued}")
