from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboards.kept import rebuild
from dashboards.maintain import NAMED, compact, differences


class Command(BaseCommand):
    help = (
        "The dashboards' kept figures (cells kept current by database triggers): --compact folds each "
        "cell's rows into one; --rebuild recomputes every cell from the loans, the ledger, the cases and "
        "the costs; --check compares the kept figures with that definition (exit status 1 when they differ)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--compact", action="store_true", help="fold each cell's delta rows into one")
        action.add_argument("--rebuild", action="store_true", help="recompute every cell from the sources")
        action.add_argument("--check", action="store_true", help="compare the kept figures with their definition")

    def handle(self, *args, compact: bool, rebuild: bool, check: bool, **options) -> None:
        if compact:
            self._compact()
        elif rebuild:
            self._rebuild()
        else:
            self._check()

    def _compact(self) -> None:
        done = compact()
        if not done:
            self.stdout.write("Another compaction is running; nothing done.")
            return
        for table, counts in done.items():
            self.stdout.write(f"{table}: {counts['moved']} rows folded into {counts['folded']}")

    def _rebuild(self) -> None:
        for table, cells in rebuild().items():
            self.stdout.write(f"{table}: {cells} cells")

    def _check(self) -> None:
        result = differences()
        per_table = result.per_table
        for table, cells in result.cells.items():
            self.stdout.write(f"{table}: {cells} cells, {per_table[table]} differ")
        if result.differences:
            for difference in result.differences[:NAMED]:
                self.stdout.write(json.dumps(difference.as_json(), ensure_ascii=False))
            raise CommandError(
                f"{len(result.differences)} kept cell(s) differ from their definition: "
                "run manage.py dashboard_figures --rebuild"
            )
        self.stdout.write("The kept figures equal their definition.")
