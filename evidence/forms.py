from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from evidence.models import EvidenceFile
from evidence.services import evidence_check


class EvidenceUploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    kind = forms.ChoiceField(label=_("Kind of evidence"), choices=EvidenceFile.Kind.choices)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    # The write-off dossier's item this file proves (filled by the dossier's own form).
    requirement = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            self.detected = evidence_check(upload)
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["file"]) from exc
        return upload
