from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _manages_templates(user: object) -> bool:
    from loans.permissions import role_allows

    return role_allows(user, "evidence.manage_templates")


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = _("Evidence and documents")

    def ready(self) -> None:
        from django.apps import apps

        from evidence.policy import write_off_policy
        from evidence.registry import register_target

        write_off_policy()  # a bad NPL_RULES value stops start-up, naming the key
        from npl_recovery.navigation import NavItem, register

        register(NavItem(_("Document templates"), "evidence:templates", _manages_templates))

        # The case's own records that take files; other apps register theirs in their ready().
        for label in ("CollectionCase", "Notice", "LegalProceeding", "AssetInKind", "CaseRequest", "Recovery"):
            register_target(apps.get_model("collections_app", label))
