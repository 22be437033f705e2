"""The collection policy, built once from settings.NPL_RULES (see loans/policy.py)."""

from __future__ import annotations

from functools import cache

from collections_app.case_rules import CollectionPolicy
from loans.policy import build_policy, register_cached_policy


@register_cached_policy
@cache
def collection_policy() -> CollectionPolicy:
    return build_policy(CollectionPolicy)
