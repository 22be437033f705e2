from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from loans.permissions import role_allows


def _is_officer_or_manager(user: object) -> bool:
    return role_allows(user, "accountability.carry_responsibility")


def _reads_the_board(user: object) -> bool:
    return role_allows(user, "accountability.view_board")


def _always(user: object) -> bool:
    return True


class AccountabilityConfig(AppConfig):
    name = "accountability"
    verbose_name = "Accountability"

    def ready(self) -> None:
        # Imported once the models are loaded: these modules import them.
        from accountability import receivers  # noqa: F401  (connects the case signals)
        from accountability.schedule import daily_checks_schedule
        from npl_recovery.celery import app
        from npl_recovery.navigation import NavItem, register

        register(NavItem(_("My responsibilities"), "accountability:mine", _is_officer_or_manager))
        register(NavItem(_("Accountability"), "accountability:board", _reads_the_board))
        register(NavItem(_("Prevention"), "accountability:prevention", _always))
        # The daily checks' beat schedule, defined in code (accountability/schedule.py).
        app.conf.beat_schedule = {
            **(app.conf.beat_schedule or {}),
            **daily_checks_schedule(settings.NPL_DAILY_CHECKS_AT),
        }
