"""The admin shows legal recourse read-only: every change goes through the proceeding page and legal/services.py."""

from __future__ import annotations

from django.contrib import admin

from collections_app.admin import ReadOnlyMixin
from legal.models import DebtorAsset, GuaranteeRelease, GuaranteeTerm, Hearing, LegalReminder, PreservationOrder


@admin.register(Hearing)
class HearingAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["held_on", "place", "proceeding"]
    list_select_related = ["proceeding"]
    date_hierarchy = "held_on"


@admin.register(PreservationOrder)
class PreservationOrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["kind", "description", "ruling_on", "expires_on", "released_on", "proceeding"]
    list_filter = ["kind", "asset_kind"]
    list_select_related = ["proceeding"]


@admin.register(DebtorAsset)
class DebtorAssetAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["description", "kind", "borrower", "guarantor", "found_on", "estimated_value", "sold_on"]
    list_filter = ["kind"]
    list_select_related = ["borrower", "guarantor"]


@admin.register(GuaranteeTerm)
class GuaranteeTermAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["guarantee", "period_ends_on"]


@admin.register(GuaranteeRelease)
class GuaranteeReleaseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["guarantee", "loan", "period_ended_on", "released_on", "amount_lost"]
    list_select_related = ["loan", "guarantee"]


@admin.register(LegalReminder)
class LegalReminderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["kind", "object_id", "days_before", "due_on", "sent_on"]
    list_filter = ["kind"]
