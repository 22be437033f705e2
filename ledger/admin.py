from django.contrib import admin

from ledger.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are written by ledger/services.py only."""

    list_display = (
        "id",
        "loan",
        "kind",
        "value_date",
        "principal",
        "interest_on_balance",
        "interest_off_balance",
        "amount",
        "form",
        "approval",
        "recorded_on",
        "recorded_by",
    )
    list_filter = ("kind", "form", "approval")
    search_fields = ("loan__loan_no", "source")
    raw_id_fields = ("loan", "case", "recorded_by", "approved_by", "recovery", "asset", "import_batch")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
