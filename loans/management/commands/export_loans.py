from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from loans.exporting import EXPORTS, ExportLimitReached, export_to_path
from loans.models import Role, User


class Command(BaseCommand):
    help = (
        "Export loans (or cases, recoveries, accountability records) to PATH; the format follows the "
        "extension, .csv or .xlsx. With --user, only what that user may see."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="where to write: .csv or .xlsx")
        parser.add_argument("--what", choices=sorted(EXPORTS), default="loans", help="which records (default: loans)")
        parser.add_argument("--user", help="export what this user may see (default: everything)")
        parser.add_argument("--as-of", type=date.fromisoformat, help="date for days past due (default today)")
        parser.add_argument(
            "--language",
            choices=["zh-hans", "en"],
            default="en",
            help="en (default, for scripts): the column codes only; zh-hans: the column codes, then a row "
            "of Chinese column names (the importer skips it)",
        )

    def handle(self, *args, path: str, what: str, **options) -> None:
        if not path.lower().endswith((".csv", ".xlsx")):
            raise CommandError("PATH must end in .csv or .xlsx")
        spec = EXPORTS[what]
        if not spec.available:
            raise CommandError(f"{what}: the app that keeps these records is not installed")
        if options.get("user"):
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['user']!r}")
        else:
            # The operator at the server's command line sees the whole book: an administrator (the
            # default role, officer, would narrow some exports to the records about themselves).
            user = User(username="command-line", role=Role.ADMIN, is_superuser=True, is_active=True)
        # Recorded in the audit trail; with --user, as that user's export (and within their hourly limit).
        try:
            rows = export_to_path(
                spec,
                spec.queryset(user),
                path=path,
                as_of=options.get("as_of") or timezone.localdate(),
                actor=user if user.pk else None,
                chinese_row=options["language"] == "zh-hans",
            )
        except ExportLimitReached as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"exported {rows} {spec.title.lower()} to {path}")
