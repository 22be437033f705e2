"""Read-only admin: targets are set on the targets page, through dashboards.services.target_set."""

from __future__ import annotations

from django.contrib import admin

from accountability.admin import ReadOnlyAdmin
from dashboards.models import RecoveryTarget


@admin.register(RecoveryTarget)
class RecoveryTargetAdmin(ReadOnlyAdmin):
    list_display = ["year", "branch", "officer", "npl_reduction", "cash_recovered", "set_by", "set_at"]
    list_filter = ["year"]
    list_select_related = ["branch", "officer", "set_by"]
