"""The ledger policy, built once from settings.NPL_RULES (see loans/policy.py)."""

from __future__ import annotations

from functools import cache

from ledger.rules import LedgerPolicy
from loans.policy import build_policy, register_cached_policy


@register_cached_policy
@cache
def ledger_policy() -> LedgerPolicy:
    return build_policy(LedgerPolicy)
