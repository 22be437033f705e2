from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event_type", "actor", "subject_type", "subject_id", "branch"]
    list_filter = ["event_type", "subject_type", "branch"]
    search_fields = ["event_type", "reason", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "branch"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
