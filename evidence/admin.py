"""Read-only: evidence is written through evidence/services.py (uploads, supersession) alone."""

from django.contrib import admin

from evidence.models import EvidenceFile


@admin.register(EvidenceFile)
class EvidenceFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "kind", "branch", "case", "size", "uploaded_by", "uploaded_at", "superseded_by")
    list_filter = ("kind",)
    search_fields = ("original_name", "sha256")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
