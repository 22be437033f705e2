from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.labels import event_label, field_label
from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The auditors' trail: events in words and changed fields by their labels (read-only)."""

    list_display = ["created_at", "event", "actor", "subject_type", "subject_id", "branch", "changes"]
    list_filter = ["event_type", "subject_type", "branch"]
    search_fields = ["event_type", "reason", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "branch"]

    @admin.display(description=_("Event"), ordering="event_type")
    def event(self, obj: AuditEvent) -> str:
        return event_label(obj.event_type)

    @admin.display(description=_("Changes"))
    def changes(self, obj: AuditEvent) -> str:
        old, new = obj.old_values or {}, obj.new_values or {}
        return "; ".join(
            f"{field_label(name)}: {old[name]} → {new.get(name, '—')}"
            if name in old
            else f"{field_label(name)}: {new[name]}"
            for name in dict.fromkeys([*old, *new])
            if name in new or name in old
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
