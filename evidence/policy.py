"""The write-off policy, built once from settings.NPL_RULES (see loans/policy.py)."""

from __future__ import annotations

from functools import cache

from evidence.dossier import WriteOffPolicy
from loans.policy import build_policy, register_cached_policy


@register_cached_policy
@cache
def write_off_policy() -> WriteOffPolicy:
    return build_policy(WriteOffPolicy)
