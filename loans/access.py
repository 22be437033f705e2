"""The one access layer: which rows a user may see.

Every list, detail page, export and selector goes through `visible_to(user)` on a model's
manager or through `get_for_user_or_404`. Officers see their own branch; managers their branch
and every branch below it; admins, auditors and head-office managers see everything (who is
which: loans/permissions.py). Anything outside the scope is a 404, never a 403, so ids cannot
be probed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.http import Http404

from loans.permissions import is_manager, sees_whole_bank

M = TypeVar("M", bound=models.Model)


def sees_everything(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return sees_whole_bank.test(user)


def visible_branch_ids(user: Any) -> models.QuerySet | None:
    """A subquery of the branch ids in the user's scope; None means every branch."""
    from loans.models import Branch  # here: loans.models imports this module (scoped_manager)

    if sees_everything(user):
        return None
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.branch_id is None:
        return Branch.objects.none().values("id")
    if is_manager(user):
        return Branch.objects.filter(path__startswith=user.branch.path).values("id")
    return Branch.objects.filter(pk=user.branch_id).values("id")


class ScopedQuerySet(models.QuerySet):
    # The path from this model to its Branch, e.g. "loan__branch".
    branch_lookup: str = "branch"
    # True when the path crosses a to-many relation (a borrower with loans in several branches).
    to_many: bool = False

    def visible_to(self, user: Any) -> ScopedQuerySet:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        branch_ids = visible_branch_ids(user)
        if branch_ids is None:
            return self
        condition = {f"{self.branch_lookup}__in": branch_ids}
        if self.to_many:
            return self.filter(pk__in=self.model._base_manager.filter(**condition).values("pk"))
        return self.filter(**condition)


def scoped_manager(branch_lookup: str, *, to_many: bool = False) -> models.Manager:
    name = "ScopedQuerySet_" + branch_lookup.replace("__", "_")
    queryset_class = type(name, (ScopedQuerySet,), {"branch_lookup": branch_lookup, "to_many": to_many})
    return models.Manager.from_queryset(queryset_class)()


def get_for_user_or_404(source: type[M] | models.QuerySet, user: Any, **lookup: Any) -> M:
    """The object if `user` may see it, else 404 (also for ids that exist in another branch)."""
    queryset = source._default_manager.all() if isinstance(source, type) else source
    try:
        return queryset.visible_to(user).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} found.") from exc
