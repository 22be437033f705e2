from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from loans.demo import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Load the demo bank (idempotent: a second run adds nothing)."

    def handle(self, *args, **options) -> None:
        as_of = timezone.localdate()
        # Each app seeds its own part, in order (settings.NPL_DEMO_SEEDERS); each is idempotent
        # and returns a line to print.
        for dotted in settings.NPL_DEMO_SEEDERS:
            module_name, func_name = dotted.rsplit(".", 1)
            try:
                module = import_module(module_name)
            except ModuleNotFoundError:
                continue
            self.stdout.write(getattr(module, func_name)(as_of=as_of))
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}): officer, manager, admin (also auditor, manager2).")
