"""Two-factor devices in the admin: read only; the one change, a reset, goes through the service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import totp_reset

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields
    actions = ["reset"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Reset: the user enrols again at their next login"), permissions=["view"])
    def reset(self, request, queryset) -> None:
        users = {device.user for device in queryset.select_related("user")}
        for user in users:
            totp_reset(user=user, actor=request.user)
        self.message_user(
            request, _("%(n)d users enrol again at their next login.") % {"n": len(users)}, messages.SUCCESS
        )
