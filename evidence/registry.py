"""The records evidence may be attached to.

An app registers its models in its AppConfig.ready(): `register_target(Model)`. The model's
default manager must have `visible_to(user)` (loans/access.py) and the model must lead to a
branch (its `branch` field or its `case`), so a file carries its case, loan and branch.
"""

from __future__ import annotations

from typing import Any

from django.db import models

_TARGETS: dict[str, type[models.Model]] = {}


def register_target(model: type[models.Model]) -> type[models.Model]:
    _TARGETS[model._meta.label_lower] = model
    return model


def target_model(label: str) -> type[models.Model] | None:
    return _TARGETS.get(label)


def is_target(obj: Any) -> bool:
    return isinstance(obj, models.Model) and obj._meta.label_lower in _TARGETS


def scope_of(obj: models.Model) -> tuple[Any, Any, Any]:
    """(case, loan, branch) of a target: from its own fields, or through its case."""
    from collections_app.models import CollectionCase

    if isinstance(obj, CollectionCase):
        return obj, obj.loan, obj.branch
    case = getattr(obj, "case", None)
    if case is not None:
        return case, case.loan, case.branch
    loan = getattr(obj, "loan", None)
    branch = getattr(obj, "branch", None) or (loan.branch if loan is not None else None)
    return None, loan, branch
