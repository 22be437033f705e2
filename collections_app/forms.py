"""Forms of the case page. They parse input; the rules live in services/ and case_rules.py."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collections_app.case_rules import MEASURE_LABELS, Measure, promise_after_time_limit
from collections_app.models import CaseCost, CollectionCase, Contact, LegalProceeding, LegalStep, Notice, Recovery
from loans.models import Collateral, User
from npl_recovery.i18n import format_amount, format_day

DATE = forms.DateInput(attrs={"type": "date"})
MONEY = {"max_digits": 18, "decimal_places": 2, "min_value": Decimal("0.01")}


def _today() -> str:
    return timezone.localdate().isoformat()


class MoveForm(forms.Form):
    target = forms.ChoiceField(choices=[(m.value, MEASURE_LABELS[m]) for m in Measure], widget=forms.HiddenInput)
    seen_measure = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
    # The second step: the user has read what the move does ("it can never go back") and confirms.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RequestForm(MoveForm):
    reason = forms.CharField(
        label=_("Why"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text=_("Why the case needs this move."),
    )
    # A write-off: why the loss is unrecoverable; it decides the dossier's evidence (evidence/dossier.py).
    write_off_reason = forms.ChoiceField(label=_("Write-off reason"), required=False, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["write_off_reason"].choices = write_off_reason_choices()


def write_off_reason_choices() -> list[tuple[str, str]]:
    from evidence.dossier import reason_label
    from evidence.policy import write_off_policy

    return [("", "")] + [(code, reason_label(code)) for code in write_off_policy().write_off_evidence]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(
        label=_("Decision note"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # Where to go after the decision: "inbox" (the approvals inbox, next request) or the case page.
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the request is rejected."))
        return data


class OpenCaseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=300)


class ContactForm(forms.Form):
    kind = forms.ChoiceField(choices=Contact.Kind.choices, label=_("Kind of contact"))
    contacted_on = forms.DateField(widget=DATE, initial=_today, label=_("Date"))
    person = forms.CharField(max_length=200, required=False, label=_("Who was contacted"))
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("What was said or done"))
    debt_acknowledged = forms.BooleanField(required=False, label=_("The debtor acknowledged the debt in writing"))


class NoticeForm(forms.Form):
    served_on = forms.DateField(widget=DATE, initial=_today, label=_("Served on"))
    served_to = forms.CharField(max_length=200, label=_("Served to"))
    method = forms.ChoiceField(choices=Notice.Method.choices, label=_("How it was served"))
    tracking_number = forms.CharField(
        max_length=60, required=False, label=_("Tracking number"), help_text=_("For registered mail.")
    )
    document = forms.ModelChoiceField(queryset=None, required=False, label=_("Document served"))
    signed_acknowledgement = forms.BooleanField(required=False, label=_("Signed by the debtor"))
    receipt = forms.FileField(required=False, label=_("Signed receipt"))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Notes"))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = case.generated_documents.order_by("-generated_at", "-id")


class ReceiptForm(forms.Form):
    """A notice's signed receipt, attached after the notice was recorded."""

    notice = forms.ModelChoiceField(queryset=None, label=_("Notice"))
    receipt = forms.FileField(label=_("Signed receipt"))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["notice"].queryset = case.notices.filter(receipt__isnull=True).order_by("-served_on", "-id")
        self.fields["notice"].label_from_instance = lambda n: (
            _("Served on %(on)s to %(to)s")
            % {
                "on": format_day(n.served_on),
                "to": n.served_to,
            }
        )


