"""`python manage.py run_daily_checks --as-of YYYY-MM-DD [--only NAME]`: the daily checks, for
backfills and for banks that schedule with cron instead of Celery beat."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accountability.daily_checks import CHECKS, check_run
from accountability.tasks import checks_chain


class Command(BaseCommand):
    help = "Run the daily checks for a business date (all of them in order, or only some)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="The business date, YYYY-MM-DD (default: today).")
        parser.add_argument(
            "--only",
            action="append",
            metavar="NAME",
            help=f"Run only this check (repeat or separate with commas). Checks: {', '.join(CHECKS)}.",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Send the checks to the Celery workers (as a chain, in order) instead of running them here.",
        )

    def handle(self, *args, **options) -> None:
        try:
            as_of = date.fromisoformat(options["as_of"]) if options["as_of"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--as-of must be a date YYYY-MM-DD, got {options['as_of']!r}") from exc
        only = [n.strip() for value in options["only"] or [] for n in value.split(",") if n.strip()]
        unknown = [n for n in only if n not in CHECKS]
        if unknown:
            raise CommandError(f"Unknown check(s) {', '.join(unknown)}; the checks are: {', '.join(CHECKS)}")
        names = [n for n in CHECKS if not only or n in only]
        if options["queue"]:
            result = checks_chain(as_of=as_of, only=names).apply_async()
            self.stdout.write(f"Queued {len(names)} check(s) as of {as_of}: {', '.join(names)} (task {result.id}).")
            return
        for name in names:
            run = check_run(name=name, as_of=as_of, runner="command")
            counts = ", ".join(f"{k}={v}" for k, v in run.counts.items())
            self.stdout.write(f"{name} as of {as_of}: {run.status} in {run.seconds:.1f} s ({counts})")
