"""Who to tell: the managers nearest to a branch.

"Notify the manager" means the managers of the loan's branch; a branch without a manager of its
own (an outlet) is looked after by the nearest branch above it that has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loans.models import Branch, Role, User


@dataclass
class ManagerDirectory:
    """Built once (two small queries) and asked many times during a check."""

    path_of: dict[int, str] = field(default_factory=dict)
    managers_at: dict[str, list[int]] = field(default_factory=dict)
    _cache: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls) -> ManagerDirectory:
        directory = cls(path_of=dict(Branch.objects.values_list("id", "path")))
        for user_id, path in (
            User.objects.filter(role=Role.MANAGER, is_active=True, branch__isnull=False)
            .order_by("id")
            .values_list("id", "branch__path")
        ):
            directory.managers_at.setdefault(path, []).append(user_id)
        return directory

    def for_branch(self, branch_id: int) -> list[int]:
        if branch_id in self._cache:
            return self._cache[branch_id]
        path = self.path_of.get(branch_id, "")
        found: list[int] = []
        while path and path != "/":
            if path in self.managers_at:
                found = self.managers_at[path]
                break
            path = path[: path.rstrip("/").rfind("/") + 1]
        self._cache[branch_id] = found
        return found
