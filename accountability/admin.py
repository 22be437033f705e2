"""Read-mostly admin: accountability is changed through the pages and services (maker-checker)."""

from __future__ import annotations

from django.contrib import admin

from accountability.models import (
    AccountabilityRecord,
    DailyCheckRun,
    LoansByLoansFlag,
    MonthEndSnapshot,
    ResponsibilityAssignment,
    ResponsibilityShare,
    WatchListEntry,
)
from loans.admin import ScopedAdminMixin


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ShareInline(admin.TabularInline):
    model = ResponsibilityShare
    extra = 0
    fields = ["officer", "share"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ResponsibilityAssignment)
class ResponsibilityAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["case", "loan", "branch", "lead_officer", "recovery_deadline", "starts_on", "ended_on"]
    list_filter = ["ended_on", "branch"]
    search_fields = ["loan__loan_no", "lead_officer__username"]
    list_select_related = ["case", "loan", "branch", "lead_officer"]
    date_hierarchy = "recovery_deadline"
    inlines = [ShareInline]


@admin.register(AccountabilityRecord)
class AccountabilityRecordAdmin(ReadOnlyAdmin):
    list_display = ["id", "proposed_on", "officer", "record_type", "state", "origin", "amount", "branch"]
    list_filter = ["kind", "record_type", "state", "origin"]
    search_fields = ["officer__username", "loan__loan_no", "reason"]
    list_select_related = ["officer", "branch"]
    date_hierarchy = "proposed_on"


@admin.register(LoansByLoansFlag)
class LoansByLoansFlagAdmin(ReadOnlyAdmin):
    list_display = ["found_on", "new_loan", "overdue_loan", "relation", "repaid_on", "disbursed_on", "status"]
    list_filter = ["relation", "status"]
    list_select_related = ["new_loan", "overdue_loan"]


@admin.register(WatchListEntry)
class WatchListEntryAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "loan", "branch", "officer", "five_level_class", "days_past_due", "reasons"]
    list_filter = ["as_of", "five_level_class"]
    list_select_related = ["loan", "branch", "officer"]


@admin.register(MonthEndSnapshot)
class MonthEndSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["month", "branch", "officer", "npl_count", "npl_balance", "cash_recovered", "in_kind_value"]
    list_filter = ["month", "branch"]
    list_select_related = ["branch", "officer"]


@admin.register(DailyCheckRun)
class DailyCheckRunAdmin(admin.ModelAdmin):
    list_display = ["check_name", "as_of", "status", "started_at", "finished_at", "runner"]
    list_filter = ["check_name", "status"]
    date_hierarchy = "as_of"
    readonly_fields = ["check_name", "as_of", "status", "started_at", "finished_at", "counts", "error", "runner"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the log of check runs is kept
