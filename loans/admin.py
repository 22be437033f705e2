from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone

from loans.models import (
    Borrower,
    Branch,
    ClassificationChange,
    ClassificationRun,
    Collateral,
    Guarantee,
    Guarantor,
    ImportBatch,
    Loan,
    User,
)
from loans.resources import LoanBookAdminMixin
from loans.services import loans_reclassify


class ScopedAdminMixin:
    """Admin lists go through the same access layer as the app's pages."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.visible_to(request.user) if hasattr(qs, "visible_to") else qs


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "path"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "branch", "is_active"]
    list_filter = ["role", "branch", "is_active", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "email", "employee_no"]
    list_select_related = ["branch"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Bank", {"fields": ("role", "branch", "employee_no", "phone")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Bank", {"fields": ("role", "branch")}))


@admin.register(Borrower)
class BorrowerAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "id_no", "group_code", "phone"]
    list_filter = ["kind"]
    search_fields = ["name", "id_no", "group_code"]


class GuaranteeInline(admin.TabularInline):
    model = Guarantee
    extra = 0
    autocomplete_fields = ["guarantor"]


class CollateralInline(admin.TabularInline):
    model = Collateral
    extra = 0


class ClassificationChangeInline(admin.TabularInline):
    model = ClassificationChange
    extra = 0
    can_delete = False
    fields = ["as_of", "scheme", "from_class", "to_class", "source", "rule", "reason", "actor"]
    readonly_fields = fields
    ordering = ["-as_of", "-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Loan)
class LoanAdmin(ScopedAdminMixin, LoanBookAdminMixin, admin.ModelAdmin):
    list_display = [
        "loan_no",
        "borrower",
        "branch",
        "outstanding_principal",
        "overdue_since",
        "five_level_class",
        "four_level_class",
        "responsible_officer",
    ]
    list_filter = ["five_level_class", "four_level_class", "branch", "business_ceased", "government_directed"]
    search_fields = ["loan_no", "borrower__name", "borrower__id_no"]
    list_select_related = ["borrower", "branch", "responsible_officer"]
    autocomplete_fields = ["borrower", "issuing_officer", "responsible_officer"]
    readonly_fields = [
        "five_level_class",
        "four_level_class",
        "five_level_rule",
        "four_level_rule",
        "specific_provision",
    ]
    date_hierarchy = "disbursed_on"
    inlines = [GuaranteeInline, CollateralInline, ClassificationChangeInline]
    actions = ["reclassify_today"]

    @admin.action(description="Reclassify the selected loans as of today")
    def reclassify_today(self, request, queryset) -> None:
        result = loans_reclassify(
            as_of=timezone.localdate(), actor=request.user, loan_ids=queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request, f"Examined {result.examined} loans, {result.changed} changed class.", messages.SUCCESS
        )


@admin.register(Guarantor)
class GuarantorAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "id_no", "borrower"]
    list_filter = ["kind"]
    search_fields = ["name", "id_no"]
    autocomplete_fields = ["borrower"]


@admin.register(Guarantee)
class GuaranteeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["guarantor", "loan", "amount", "signed_on"]
    search_fields = ["guarantor__name", "loan__loan_no"]
    list_select_related = ["guarantor", "loan"]
    autocomplete_fields = ["guarantor", "loan"]


@admin.register(Collateral)
class CollateralAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["loan", "kind", "description", "appraised_value", "lien_status"]
    list_filter = ["kind", "lien_status"]
    search_fields = ["loan__loan_no", "description"]
    list_select_related = ["loan"]
    autocomplete_fields = ["loan"]


@admin.register(ClassificationChange)
class ClassificationChangeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["as_of", "loan", "scheme", "from_class", "to_class", "source", "rule", "actor"]
    list_filter = ["scheme", "source", "to_class"]
    search_fields = ["loan__loan_no", "reason"]
    list_select_related = ["loan", "actor"]
    date_hierarchy = "as_of"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ClassificationRun)
class ClassificationRunAdmin(admin.ModelAdmin):
    list_display = [
        "as_of",
        "started_at",
        "finished_at",
        "loans_examined",
        "loans_changed",
        "became_non_performing",
    ]
    date_hierarchy = "as_of"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Every import and dry run, read-only: who, when, which file, counts and errors (the rows on
    the app's import page)."""

    list_display = ["id", "created_at", "created_by", "source", "dry_run", "file_name", "status", "created",
                    "updated", "unchanged", "error_count"]  # fmt: skip
    list_filter = ["status", "source", "dry_run"]
    search_fields = ["file_name", "created_by__username"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of who imported what is kept

    def view_on_site(self, obj):
        return obj.get_absolute_url()
