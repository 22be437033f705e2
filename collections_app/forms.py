"""Forms of the case page. They parse input; the rules live in services/ and case_rules.py."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils import timezone

from collections_app.case_rules import MEASURE_LABELS, Measure
from collections_app.models import CollectionCase, Contact, LegalStep, Notice, Recovery
from loans.models import Collateral, User

DATE = forms.DateInput(attrs={"type": "date"})
MONEY = {"max_digits": 18, "decimal_places": 2, "min_value": Decimal("0.01")}


def _today() -> str:
    return timezone.localdate().isoformat()


class MoveForm(forms.Form):
    target = forms.ChoiceField(choices=[(m.value, MEASURE_LABELS[m]) for m in Measure], widget=forms.HiddenInput)
    seen_measure = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)


class RequestForm(MoveForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, help_text="Why the case needs this move."
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the request is rejected.")
        return data


class OpenCaseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=300)


class ContactForm(forms.Form):
    kind = forms.ChoiceField(choices=Contact.Kind.choices)
    contacted_on = forms.DateField(widget=DATE, initial=_today, label="Date")
    person = forms.CharField(max_length=200, required=False, label="Who was contacted")
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    debt_acknowledged = forms.BooleanField(required=False, label="The debtor acknowledged the debt in writing")


class NoticeForm(forms.Form):
    served_on = forms.DateField(widget=DATE, initial=_today)
    served_to = forms.CharField(max_length=200)
    method = forms.ChoiceField(choices=Notice.Method.choices)
    signed_acknowledgement = forms.BooleanField(required=False, label="Signed by the debtor")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class PromiseForm(forms.Form):
    promised_on = forms.DateField(widget=DATE, initial=_today, label="Promise made on")
    amount = forms.DecimalField(**MONEY)
    due_on = forms.DateField(widget=DATE, label="To be paid by")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class GuarantorDemandForm(forms.Form):
    guarantee = forms.ModelChoiceField(queryset=None, label="Guarantor")
    demanded_on = forms.DateField(widget=DATE, initial=_today)
    amount = forms.DecimalField(**MONEY)
    response = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guarantee"].queryset = case.loan.guarantees.select_related("guarantor")
        self.fields["guarantee"].label_from_instance = lambda g: f"{g.guarantor.name} ({g.amount:,.2f})"


class ProceedingForm(forms.Form):
    court = forms.CharField(max_length=200)
    case_number = forms.CharField(max_length=100, label="Court case number")
    filed_on = forms.DateField(widget=DATE, initial=_today)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ProceedingUpdateForm(forms.Form):
    proceeding = forms.ModelChoiceField(queryset=None)
    judgment_on = forms.DateField(widget=DATE, required=False, label="Judgment on")
    enforcement_order_on = forms.DateField(widget=DATE, required=False, label="Enforcement order on")

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proceeding"].queryset = case.proceedings.order_by("-filed_on", "-id")


class LegalStepForm(forms.Form):
    proceeding = forms.ModelChoiceField(queryset=None)
    kind = forms.ChoiceField(choices=[])
    taken_on = forms.DateField(widget=DATE, initial=_today)
    collateral = forms.ModelChoiceField(queryset=None, required=False)
    amount = forms.DecimalField(required=False, **MONEY)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = LegalStep.Kind.choices
        self.fields["proceeding"].queryset = case.proceedings.order_by("-filed_on", "-id")
        self.fields["collateral"].queryset = Collateral.objects.filter(loan_id=case.loan_id)


class AssetForm(forms.Form):
    kind = forms.ChoiceField(choices=Collateral.Kind.choices)
    description = forms.CharField(max_length=300)
    taken_on = forms.DateField(widget=DATE, initial=_today)
    appraised_value = forms.DecimalField(**MONEY)
    credited_amount = forms.DecimalField(
        required=False, help_text="The debt it settles; empty: the appraised value.", **MONEY
    )
    paid_by = forms.ChoiceField(choices=Recovery.PaidBy.choices, initial=Recovery.PaidBy.BORROWER)


class AssetDisposeForm(forms.Form):
    asset = forms.ModelChoiceField(queryset=None)
    disposed_on = forms.DateField(widget=DATE, initial=_today)
    disposal_proceeds = forms.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0"))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["asset"].queryset = case.assets.filter(disposed_on__isnull=True).order_by("-taken_on", "-id")


class RecoveryForm(forms.Form):
    received_on = forms.DateField(widget=DATE, initial=_today)
    amount = forms.DecimalField(**MONEY)
    paid_by = forms.ChoiceField(choices=Recovery.PaidBy.choices)
    note = forms.CharField(max_length=300, required=False)
    arrears_cleared = forms.BooleanField(
        required=False, label="Nothing is past due any more (the borrower is current again)"
    )


class TeamForm(forms.Form):
    members = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple, required=False)
    reason = forms.CharField(max_length=500)

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        # Staff of the case's branch and the branches above it (who may see the case).
        paths = [case.branch.path[: i + 1] for i, ch in enumerate(case.branch.path) if ch == "/" and i > 0]
        self.fields["members"].queryset = (
            User.objects.filter(is_active=True)
            .filter(Q(role="officer", branch_id=case.branch_id) | Q(role="manager", branch__path__in=paths))
            .order_by("last_name", "username")
        )
        self.fields["members"].label_from_instance = lambda u: f"{u.display_name} ({u.get_role_display()})"
