"""The collection policy, built once from settings.NPL_RULES (see loans/policy.py)."""

from __future__ import annotations

from functools import cache

from collections_app.case_rules import CollectionPolicy
from loans.policy import build_policy, register_cached_policy


@register_cached_policy
@cache
def collection_policy() -> CollectionPolicy:
    return build_policy(CollectionPolicy)


def limitation_warning_window() -> int:
    """Days before the limitation end that a claim shows red: the daily checks' first warning
    (accountability policy `limitation_warning_days`), so the page and the warnings agree."""
    from accountability.policy import accountability_policy  # accountability builds on this app

    return max(accountability_policy().limitation_warning_days)
