"""The accountability policy, built once from settings.NPL_RULES (see loans/policy.py)."""

from __future__ import annotations

from functools import cache

from accountability.rules import AccountabilityPolicy
from loans.policy import build_policy, register_cached_policy


@register_cached_policy
@cache
def accountability_policy() -> AccountabilityPolicy:
    return build_policy(AccountabilityPolicy)
