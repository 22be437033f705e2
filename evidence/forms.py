from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from evidence.models import DocumentKind, EvidenceFile
from evidence.services import evidence_check
from loans.models import Guarantee


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


class DocumentGenerateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)
    guarantee = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Guarantor"), help_text=_("For a demand on a guarantor.")
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guarantee"].queryset = Guarantee.objects.filter(loan_id=case.loan_id).select_related("guarantor")
        self.fields["guarantee"].label_from_instance = lambda g: g.guarantor.name


class TemplateUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)
    file = forms.FileField(label=_("Word template (DOCX)"))
    note = forms.CharField(label=_("What changed"), max_length=300, required=False)
