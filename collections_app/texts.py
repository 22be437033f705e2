"""Words the case pages show for things stored as codes or as fixed system text.

Stored data stays in one language (the audit trail and the reasons the system writes); the pages
translate the few texts the system itself writes, and never show a code (`contact`, `move`).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from collections_app.services.money import RECOVERED_REASON
from collections_app.services.opening import OPENING_REASON

# What the system writes as a reason, and how the page says it.
SYSTEM_REASONS = {
    OPENING_REASON: _("Opened automatically: the loan is non-performing."),
    RECOVERED_REASON: _("Nothing outstanding after the recovery."),
}

# The timeline's kinds of entry (collections_app.selectors.TIMELINE_SOURCES).
TIMELINE_KINDS = {
    "contact": pgettext_lazy("timeline", "Contact"),
    "notice": pgettext_lazy("timeline", "Notice"),
    "promise": pgettext_lazy("timeline", "Promise to pay"),
    "demand": pgettext_lazy("timeline", "Guarantor demand"),
    "proceeding": pgettext_lazy("timeline", "Legal proceeding"),
    "step": pgettext_lazy("timeline", "Enforcement"),
    "asset": pgettext_lazy("timeline", "Asset in kind"),
    "recovery": pgettext_lazy("timeline", "Recovery"),
    "cost": pgettext_lazy("timeline", "Collection cost"),
    "move": pgettext_lazy("timeline", "Measure changed"),
    "request": pgettext_lazy("timeline", "Request"),
}


def stored_text(value: str) -> str:
    """A reason as the page shows it: the system's own texts translated, people's words as written."""
    return SYSTEM_REASONS.get(value, value)
