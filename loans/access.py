"""The one access layer: which rows a user may see.

Every list, detail page, export and selector goes through `visible_to(user)` on a model's
manager or through `get_for_user_or_404`. Officers see their own branch; managers their branch
and every branch below it; admins, auditors and head-office managers see everything (who is
which: loans/permissions.py). Anything outside the scope is a 404, never a 403, so ids cannot
be probed.

Besides the branch scope, everyone sees the loans they answer for, wherever their branch
(issue 10: an officer of one outlet may answer for a case of a sibling outlet): the loans whose
responsible officer they are, whose collection case they run or are a team member of, or in
whose current division of responsibility they hold a share, and every row about such a loan
(its case, records, borrower...). The path from a scoped model to its loan is found from its
branch lookup ("case__branch" -> "case__loan").
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


def sees_subtree(user: Any, branch: Any) -> bool:
    """Whether every row under `branch` (the branch and every branch below it) is within the user's
    branch scope (`visible_branch_ids`), so that `visible_to` would add nothing to a filter by that
    subtree: everyone who sees the whole bank; a manager for a branch at or below his own."""
    if sees_everything(user):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.branch_id is None:
        return False
    return branch is not None and is_manager(user) and branch.path.startswith(user.branch.path)


def answered_loan_ids(user: Any) -> list[models.QuerySet]:
    """The loans `user` answers for, as four small indexed subqueries of loan ids: as responsible
    officer, as case officer, as team member, and by a current share of responsibility.

    They are OR-ed on the scoped model's own loan column (`loan_id IN (...) OR ...`), each computed
    once as a hashed subplan; filtering the loans table by their OR instead would scan every loan."""
    from django.apps import apps

    from loans.models import Loan

    case_model = apps.get_model("collections_app", "CollectionCase")
    share_model = apps.get_model("accountability", "ResponsibilityShare")
    return [
        Loan._base_manager.filter(responsible_officer=user).values("id"),
        case_model._base_manager.filter(officer=user).values("loan_id"),
        case_model.team_members.through.objects.filter(user=user).values("collectioncase__loan_id"),
        share_model._base_manager.filter(officer=user, assignment__ended_on__isnull=True).values("assignment__loan_id"),
    ]


def _loan_path(model: type[models.Model], branch_lookup: str) -> str | None:
    """The lookup from `model` to its Loan, from its branch lookup; None when it has no loan."""
    from loans.models import Loan

    prefix = branch_lookup.removesuffix("branch").removesuffix("__")
    target = model
    for part in prefix.split("__") if prefix else []:
        target = target._meta.get_field(part).related_model
    if target is Loan:
        return prefix or "pk"
    try:
        field = target._meta.get_field("loan")
    except Exception:  # noqa: BLE001 - FieldDoesNotExist: this model has no loan
        return None
    if field.related_model is not Loan:
        return None
    return f"{prefix}__loan" if prefix else "loan"


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
        condition = models.Q(**{f"{self.branch_lookup}__in": branch_ids})
        loan_path = _loan_path(self.model, self.branch_lookup)
        if loan_path is not None:
            for answered in answered_loan_ids(user):
                condition |= models.Q(**{f"{loan_path}__in": answered})
        if self.to_many:
            return self.filter(pk__in=self.model._base_manager.filter(condition).values("pk"))
        return self.filter(condition)


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
