"""Field changes of one record, as the update services apply and audit them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def _value(instance: models.Model, name: str) -> Any:
    return getattr(instance, instance._meta.get_field(name).attname)


def apply_changes(
    instance: models.Model, changes: Mapping[str, Any], allowed: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set `changes` on `instance` (only the `allowed` fields); return (old, new) of what differs.

    Foreign keys are compared and recorded by id. Nothing is saved here.
    """
    allowed = tuple(allowed)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError(_("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(unknown)})
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, value in changes.items():
        field = instance._meta.get_field(name)
        if not field.is_relation:
            try:
                value = field.to_python(value)
            except ValidationError as exc:
                raise ValidationError({name: exc.messages}) from exc
        before = _value(instance, name)
        setattr(instance, name, value)
        after = _value(instance, name)
        if before != after:
            old[name], new[name] = before, after
    return old, new
