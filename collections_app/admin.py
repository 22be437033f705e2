"""The admin shows cases read-only: every change goes through the case page and services.py."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from collections_app.models import (
    AssetInKind,
    CaseCost,
    CaseRequest,
    CollectionCase,
    Contact,
    GuarantorDemand,
    LegalProceeding,
    MeasureChange,
    Notice,
    PromiseToPay,
    Recovery,
)
from collections_app.services import cases_refresh_dates
from loans.admin import ScopedAdminMixin


class ReadOnlyMixin(ScopedAdminMixin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MeasureChangeInline(ReadOnlyMixin, admin.TabularInline):
    model = MeasureChange
    extra = 0
    fields = ["changed_on", "from_measure", "to_measure", "actor", "request", "reason"]
    readonly_fields = fields


class RecoveryInline(ReadOnlyMixin, admin.TabularInline):
    model = Recovery
    extra = 0
    fields = ["received_on", "amount", "form", "paid_by", "principal", "interest_on_balance", "interest_off_balance"]
    readonly_fields = fields


class CaseCostInline(ReadOnlyMixin, admin.TabularInline):
    model = CaseCost
    extra = 0
    fields = ["incurred_on", "kind", "amount", "borne_by", "recoverable", "recovered_amount", "source_document", "note"]
    readonly_fields = fields


@admin.register(CollectionCase)
class CollectionCaseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "loan", "branch", "measure", "officer", "recovery_deadline", "urgency_on", "is_open"]
    list_filter = ["measure", "is_open", "branch"]
    search_fields = ["loan__loan_no", "loan__borrower__name"]
    list_select_related = ["loan", "branch", "officer"]
    date_hierarchy = "opened_on"
    inlines = [MeasureChangeInline, RecoveryInline, CaseCostInline]
    actions = ["refresh_dates"]

    @admin.action(description=_("Recompute the queue dates (promise due, limitation, urgency)"))
    def refresh_dates(self, request, queryset) -> None:
        changed = cases_refresh_dates(case_ids=queryset.values_list("pk", flat=True))
        message = ngettext("%(n)s case updated.", "%(n)s cases updated.", changed) % {"n": changed}
        self.message_user(request, message, messages.SUCCESS)


@admin.register(CaseRequest)
class CaseRequestAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "case", "target", "status", "requested_by", "requested_on", "decided_by", "decided_at"]
    list_filter = ["status", "target"]
    list_select_related = ["case", "requested_by", "decided_by"]


for model, fields in (
    (Contact, ["case", "kind", "contacted_on", "person", "debt_acknowledged", "recorded_by"]),
    (Notice, ["case", "served_on", "served_to", "method", "signed_acknowledgement", "recorded_by"]),
    (PromiseToPay, ["case", "promised_on", "amount", "due_on", "amount_paid", "status", "recorded_by"]),
    (GuarantorDemand, ["case", "guarantee", "demanded_on", "amount", "recorded_by"]),
    (LegalProceeding, ["case", "court", "case_number", "filed_on", "judgment_on", "enforcement_order_on"]),
    (AssetInKind, ["case", "description", "taken_on", "appraised_value", "credited_amount", "disposed_on"]),
    (Recovery, ["case", "received_on", "amount", "form", "paid_by", "principal", "recorded_by"]),
):
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (ReadOnlyMixin, admin.ModelAdmin),
            {"list_display": fields, "list_select_related": ["case"], "search_fields": ["case__loan__loan_no"]},
        ),
    )