class AbilityForm(forms.Form):
    able_to_pay = forms.TypedChoiceField(
        choices=[("yes", _("Able to pay")), ("no", _("Unable to pay"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        label=_("The debtor is"),
    )
    refuses_to_pay = forms.BooleanField(
        required=False,
        label=_("Refuses to pay"),
        help_text=_("Able but unwilling: the legal measure may be requested without a served notice."),
    )
    evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label=_("Evidence"), help_text=_("Income, assets, statements.")
    )
    assessed_on = forms.DateField(widget=DATE, initial=_today, label=_("Assessed on"))


class DishonestDebtorForm(forms.Form):
    listed_since = forms.DateField(widget=DATE, label=_("On the list since"))
    court = forms.CharField(max_length=200, label=_("Court"))
    reference = forms.CharField(max_length=100, label=_("Reference"))


class PromiseForm(forms.Form):
    promised_on = forms.DateField(widget=DATE, initial=_today, label=_("Promise made on"))
    amount = forms.DecimalField(label=_("Amount"), **MONEY)
    due_on = forms.DateField(widget=DATE, label=_("To be paid by"))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Notes"))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["due_on"].help_text = _("The case's time limit: %(deadline)s.") % {
            "deadline": format_day(case.recovery_deadline)
        }

    @property
    def warning(self) -> str | None:
        """Allowed, but said: a promise due after the case's time limit (case_rules)."""
        due_on = self.cleaned_data.get("due_on") if hasattr(self, "cleaned_data") else None
        return promise_after_time_limit(due_on, self.case.recovery_deadline) if due_on else None


class GuarantorDemandForm(forms.Form):
    guarantee = forms.ModelChoiceField(queryset=None, label=_("Guarantor"))
    demanded_on = forms.DateField(widget=DATE, initial=_today, label=_("Demanded on"))
    amount = forms.DecimalField(label=_("Amount"), **MONEY)
    response = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Response"))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guarantee"].queryset = case.loan.guarantees.select_related("guarantor")
        self.fields["guarantee"].label_from_instance = lambda g: (
            f"{g.guarantor.name} ({format_amount(g.amount, currency=True)})"
        )


class ProceedingForm(forms.Form):
    forum = forms.ChoiceField(
        choices=LegalProceeding.Forum.choices, initial=LegalProceeding.Forum.COURT, label=_("Forum")
    )
    court = forms.CharField(max_length=200, label=_("Court or authority"))
    case_number = forms.CharField(max_length=100, label=_("Court case number"))
    cause = forms.CharField(max_length=200, required=False, label=_("Cause of action"))
    claim_principal = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal("0"), required=False, label=_("Claimed principal")
    )
    claim_interest = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal("0"), required=False, label=_("Claimed interest")
    )
    claim_costs = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal("0"), required=False, label=_("Claimed costs")
    )
    lawyer = forms.CharField(max_length=200, required=False, label=_("Lawyer or law firm"))
    filed_on = forms.DateField(widget=DATE, initial=_today, label=_("Filed on"))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Notes"))


class ProceedingUpdateForm(forms.Form):
    proceeding = forms.ModelChoiceField(queryset=None, label=_("Proceeding"))
    judgment_on = forms.DateField(widget=DATE, required=False, label=_("Judgment on"))
    enforcement_order_on = forms.DateField(widget=DATE, required=False, label=_("Enforcement order on"))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proceeding"].queryset = case.proceedings.order_by("-filed_on", "-id")


class LegalStepForm(forms.Form):
    proceeding = forms.ModelChoiceField(queryset=None, label=_("Proceeding"))
    kind = forms.ChoiceField(choices=[], label=_("Enforcement step"))
    taken_on = forms.DateField(widget=DATE, initial=_today, label=_("Taken on"))
    collateral = forms.ModelChoiceField(queryset=None, required=False, label=_("Collateral"))
    amount = forms.DecimalField(required=False, label=_("Amount"), **MONEY)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Notes"))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = LegalStep.Kind.choices
        self.fields["proceeding"].queryset = case.proceedings.order_by("-filed_on", "-id")
        self.fields["collateral"].queryset = Collateral.objects.filter(loan_id=case.loan_id)


