from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from loans.permissions import role_allows
from npl_recovery.navigation import NavItem, register


def _works_cases(user: object) -> bool:
    return getattr(user, "is_authenticated", False)


def _decides_requests(user: object) -> bool:
    return role_allows(user, "collections_app.decide_requests")


class CollectionsConfig(AppConfig):
    name = "collections_app"
    verbose_name = "Collection cases"

    def ready(self) -> None:
        # Imported once the app registry is ready (it loads the models): connects the classification signal.
        from collections_app import receivers  # noqa: F401

        register(NavItem(_("Cases"), "collections_app:case_list", _works_cases))
        register(NavItem(_("Approvals"), "collections_app:request_list", _decides_requests))
