from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LegalConfig(AppConfig):
    name = "legal"
    verbose_name = _("Legal recourse")

    def ready(self) -> None:
        from django.apps import apps

        from evidence.registry import register_target

        # Files (rulings, appraisals, photos) on preservation orders and on the debtor's assets.
        for label in ("PreservationOrder", "DebtorAsset", "Hearing"):
            register_target(apps.get_model("legal", label))
