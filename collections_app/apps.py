from django.apps import AppConfig

from loans.permissions import role_allows


def _works_cases(user: object) -> bool:
    return getattr(user, "is_authenticated", False)


def _decides_requests(user: object) -> bool:
    return role_allows(user, "collections_app.decide_requests")


class CollectionsConfig(AppConfig):
    name = "collections_app"
    verbose_name = "Collection cases"

    def ready(self) -> None:
        from collections_app import receivers  # noqa: F401  (connects the classification signal)
        from npl_recovery.navigation import NavItem, register

        register(NavItem("Cases", "collections_app:case_list", _works_cases))
        register(NavItem("Approvals", "collections_app:request_list", _decides_requests))
