from django import forms

from loans.models import Loan


class ManualClassificationForm(forms.Form):
    five_level_class = forms.ChoiceField(choices=Loan.FIVE_LEVEL_CHOICES, label="Five-level class")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reason", max_length=500)


class AsOfForm(forms.Form):
    as_of = forms.DateField(label="As of", widget=forms.DateInput(attrs={"type": "date"}))
