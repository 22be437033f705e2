from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from loans.permissions import role_allows
from npl_recovery.navigation import NavItem, register


def _works_cases(user: object) -> bool:
    return getattr(user, "is_authenticated", False)


def _decides_requests(user: object) -> bool:
    return role_allows(user, "collections_app.decide_requests")


def _waiting(user: object) -> int:
    """The approvals badge: requests this manager may decide (one COUNT per request: the menu is
    drawn again by templates that render with the request's context, e.g. the queue table)."""
    from collections_app.selectors import pending_request_count

    cached = getattr(user, "_npl_requests_waiting", None)
    if cached is None:
        cached = pending_request_count(user=user)
        user._npl_requests_waiting = cached
    return cached


class CollectionsConfig(AppConfig):
    name = "collections_app"
    verbose_name = _("Collection cases")

    def ready(self) -> None:
        # Imported once the app registry is ready (it loads the models): connects the classification signal.
        from collections_app import receivers  # noqa: F401

        register(NavItem(_("Cases"), "collections_app:case_list", _works_cases))
        register(NavItem(_("Approvals"), "collections_app:request_list", _decides_requests, badge=_waiting))
