"""Who may act on accountability records (permissions), apart from what holds (rules.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _


def decision_refusal(
    *, role: str, actor_id: int | None, in_scope: bool, officer_id: int | None, proposed_by_id: int | None
) -> str | None:
    """Maker-checker for sanctions and rewards: why this user may not decide (None: they may)."""
    if role != "manager":
        return _("Only a manager decides sanctions and rewards.")
    if not in_scope:
        return _("This record is outside your branches.")
    if actor_id is not None and actor_id == officer_id:
        return _("This record is about you: another manager must decide it.")
    if proposed_by_id is not None and actor_id == proposed_by_id:
        return _("You proposed this record: another manager must decide it.")
    return None
