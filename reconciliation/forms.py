from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reconciliation.models import ReportedFall

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ClassifyForm(forms.Form):
    outcome = forms.ChoiceField(choices=ReportedFall.Outcome.choices, widget=forms.RadioSelect, label=_("The fall was"))
    value_date = forms.DateField(
        widget=DATE,
        required=False,
        label=_("Value date"),
        help_text=_("For a cash repayment: the day the money came in (the book reports only the day of the file)."),
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        label=_("Note"),
        help_text=_("Required for “other”: say what it was."),
    )


class RiseAcknowledgeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        label=_("Why"),
        help_text=_("Why the rise is right, or what was done about it (e.g. interest accrued, a book error reported)."),
    )
