"""Forms of the proceeding page and the asset register. They parse input; legal/services.py decides."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collections_app.models import CaseCost, LegalProceeding
from legal.models import ASSET_KIND_CHOICES, DebtorAsset, PreservationOrder

DATE = forms.DateInput(attrs={"type": "date"})
AMOUNT = {"max_digits": 18, "decimal_places": 2, "min_value": Decimal("0")}


def _today() -> str:
    return timezone.localdate().isoformat()


class CaseFileForm(forms.Form):
    forum = forms.ChoiceField(choices=LegalProceeding.Forum.choices, label=_("Forum"))
    court = forms.CharField(max_length=200, label=_("Court or authority"))
    cause = forms.CharField(max_length=200, required=False, label=_("Cause of action"))
    claim_principal = forms.DecimalField(**AMOUNT, required=False, label=_("Claimed principal"))
    claim_interest = forms.DecimalField(**AMOUNT, required=False, label=_("Claimed interest"))
    claim_costs = forms.DecimalField(**AMOUNT, required=False, label=_("Claimed costs"))
    lawyer = forms.CharField(max_length=200, required=False, label=_("Lawyer or law firm"))


class HearingForm(forms.Form):
    held_on = forms.DateField(widget=DATE, label=_("Hearing date"))
    place = forms.CharField(max_length=200, label=_("Place"))
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Outcome"))


class DecisionForm(forms.Form):
    decision_kind = forms.ChoiceField(choices=LegalProceeding.Decision.choices, label=_("Decision"))
    decided_on = forms.DateField(widget=DATE, initial=_today, label=_("Decided on"))
    served_on = forms.DateField(widget=DATE, required=False, label=_("Served on"))
    awarded_amount = forms.DecimalField(**AMOUNT, required=False, label=_("Amount awarded"))
    performance_deadline = forms.DateField(widget=DATE, required=False, label=_("Performance deadline"))
    effective_on = forms.DateField(widget=DATE, required=False, label=_("Effective on"))


class EnforcementApplyForm(forms.Form):
    applied_on = forms.DateField(widget=DATE, initial=_today, label=_("Applied for on"))
    enforcement_case_number = forms.CharField(max_length=100, required=False, label=_("Enforcement case number"))


class EnforcementTerminateForm(forms.Form):
    ruled_on = forms.DateField(widget=DATE, initial=_today, label=_("Ruling date"))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Notes"))


class EnforcementResumeForm(forms.Form):
    resumed_on = forms.DateField(widget=DATE, initial=_today, label=_("Resumed on"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))


class DeductionForm(forms.Form):
    received_on = forms.DateField(widget=DATE, initial=_today, label=_("Received on"))
    amount = forms.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"), label=_("Amount"))


class PreservationOrderForm(forms.Form):
    kind = forms.ChoiceField(choices=PreservationOrder.Kind.choices, label=_("Order"))
    asset_kind = forms.ChoiceField(choices=ASSET_KIND_CHOICES, label=_("Asset kind"))
    asset = forms.ModelChoiceField(queryset=DebtorAsset.objects.none(), required=False, label=_("Registered asset"))
    description = forms.CharField(max_length=300, required=False, label=_("What is preserved"))
    ruling_on = forms.DateField(widget=DATE, initial=_today, label=_("Ruling date"))
    expires_on = forms.DateField(
        widget=DATE,
        required=False,
        label=_("Expires on"),
        help_text=_("Leave empty for the default: deposits 1 year, movables 2 years, real estate 3 years."),
    )

    def __init__(self, *args, assets=None, **kwargs):
        super().__init__(*args, **kwargs)
        if assets is not None:
            self.fields["asset"].queryset = assets

    def clean(self):
        data = super().clean()
        if not data.get("asset") and not (data.get("description") or "").strip():
            self.add_error("description", _("Say what is preserved, or choose a registered asset."))
        return data


class RenewForm(forms.Form):
    renewed_on = forms.DateField(widget=DATE, initial=_today, label=_("Renewed on"))
    expires_on = forms.DateField(widget=DATE, label=_("New expiry"))


class ReleaseForm(forms.Form):
    released_on = forms.DateField(widget=DATE, initial=_today, label=_("Released on"))
    reason = forms.CharField(max_length=300, label=_("Why released"))


class AssetForm(forms.Form):
    owner = forms.ChoiceField(label=_("Owner"))
    kind = forms.ChoiceField(choices=ASSET_KIND_CHOICES, label=_("Kind"))
    description = forms.CharField(max_length=300, label=_("Description"))
    where_found = forms.CharField(max_length=300, required=False, label=_("Where found"))
    found_on = forms.DateField(widget=DATE, initial=_today, label=_("Found on"))
    estimated_value = forms.DecimalField(**AMOUNT, label=_("Estimated value"))

    def __init__(self, *args, owners: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = owners


class FeeForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (k, label)
            for k, label in CaseCost.Kind.choices
            if k in ("litigation", "lawyer", "preservation", "appraisal", "auction")
        ],
        label=_("Fee"),
    )
    amount = forms.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"), label=_("Amount"))
    incurred_on = forms.DateField(widget=DATE, initial=_today, label=_("Paid on"))
    borne_by = forms.ChoiceField(choices=CaseCost.BorneBy.choices, initial=CaseCost.BorneBy.BANK, label=_("Borne by"))
    note = forms.CharField(max_length=2000, required=False, label=_("Note"))
