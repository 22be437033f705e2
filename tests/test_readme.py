"""The README answers a reader who holds the design card: why the stack differs from it."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_the_readme_says_why_psycopg_3_and_django_fsm_2_instead_of_the_cards_packages():
    choices = _section("Choices")
    for words in ("psycopg2-binary", "psycopg 3", "pool", "django-fsm-2", "archived", "django_fsm"):
        assert words in choices, words
