from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = _("Evidence and documents")

    def ready(self) -> None:
        from django.apps import apps

        from evidence.registry import register_target

        # The case's own records that take files; other apps register theirs in their ready().
        for label in ("CollectionCase", "Notice", "LegalProceeding", "AssetInKind", "CaseRequest", "Recovery"):
            register_target(apps.get_model("collections_app", label))
