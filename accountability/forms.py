"""Forms of the accountability pages. They parse input; the rules live in services.py and rules.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from accountability.models import LoansByLoansFlag, RecordType
from accountability.rules import RewardType, shares_problem
from collections_app.models import CollectionCase
from loans.models import Role, User

DATE = forms.DateInput(attrs={"type": "date"})
SHARE_ROWS = 4


def officers_for_case(case: CollectionCase):
    """Staff who may answer for the case: active officers and managers who see its branch."""
    candidates = User.objects.filter(is_active=True, role__in=[Role.OFFICER, Role.MANAGER]).select_related("branch")
    return [u for u in candidates if CollectionCase.objects.visible_to(u).filter(pk=case.pk).exists()]


class DivisionForm(forms.Form):
    """A new division of responsibility: up to four officers with shares adding up to 100%."""

    recovery_deadline = forms.DateField(widget=DATE, label="Recovery time limit")
    promised_reward = forms.ChoiceField(
        choices=[
            (RewardType.BONUS.value, "Bonus (a share of the cash recovered)"),
            (RewardType.COMMENDATION.value, "Commendation"),
        ],
        label="Promised for recovery within the time limit",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=300)

    def __init__(self, *args: Any, officers: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [
            (str(u.pk), f"{u.display_name} ({u.get_role_display()}, {u.branch.name})") for u in officers
        ]
        self._officers = {str(u.pk): u for u in officers}
        for i in range(1, SHARE_ROWS + 1):
            self.fields[f"officer_{i}"] = forms.ChoiceField(choices=choices, required=i == 1, label=f"Officer {i}")
            self.fields[f"share_{i}"] = forms.DecimalField(
                max_digits=5,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=Decimal("100"),
                required=False,
                label="Share (%)",
            )

    def main_fields(self) -> list[forms.BoundField]:
        return [self["recovery_deadline"], self["promised_reward"], self["reason"]]

    def share_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"officer_{i}"], self[f"share_{i}"]) for i in range(1, SHARE_ROWS + 1)]

    def clean(self) -> dict:
        data = super().clean()
        pairs = []
        for i in range(1, SHARE_ROWS + 1):
            officer, share = data.get(f"officer_{i}"), data.get(f"share_{i}")
            if officer and share is None:
                self.add_error(f"share_{i}", "Give this officer's share.")
            elif share is not None and not officer:
                self.add_error(f"officer_{i}", "Choose the officer of this share.")
            elif officer:
                pairs.append((self._officers[officer], share))
        if pairs and not self.errors:
            problem = shares_problem([s for _, s in pairs])
            if problem:
                raise forms.ValidationError(problem)
        data["shares"] = pairs
        return data


class ProposalForm(forms.Form):
    officer = forms.ModelChoiceField(queryset=User.objects.none())
    record_type = forms.ChoiceField(choices=RecordType.choices, label="Sanction or reward")
    amount = forms.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="For compensation and bonus.",
    )
    case = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args: Any, officers, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("impose", "Impose"), ("waive", "Waive"), ("lift", "Lift"), ("honour", "Honour")],
        widget=forms.HiddenInput,
    )
    seen_state = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.TextInput(attrs={"placeholder": "Reason"}), required=False, max_length=2000)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("decision") == "waive" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why it is waived.")
        return data


class FlagReviewForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(LoansByLoansFlag.Status.CONFIRMED, "Confirm"), (LoansByLoansFlag.Status.CLEARED, "Clear (explained)")]
    )
    note = forms.CharField(widget=forms.TextInput(attrs={"placeholder": "Note"}), max_length=2000)


class AsOfForm(forms.Form):
    as_of = forms.DateField(widget=DATE, initial=timezone.localdate, required=False)
