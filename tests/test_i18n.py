"""The Chinese interface is complete: every marked string has its zh-hans entry, none fuzzy,
the compiled catalogue is current, and the language follows the user's choice."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polib
import pytest
from django.urls import reverse
from django.utils import numberformat, translation
from hypothesis import given, settings
from hypothesis import strategies as st

from npl_recovery.i18n import format_amount, format_day
from tests.conftest import ROOT, service_missing

PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SKIP_DIRS = {".venv", "var", "bench", "tests", "staticfiles", "node_modules", ".git", "locale"}


def _entries(po: polib.POFile) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in po if not e.obsolete and e.msgid}


def test_every_zh_hans_entry_is_translated_and_none_is_fuzzy() -> None:
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries() if not e.obsolete]
    fuzzy = [e.msgid for e in po.fuzzy_entries() if not e.obsolete]
    assert not untranslated, f"{len(untranslated)} zh-hans entries lack a translation: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} zh-hans entries are fuzzy: {fuzzy[:20]}"


def test_compiled_catalogue_matches_the_translations() -> None:
    po = {
        (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in polib.pofile(str(PO))
        if e.translated() and not e.obsolete
    }
    mo = {
        (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in polib.mofile(str(MO))
        if e.msgid
    }
    assert mo == po, "locale/zh_Hans/LC_MESSAGES/django.mo is stale: run `make messages`"


def test_every_marked_string_is_in_the_catalogue(tmp_path: Path) -> None:
    """makemessages over a copy of the tree finds no msgid that the committed catalogue lacks."""
    if not shutil.which("xgettext"):
        service_missing("gettext's xgettext (Debian package gettext) is needed to collect messages")
    copy = tmp_path / "tree"
    shutil.copytree(ROOT, copy, ignore=lambda d, names: [n for n in names if n in SKIP_DIRS and Path(d) == ROOT])
    (copy / "locale" / "zh_Hans" / "LC_MESSAGES").mkdir(parents=True)
    ignores = [f"--ignore={name}" for name in sorted(SKIP_DIRS)]
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", *ignores],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "npl_recovery.settings", "DEBUG": "1"},
    )
    collected = _entries(polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")))
    committed = _entries(polib.pofile(str(PO)))
    missing = sorted(m for _, m in collected - committed)
    assert not missing, (
        f"{len(missing)} marked strings are not in the zh-hans catalogue (run `make messages`): {missing[:20]}"
    )


def test_amounts_and_dates_in_each_language() -> None:
    with translation.override("zh-hans"):
        assert format_amount(Decimal("1234567.891"), currency=True) == "¥1,234,567.89"
        assert format_day(datetime.date(2026, 12, 2)) == "2026年12月2日"
        assert format_day(datetime.date(2026, 12, 2), short=True) == "2026-12-02"
        assert translation.gettext("Log out") == "退出登录"
    with translation.override("en"):
        assert format_amount(Decimal("-5.5"), currency=True) == "-¥5.50"
        assert format_day(datetime.date(2026, 12, 2)) == "2 Dec 2026"


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value=Decimal("-1e15"), max_value=Decimal("1e15"), allow_nan=False, places=4),
    language=st.sampled_from(["en", "zh-hans"]),
)
def test_an_amount_reads_as_django_would_format_it(value: Decimal, language: str) -> None:
    """format_amount's fast path writes what numberformat.format writes for the language's separators
    (two places, grouping by three, no "-0.00")."""
    with translation.override(language):
        cents = value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        expected = numberformat.format(cents, ".", decimal_pos=2, grouping=3, thousand_sep=",", force_grouping=True)
        assert format_amount(value) == expected
        assert format_amount(value, currency=True) == (
            f"-¥{expected[1:]}" if expected.startswith("-") else f"¥{expected}"
        )


@pytest.mark.django_db
def test_browser_language_is_the_default_and_the_users_choice_is_remembered(client, officer) -> None:
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert 'lang="zh-hans"' in page.content.decode()
    assert "退出登录" not in page.content.decode()  # not signed in: no log-out button
    client.force_login(officer)
    home = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN", follow=True)
    assert "退出登录" in home.content.decode()

    client.post(reverse("language_set"), {"language": "en", "next": "/"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    officer.refresh_from_db()
    assert officer.language == "en"
    client.cookies.clear()  # a new browser: the account still remembers
    client.force_login(officer)
    assert "Log out" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN", follow=True).content.decode()


@pytest.mark.django_db
def test_language_switch_refuses_an_offsite_return_address(client, officer) -> None:
    client.force_login(officer)
    response = client.post(reverse("language_set"), {"language": "zh-hans", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
