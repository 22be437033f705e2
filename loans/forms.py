from django import forms
from django.utils.translation import gettext_lazy as _

from loans.models import Loan


class ManualClassificationForm(forms.Form):
    five_level_class = forms.ChoiceField(choices=Loan.FIVE_LEVEL_CHOICES, label=_("Five-level class"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Reason"), max_length=500)


class AsOfForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
