"""`python manage.py run_daily_checks --as-of YYYY-MM-DD [--only NAME]`: the daily checks, for
backfills and for banks that schedule with cron instead of Celery beat.

`--from D1 --to D2` runs missed days forward, one by one (every check of D1, then of D1 + 1, ...).
A date before the book's last classification is refused, naming both dates, and nothing is written
(issue 11: the book holds one state, as of its last classification)."""

from __future__ import annotations

from datetime import date

from celery import chain
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accountability.daily_checks import CHECKS, RunningBackInTime, back_in_time_refusal, check_run, days_forward
from accountability.tasks import checks_chain


class Command(BaseCommand):
    help = "Run the daily checks for a business date (all of them in order, or only some)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="The business date, YYYY-MM-DD (default: today).")
        parser.add_argument(
            "--from",
            dest="first",
            metavar="YYYY-MM-DD",
            help="Run missed days forward: every day from this date to --to (default: today), one by one.",
        )
        parser.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="The last day of a --from run.")
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
        if options["first"] and options["as_of"]:
            raise CommandError("Give either --as-of or --from/--to, not both.")
        if options["last"] and not options["first"]:
            raise CommandError("--to needs --from.")
        if options["first"]:
            first = _day(options["first"], "--from")
            last = _day(options["last"], "--to") if options["last"] else timezone.localdate()
            if last < first:
                raise CommandError(f"--to {last} is before --from {first}.")
            days = days_forward(first, last)
        else:
            days = [_day(options["as_of"], "--as-of") if options["as_of"] else timezone.localdate()]
        only = [n.strip() for value in options["only"] or [] for n in value.split(",") if n.strip()]
        unknown = [n for n in only if n not in CHECKS]
        if unknown:
            raise CommandError(f"Unknown check(s) {', '.join(unknown)}; the checks are: {', '.join(CHECKS)}")
        names = [n for n in CHECKS if not only or n in only]
        # The first day is the earliest: refused there, nothing runs (and nothing is written).
        refusal = back_in_time_refusal(days[0])
        if refusal:
            raise CommandError(refusal)
        if options["queue"]:
            result = chain(*(checks_chain(as_of=day, only=names) for day in days)).apply_async()
            self.stdout.write(
                f"Queued {len(names)} check(s) for {len(days)} day(s) from {days[0]} to {days[-1]}: "
                f"{', '.join(names)} (task {result.id})."
            )
            return
        for as_of in days:
            for name in names:
                try:
                    run = check_run(name=name, as_of=as_of, runner="command")
                except RunningBackInTime as exc:
                    raise CommandError(str(exc)) from exc
                counts = ", ".join(f"{k}={v}" for k, v in run.counts.items())
                self.stdout.write(f"{name} as of {as_of}: {run.status} in {run.seconds:.1f} s ({counts})")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from exc