class AssetForm(forms.Form):
    kind = forms.ChoiceField(choices=Collateral.Kind.choices, label=_("Kind of asset"))
    description = forms.CharField(max_length=300, label=_("Description"))
    taken_on = forms.DateField(widget=DATE, initial=_today, label=_("Taken on"))
    appraised_value = forms.DecimalField(label=_("Appraised value"), **MONEY)
    credited_amount = forms.DecimalField(
        required=False,
        label=_("Credited amount"),
        help_text=_("The debt it settles; empty: the appraised value."),
        **MONEY,
    )
    paid_by = forms.ChoiceField(choices=Recovery.PaidBy.choices, initial=Recovery.PaidBy.BORROWER, label=_("Paid by"))


class AssetDisposeForm(forms.Form):
    asset = forms.ModelChoiceField(queryset=None, label=_("Asset taken in kind"))
    disposed_on = forms.DateField(widget=DATE, initial=_today, label=_("Disposed of on"))
    disposal_proceeds = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal("0"), label=_("Disposal proceeds")
    )

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["asset"].queryset = case.assets.filter(disposed_on__isnull=True).order_by("-taken_on", "-id")


class RecoveryForm(forms.Form):
    received_on = forms.DateField(widget=DATE, initial=_today, label=_("Received on"))
    amount = forms.DecimalField(label=_("Amount"), **MONEY)
    paid_by = forms.ChoiceField(choices=Recovery.PaidBy.choices, label=_("Paid by"))
    note = forms.CharField(max_length=300, required=False, label=_("Note"))
    arrears_cleared = forms.BooleanField(
        required=False, label=_("Nothing is past due any more (the borrower is current again)")
    )


class TeamForm(forms.Form):
    members = forms.ModelMultipleChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, required=False, label=_("Members")
    )
    reason = forms.CharField(max_length=500, label=_("Reason"))

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


class CostForm(forms.Form):
    kind = forms.ChoiceField(choices=CaseCost.Kind.choices, label=_("Kind of cost"))
    amount = forms.DecimalField(label=_("Amount"), **MONEY)
    incurred_on = forms.DateField(widget=DATE, initial=_today, label=_("Incurred on"))
    borne_by = forms.ChoiceField(choices=CaseCost.BorneBy.choices, label=_("Who bore it"))
    recoverable = forms.BooleanField(required=False, initial=True, label=_("The debtor owes it back"))
    source_document = forms.CharField(
        max_length=200,
        required=False,
        label=_("Source document"),
        help_text=_("Invoice, receipt or fee notice number."),
    )
    note = forms.CharField(max_length=300, required=False, label=_("Notes"))


class CostCorrectionForm(CostForm):
    """Correct a recorded cost (its reversal and the cost as it should be) or only reverse it."""

    action = forms.ChoiceField(
        choices=[("correct", _("Correct it")), ("reverse", _("Reverse it (recorded in error)"))],
        initial="correct",
        widget=forms.RadioSelect,
        label=_("Correction"),
    )
    reason = forms.CharField(max_length=300, label=_("Why"), help_text=_("What was wrong, and how you know."))
    field_order = ["action", "kind", "amount", "incurred_on", "borne_by", "recoverable", "source_document", "note"]

    def __init__(self, *args, cost=None, **kwargs):
        if cost is not None:
            kwargs.setdefault("prefix", f"fix-{cost.pk}")
            kwargs.setdefault(
                "initial",
                {
                    "kind": cost.kind,
                    "amount": cost.amount,
                    "incurred_on": cost.incurred_on,
                    "borne_by": cost.borne_by,
                    "recoverable": cost.recoverable,
                    "source_document": cost.source_document,
                    "note": cost.note,
                },
            )
        super().__init__(*args, **kwargs)
        if self.data and self.data.get(self.add_prefix("action")) == "reverse":
            # Reversing needs only the reason.
            for name in ("kind", "amount", "incurred_on", "borne_by"):
                self.fields[name].required = False
