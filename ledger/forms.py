from django import forms
from django.utils.translation import gettext_lazy as _


class EntryDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("refuse", _("Refuse"))])
    reason = forms.CharField(label=_("Decision note"), required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "refuse" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the value date is refused."))
        return data
