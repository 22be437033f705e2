from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = "Loan book"

    def ready(self) -> None:
        # Menu entries of the import page and the exports (issue 5).
        from django.utils.translation import gettext_lazy as _

        from loans.exporting import can_export
        from loans.importing.services import can_import
        from npl_recovery import (
            jobs,  # noqa: F401  (the lost-jobs task and its worker_ready receiver)
            sessions,  # noqa: F401  (the idle timeout's login receiver)
        )
        from npl_recovery.navigation import NavItem, register

        register(NavItem(_("Import"), "loans:import_start", can_import))
        register(NavItem(_("Exports"), "loans:export_index", can_export))
