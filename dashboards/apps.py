from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboards"
    verbose_name = _("Dashboards")

    def ready(self) -> None:
        from dashboards.tasks import BEAT_SCHEDULE
        from npl_recovery.celery import app

        # The compaction of the kept cells, every 5 minutes (dashboards/tasks.py).
        app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
