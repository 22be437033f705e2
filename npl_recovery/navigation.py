"""The main menu. Each entry: (label, url name, predicate on the user)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from loans.permissions import is_officer


@dataclass(frozen=True)
class NavItem:
    label: str  # translatable (gettext_lazy)
    url_name: str
    visible: Callable[[object], bool]
    # A count shown beside the label (e.g. requests waiting for a decision): one cheap query, or None.
    badge: Callable[[object], int] | None = field(default=None, compare=False)


def _always(user: object) -> bool:
    return True


def _is_staff_admin(user: object) -> bool:
    return bool(getattr(user, "is_staff", False))


NAV_ITEMS: list[NavItem] = [
    # "/" takes an officer to his queue; his dashboard is at /dashboard/.
    NavItem(_("Dashboard"), "home", lambda user: not is_officer(user)),
    NavItem(_("Dashboard"), "dashboard", is_officer),
    NavItem(_("Loans"), "loans:loan_list", _always),
]
NAV_TAIL: list[NavItem] = [NavItem(_("Admin"), "admin:index", _is_staff_admin)]


def register(item: NavItem) -> None:
    """Apps add their menu entries at import time (AppConfig.ready)."""
    if item not in NAV_ITEMS:
        NAV_ITEMS.append(item)


def items_for(user: object, path: str) -> list[dict]:
    out = []
    for item in [*NAV_ITEMS, *NAV_TAIL]:
        if not item.visible(user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        out.append({"label": item.label, "url": url, "active": False, "badge": item.badge(user) if item.badge else 0})
    # The entry whose URL is the longest prefix of the path is the active one ("/loans/import/"
    # lights "Import", not "Loans" too).
    matches = [e for e in out if (path == e["url"] if e["url"] == "/" else path.startswith(e["url"]))]
    if matches:
        max(matches, key=lambda e: len(e["url"]))["active"] = True
    return out
