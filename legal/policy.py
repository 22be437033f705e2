"""The legal policy, built once from settings.NPL_RULES (see loans/policy.py)."""

from __future__ import annotations

from functools import cache

from legal.rules import LegalPolicy
from loans.policy import build_policy, register_cached_policy


@register_cached_policy
@cache
def legal_policy() -> LegalPolicy:
    return build_policy(LegalPolicy)
