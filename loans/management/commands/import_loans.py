from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loans.importing.services import ImportFiles, loan_book_import
from loans.models import ImportBatch, User


class Command(BaseCommand):
    help = (
        "Import the loan book from a CSV or XLSX file (guarantees and collateral as sheets of the XLSX "
        "file, or as separate files). Nothing is written unless every row is right. The last line of "
        "output is 'created N, updated M, unchanged K'; with errors, they go to stderr and the exit "
        "status is 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the loan book: .csv or .xlsx")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--guarantees", help="guarantees as a separate CSV/XLSX file")
        parser.add_argument("--collateral", help="collateral as a separate CSV/XLSX file")
        parser.add_argument("--as-of", type=date.fromisoformat, help="business date (YYYY-MM-DD), default today")
        parser.add_argument("--user", help="username recorded as the importer (default: none, the command line)")

    def handle(
        self, *args, path: str, dry_run: bool, guarantees: str | None, collateral: str | None, **options
    ) -> None:
        for p in (path, guarantees, collateral):
            if p and not Path(p).is_file():
                raise CommandError(f"{p}: no such file")
        actor = None
        if options.get("user"):
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"no active user {options['user']!r}")
        outcome = loan_book_import(
            files=ImportFiles(loans=path, guarantees=guarantees, collateral=collateral),
            actor=actor,
            dry_run=dry_run,
            as_of=options.get("as_of"),
            source=ImportBatch.Source.COMMAND,
        )
        batch = outcome.batch
        if not outcome.ok:
            for message in outcome.errors:
                self.stderr.write(message)
            if outcome.error_count > len(outcome.errors):
                self.stderr.write(f"... and {outcome.error_count - len(outcome.errors)} more problems")
            if batch.message:
                self.stderr.write(batch.message)
            noun = "problem" if outcome.error_count == 1 else "problems"
            raise CommandError(f"import #{batch.pk} rejected: {outcome.error_count} {noun}; nothing was written")
        for sheet in ("borrowers", "guarantors", "guarantees", "collateral"):
            counts = batch.counts.get(sheet)
            if counts:
                self.stdout.write(
                    f"{sheet}: created {counts['created']}, updated {counts['updated']}, "
                    f"unchanged {counts['unchanged']}"
                )
        verb = "checked (dry run, nothing written)" if dry_run else "imported"
        self.stdout.write(f"import #{batch.pk} {verb}: {batch.rows_read} rows from {batch.file_name}")
        self.stdout.write(outcome.summary)
