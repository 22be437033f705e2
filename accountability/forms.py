"""Forms of the accountability pages. They parse input; the rules live in services.py and rules.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accountability.models import CaseCause, LoansByLoansFlag, RecordType
from accountability.rules import HUMAN_CAUSES, OBJECTIVE_CAUSES, RewardType, shares_problem
from collections_app.models import CollectionCase
from loans.access import visible_branch_ids
from loans.models import Role, User

DATE = forms.DateInput(attrs={"type": "date"})
SHARE_ROWS = 4


def officers_for_case(case: CollectionCase):
    """The picker of a division: active loan officers who see the case's branch (a manager may still
    carry a share given before; the picker offers officers, whose work the division is)."""
    candidates = (
        User.objects.filter(is_active=True, role=Role.OFFICER)
        .select_related("branch")
        .order_by("last_name", "first_name", "username")
    )
    return [u for u in candidates if CollectionCase.objects.visible_to(u).filter(pk=case.pk).exists()]


class ShareRowsMixin:
    """Up to SHARE_ROWS rows of a person and their share: a division of responsibility, a cause's staff.
    Each form names its person field and its words; the sum rule lives in rules.shares_problem."""

    person_field = "person"
    first_row_required = False
    person_label: Any = None
    share_missing: Any = None
    person_missing: Any = None

    def add_share_rows(self, people: list[User]) -> None:
        choices = [("", "—")] + [
            (str(u.pk), f"{u.display_name} ({u.branch.name})" if u.branch else u.display_name) for u in people
        ]
        self._people = {str(u.pk): u for u in people}
        for i in range(1, SHARE_ROWS + 1):
            self.fields[f"{self.person_field}_{i}"] = forms.ChoiceField(
                choices=choices, required=self.first_row_required and i == 1, label=self.person_label % {"n": i}
            )
            self.fields[f"share_{i}"] = forms.DecimalField(
                max_digits=5,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=Decimal("100"),
                required=False,
                label=_("Share (%)"),
            )

    def share_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"{self.person_field}_{i}"], self[f"share_{i}"]) for i in range(1, SHARE_ROWS + 1)]

    def clean_share_rows(self, data: dict) -> list[tuple[User, Decimal]]:
        """The (person, share) pairs given; a row with only one half is an error on the missing field."""
        pairs = []
        for i in range(1, SHARE_ROWS + 1):
            person, share = data.get(f"{self.person_field}_{i}"), data.get(f"share_{i}")
            if person and share is None:
                self.add_error(f"share_{i}", self.share_missing)
            elif share is not None and not person:
                self.add_error(f"{self.person_field}_{i}", self.person_missing)
            elif person:
                pairs.append((self._people[person], share))
        return pairs


class DivisionForm(ShareRowsMixin, forms.Form):
    """A new division of responsibility: up to four officers with shares adding up to 100%."""

    recovery_deadline = forms.DateField(widget=DATE, label=_("Recovery time limit"))
    promised_reward = forms.ChoiceField(
        choices=[
            (RewardType.BONUS.value, _("Bonus (a share of the cash recovered)")),
            (RewardType.COMMENDATION.value, _("Commendation")),
        ],
        label=_("Promised for recovery within the time limit"),
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=300, label=_("Reason"))

    person_field = "officer"
    first_row_required = True
    person_label = _("Officer %(n)d")
    share_missing = _("Give this officer's share.")
    person_missing = _("Choose the officer of this share.")

    def __init__(self, *args: Any, officers: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_share_rows(officers)

    def main_fields(self) -> list[forms.BoundField]:
        return [self["recovery_deadline"], self["promised_reward"], self["reason"]]

    def clean(self) -> dict:
        data = super().clean()
        pairs = self.clean_share_rows(data)
        if pairs and not self.errors:
            problem = shares_problem([s for _, s in pairs])
            if problem:
                raise forms.ValidationError(problem)
        data["shares"] = pairs
        return data


class PersonChoiceField(forms.ModelChoiceField):
    """Staff by their full names."""

    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class ProposalForm(forms.Form):
    officer = PersonChoiceField(queryset=User.objects.none(), label=_("Officer"))
    record_type = forms.ChoiceField(choices=RecordType.choices, label=_("Sanction or reward"))
    amount = forms.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        label=_("Amount"),
        help_text=_("For compensation and bonus."),
    )
    case = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("Reason"))

    def __init__(self, *args: Any, officers, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("impose", _("Impose")), ("waive", _("Waive")), ("lift", _("Lift")), ("honour", _("Honour"))],
        widget=forms.HiddenInput,
    )
    seen_state = forms.CharField(widget=forms.HiddenInput)
    # Which decisions need a reason is a rule (accountability.rules.decision_reason_missing): the
    # service says so, naming the field.
    reason = forms.CharField(
        widget=forms.TextInput(attrs={"placeholder": _("Reason")}), required=False, max_length=2000, label=_("Reason")
    )


class FlagReviewForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (LoansByLoansFlag.Status.CONFIRMED, _("Confirm")),
            (LoansByLoansFlag.Status.CLEARED, _("Clear (explained)")),
        ],
        label=_("Review"),
    )
    note = forms.CharField(widget=forms.TextInput(attrs={"placeholder": _("Note")}), max_length=2000, label=_("Note"))


class AsOfForm(forms.Form):
    as_of = forms.DateField(widget=DATE, initial=timezone.localdate, required=False, label=_("As of"))


def staff_for_cause(actor: Any) -> list[User]:
    """Whom a cause may name: active officers and managers of the branches the manager sees."""
    people = User.objects.filter(is_active=True, role__in=[Role.OFFICER, Role.MANAGER]).select_related("branch")
    ids = visible_branch_ids(actor)
    if ids is not None:
        people = people.filter(branch_id__in=ids)
    return list(people.exclude(pk=actor.pk).order_by("last_name", "first_name", "username"))


class CauseForm(ShareRowsMixin, forms.Form):
    """Why the loan went bad; for a human cause, the staff concerned with shares adding up to 100%."""

    kind = forms.ChoiceField(
        choices=[
            (_("Objective"), [(k.value, k.label) for k in CaseCause.Kind if k.value in OBJECTIVE_CAUSES]),
            (_("Human factors"), [(k.value, k.label) for k in CaseCause.Kind if k.value in HUMAN_CAUSES]),
        ],
        label=_("Cause"),
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("What happened"))

    person_label = _("Person %(n)d")
    share_missing = _("Give this person's share.")
    person_missing = _("Choose the person of this share.")

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_share_rows(people)

    def clean(self) -> dict:
        data = super().clean()
        data["staff"] = self.clean_share_rows(data)
        return data
