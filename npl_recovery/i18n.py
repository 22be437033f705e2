"""The interface language: the user's saved choice, else the language cookie, else the browser's.

Chinese (zh-hans) and English are offered (settings.LANGUAGES). Amounts and dates are formatted
here once, for pages and exports alike.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import formats, numberformat, translation

CENT = Decimal("0.01")
CURRENCY_SIGN = "¥"


def supported(code: str | None) -> str | None:
    """The language code if we offer it, else None."""
    if not code:
        return None
    try:
        found = translation.get_supported_language_variant(code)
    except LookupError:
        return None
    return found if found in dict(settings.LANGUAGES) else None


class UserLanguageMiddleware:
    """After authentication: a signed-in user's saved language wins over cookie and browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = supported(getattr(user, "language", "")) if user is not None and user.is_authenticated else None
        if chosen and chosen != translation.get_language():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        if chosen:
            response.headers.setdefault("Content-Language", chosen)
        return response


# Per language: (decimal separator, grouping, thousands separator), read once from its format module.
_SEPARATORS: dict[str | None, tuple[str, Any, str]] = {}


def number_separators() -> tuple[str, Any, str]:
    language = translation.get_language()
    found = _SEPARATORS.get(language)
    if found is None:
        found = _SEPARATORS[language] = (
            formats.get_format("DECIMAL_SEPARATOR"),
            formats.get_format("NUMBER_GROUPING"),
            formats.get_format("THOUSAND_SEPARATOR"),
        )
    return found


def format_amount(value: Any, *, currency: bool = False, separators: tuple[str, Any, str] | None = None) -> str:
    """An amount with two decimals and thousands grouping (¥ in front when `currency`).
    `separators`: number_separators() read once by a caller that formats many amounts."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    decimal_sep, grouping, thousand_sep = separators or number_separators()
    if grouping == 3 and decimal_sep == "." and thousand_sep == ",":
        # What numberformat.format writes for these separators, without its per-digit loop (a
        # dashboard formats about a thousand amounts per page).
        text = f"{amount.copy_abs() if amount.is_zero() else amount:,.2f}"  # never "-0.00"
    else:
        text = numberformat.format(
            amount, decimal_sep, decimal_pos=2, grouping=grouping, thousand_sep=thousand_sep, force_grouping=True
        )
    if not currency:
        return text
    return f"-{CURRENCY_SIGN}{text[1:]}" if text.startswith("-") else f"{CURRENCY_SIGN}{text}"


def format_day(value: datetime.date | None, *, short: bool = False) -> str:
    """A business date in the active language's form (short: 2026-12-02; long: 2026年12月2日 / 2 Dec 2026)."""
    if value is None:
        return "—"
    return formats.date_format(value, "SHORT_DATE_FORMAT" if short else "DATE_FORMAT")
