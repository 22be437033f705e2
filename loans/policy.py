"""Business figures a bank may change without a code change: one place.

Defaults live in the pure rule modules' policy dataclasses; settings.NPL_RULES (a JSON object in
the NPL_RULES environment variable) overrides any of them by name.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from loans.classification import ClassificationPolicy


def _overrides_for(policy_class: type) -> dict[str, Any]:
    rules: dict[str, Any] = getattr(settings, "NPL_RULES", {}) or {}
    names = {f.name: f for f in dataclasses.fields(policy_class)}
    out: dict[str, Any] = {}
    for key, value in rules.items():
        if key not in names:
            continue
        if key.endswith("_rates") and isinstance(value, dict):
            value = {k: Decimal(str(v)) for k, v in value.items()}
        elif key.endswith("_rate"):
            value = Decimal(str(value))
        out[key] = value
    return out


def build_policy(policy_class: type) -> Any:
    """Instantiate a policy dataclass with NPL_RULES overrides; a bad value stops with its name."""
    overrides = _overrides_for(policy_class)
    try:
        if "provision_rates" in overrides:
            base = dict(policy_class().provision_rates)
            base.update(overrides["provision_rates"])
            overrides["provision_rates"] = base
        return policy_class(**overrides)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"NPL_RULES: {exc}") from exc


@cache
def classification_policy() -> ClassificationPolicy:
    return build_policy(ClassificationPolicy)


_CACHED = [classification_policy]


def register_cached_policy(func: Any) -> Any:
    """Other apps' policy getters, cleared with ours when settings change (tests)."""
    _CACHED.append(func)
    return func


@receiver(setting_changed)
def _clear_policy_cache(*, setting: str, **kwargs: Any) -> None:
    if setting == "NPL_RULES":
        for func in _CACHED:
            func.cache_clear()
