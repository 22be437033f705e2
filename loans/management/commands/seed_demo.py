from django.core.management.base import BaseCommand
from django.utils import timezone

from loans.demo import DEMO_PASSWORD, seed_demo
from loans.services import loans_reclassify


class Command(BaseCommand):
    help = "Load the demo bank (idempotent: a second run adds nothing)."

    def handle(self, *args, **options) -> None:
        as_of = timezone.localdate()
        counts = seed_demo(as_of=as_of)
        result = loans_reclassify(as_of=as_of)
        self.stdout.write(
            f"Demo data: {counts['loans_created']} loans created, {counts['loans']} in the book; "
            f"classification changed {result.changed}."
        )
        self.stdout.write(
            f"Demo logins (password {DEMO_PASSWORD}): officer, manager, admin (also auditor, manager2)."
        )
