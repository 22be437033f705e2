from django.contrib import admin

from accountability.admin import ReadOnlyAdmin
from reconciliation.models import ReportedFall


@admin.register(ReportedFall)
class ReportedFallAdmin(ReadOnlyAdmin):
    """Read-only: a fall is classified on its page, through reconciliation.services."""

    list_display = ["reported_on", "loan", "amount", "officer", "status", "outcome", "value_date", "classified_by"]
    list_filter = ["status", "outcome"]
    list_select_related = ["loan", "officer", "classified_by"]
