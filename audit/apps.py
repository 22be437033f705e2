from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _searches_the_trail(user: object) -> bool:
    from loans.permissions import role_allows

    return role_allows(user, "audit.view_trail")


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from npl_recovery.navigation import NavItem, register

        register(NavItem(_("Audit trail"), "audit:trail", _searches_the_trail))
