from datetime import date

from django.core.management.base import BaseCommand
from django.utils import timezone

from collections_app.services import cases_open_for_non_performing, cases_refresh_dates


class Command(BaseCommand):
    help = "Open a case for every non-performing loan without one (idempotent), then refresh the queue dates."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="business date (YYYY-MM-DD)")

    def handle(self, *args, as_of: date | None = None, **options) -> None:
        as_of = as_of or timezone.localdate()
        opened = cases_open_for_non_performing(as_of=as_of)
        refreshed = cases_refresh_dates()
        self.stdout.write(f"Opened {opened} case(s) as of {as_of}; {refreshed} case(s) had their dates refreshed.")
