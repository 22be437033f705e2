from django.contrib import admin

from accountability.admin import ReadOnlyAdmin
from reconciliation.models import ReportedFall, RiseAcknowledgement


@admin.register(ReportedFall)
class ReportedFallAdmin(ReadOnlyAdmin):
    """Read-only: a fall is classified on its page, through reconciliation.services."""

    list_display = ["reported_on", "loan", "amount", "officer", "status", "outcome", "value_date", "classified_by"]
    list_filter = ["status", "outcome"]
    list_select_related = ["loan", "officer", "classified_by"]


@admin.register(RiseAcknowledgement)
class RiseAcknowledgementAdmin(ReadOnlyAdmin):
    """Read-only: a rise is acknowledged on the list of rises, through reconciliation.services."""

    list_display = ["acknowledged_at", "entry", "branch", "acknowledged_by", "reason"]
    list_select_related = ["entry", "branch", "acknowledged_by"]
