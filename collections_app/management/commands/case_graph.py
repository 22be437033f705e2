from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from collections_app.graph import PICTURE_LANGUAGES, to_dot, to_svg

DOCS = Path(settings.BASE_DIR) / "docs"


def svg_path(docs: Path, language: str) -> Path:
    """docs/state-machine.svg in English, docs/state-machine.<language>.svg otherwise."""
    return docs / ("state-machine.svg" if language == "en" else f"state-machine.{language}.svg")


class Command(BaseCommand):
    help = "Draw the collection case state machine from the code: docs/state-machine.dot, .svg and .zh-hans.svg."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="fail if the committed files differ from the code")

    def handle(self, *args, check: bool = False, **options) -> None:
        files = {
            DOCS / "state-machine.dot": to_dot(),
            **{svg_path(DOCS, lang): to_svg(language=lang) for lang in PICTURE_LANGUAGES},
        }
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        if check:
            if stale:
                names = ", ".join(f"docs/{p.name}" for p in stale)
                raise CommandError(f"{names} out of date: run `manage.py case_graph`.")
            self.stdout.write("The state-machine picture matches the code.")
            return
        DOCS.mkdir(exist_ok=True)
        for path, text in files.items():
            path.write_text(text)
            self.stdout.write(f"wrote docs/{path.name}")
