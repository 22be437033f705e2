from django.apps import AppConfig
from django.conf import settings


def _is_officer_or_manager(user: object) -> bool:
    return getattr(user, "role", None) in ("officer", "manager")


def _reads_the_board(user: object) -> bool:
    return getattr(user, "role", None) in ("manager", "admin", "auditor") or bool(getattr(user, "is_superuser", False))


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

        register(NavItem("My responsibilities", "accountability:mine", _is_officer_or_manager))
        register(NavItem("Accountability", "accountability:board", _reads_the_board))
        register(NavItem("Prevention", "accountability:prevention", _always))
        # The daily checks' beat schedule, defined in code (accountability/schedule.py).
        app.conf.beat_schedule = {
            **(app.conf.beat_schedule or {}),
            **daily_checks_schedule(settings.NPL_DAILY_CHECKS_AT),
        }
