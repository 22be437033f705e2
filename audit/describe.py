"""The audit trail in words: event codes, subjects, field names and choice codes as people say them.

An AuditEvent keeps stable codes ("case.moved", {"measure": "legal"}); the audit page and its export
show "Case moved: Measure 2 Collaborative -> 3 Legal". The labels of the codes are here, in one
place; a code without a label (a new event) is shown humanised rather than hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from audit.labels import EVENT_LABELS, FIELD_LABELS
from audit.services import SYSTEM_EVENT_PREFIX

# --- what happened -------------------------------------------------------------------------------


# Families of events, for the search form: a code ending in "." matches every event it begins.
EVENT_FAMILIES: dict[str, Any] = {
    "case.": _("Every case event"),
    "loan.": _("Every loan event"),
    "accountability.": _("Every sanction and reward event"),
    "user.": _("Every account event"),
    SYSTEM_EVENT_PREFIX: _("Every run of the system"),
}


def event_choices() -> list[tuple[Any, Any]]:
    """The search form's event choices: families first, then every labelled event."""
    return [
        (_("Families"), list(EVENT_FAMILIES.items())),
        (_("Events"), sorted(EVENT_LABELS.items(), key=lambda kv: str(kv[1]))),
    ]


# --- about what ----------------------------------------------------------------------------------

SUBJECT_LABELS: dict[str, Any] = {
    "collections_app.collectioncase": _("Case"),
    "loans.loan": _("Loan"),
    "accountability.accountabilityrecord": _("Sanction or reward"),
    "accountability.responsibilityassignment": _("Division of responsibility"),
    "accountability.loansbyloansflag": _("Loans-by-loans flag"),
    "accountability.dailycheckrun": _("Daily check run"),
    "loans.importbatch": _("Import"),
    "loans.classificationrun": _("Classification run"),
    "collections_app.caseopeningrun": _("Case opening run"),
    "loans.user": _("User"),
    "loans.branch": _("Branch"),
}

# Where each kind of subject is shown: (URL name, its one argument is the subject's id).
SUBJECT_URLS: dict[str, str] = {
    "collections_app.collectioncase": "collections_app:case_detail",
    "loans.loan": "loans:loan_detail",
    "accountability.accountabilityrecord": "accountability:record_detail",
    "loans.importbatch": "loans:import_detail",
}


def subject_label(subject_type: str) -> str:
    if subject_type in SUBJECT_LABELS:
        return str(SUBJECT_LABELS[subject_type])
    model = _model(subject_type)
    return str(model._meta.verbose_name).capitalize() if model else subject_type


# --- which field, and its value in words ---------------------------------------------------------


# Keys whose values are user ids (or lists of them), shown as names.
USER_KEYS = frozenset({"officer", "team", "decided_by", "recorded_by", "reviewed_by", "actor"})
# Keys whose values are loan ids, shown as loan numbers.
LOAN_KEYS = frozenset({"loan"})


def _model(label: str) -> Any:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _field_choices(model_label: str, field: str) -> Callable[[], dict[str, str]]:
    def load() -> dict[str, str]:
        model = _model(model_label)
        return {str(k): str(v) for k, v in model._meta.get_field(field).flatchoices} if model else {}

    return load


def _measures() -> dict[str, str]:
    from collections_app.case_rules import MEASURE_LABELS

    return {str(k.value): str(v) for k, v in MEASURE_LABELS.items()}


def _five_levels() -> dict[str, str]:
    from loans.classification import FIVE_LEVEL_LABELS

    return {str(k.value): str(v) for k, v in FIVE_LEVEL_LABELS.items()}


def _roles() -> dict[str, str]:
    from loans.models import Role

    return {str(k): str(v) for k, v in Role.choices}


# The choices a value is one of, by key, whatever the event (the subject's own fields come next).
KEY_CHOICES: dict[str, Callable[[], dict[str, str]]] = {
    "measure": _measures,
    "target": _measures,
    "form": _field_choices("collections_app.Recovery", "form"),
    "paid_by": _field_choices("collections_app.Recovery", "paid_by"),
    "type": _field_choices("accountability.AccountabilityRecord", "record_type"),
    "five_level_class": _five_levels,
    "manual_five_level_class": _five_levels,
    "four_level_class": _field_choices("loans.Loan", "four_level_class"),
    "insider_kind": _field_choices("loans.Borrower", "insider_kind"),
    "role": _roles,
}
# ... and where one key means different things in different events.
EVENT_KEY_CHOICES: dict[tuple[str, str], Callable[[], dict[str, str]]] = {
    ("case.contact_recorded", "kind"): _field_choices("collections_app.Contact", "kind"),
    ("case.legal_step", "kind"): _field_choices("collections_app.LegalStep", "kind"),
    ("case.promise_broken", "status"): _field_choices("collections_app.PromiseToPay", "status"),
    ("case.request_approved", "status"): _field_choices("collections_app.CaseRequest", "status"),
    ("case.request_rejected", "status"): _field_choices("collections_app.CaseRequest", "status"),
    # the balance ledger (issue 11): the ledger's own kinds and forms, not a contact's or a recovery's
    ("ledger.entry_posted", "kind"): _field_choices("ledger.LedgerEntry", "kind"),
    ("ledger.entry_posted", "approval"): _field_choices("ledger.LedgerEntry", "approval"),
    ("ledger.entry_approved", "approval"): _field_choices("ledger.LedgerEntry", "approval"),
    ("ledger.entry_refused", "approval"): _field_choices("ledger.LedgerEntry", "approval"),
    ("case.recovery_recorded", "approval"): _field_choices("ledger.LedgerEntry", "approval"),
}


@dataclass(frozen=True)
class Change:
    """One field of an event: its label, and the value before and after in words ("" when absent)."""

    field: str
    old: str
    new: str


class Describer:
    """Puts events into words. Names of the users and loans they mention are read in bulk and kept."""

    def __init__(self) -> None:
        self.user_names: dict[int, str] = {}
        self.loan_numbers: dict[int, str] = {}
        self._choices: dict[tuple[str, str, str], dict[str, str] | None] = {}

    # -- bulk look-ups ---------------------------------------------------------------------------

    def prefetch(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Read the names of every user and loan the events mention (two queries at most)."""
        users: set[int] = set()
        loans: set[int] = set()
        for event in events:
            for values in (event.get("old_values") or {}, event.get("new_values") or {}):
                for key, value in values.items():
                    if key in USER_KEYS:
                        users.update(_ids(value))
                    elif key == "shares" and isinstance(value, dict):
                        users.update(_ids(list(value)))
                    elif key in LOAN_KEYS:
                        loans.update(_ids(value))
        self._load_users(users - set(self.user_names))
        self._load_loans(loans - set(self.loan_numbers))

    def _load_users(self, ids: set[int]) -> None:
        if ids:
            from loans.models import User

            for user in User.objects.filter(pk__in=ids).only("username", "first_name", "last_name"):
                self.user_names[user.pk] = user.display_name

    def _load_loans(self, ids: set[int]) -> None:
        if ids:
            from loans.models import Loan

            self.loan_numbers.update(Loan._base_manager.filter(pk__in=ids).values_list("pk", "loan_no"))

    def _user(self, value: Any) -> str:
        try:
            pk = int(value)
        except (TypeError, ValueError):
            return str(value)
        if pk not in self.user_names:
            self._load_users({pk})
        return self.user_names.get(pk, f"#{pk}")

    def _loan(self, value: Any) -> str:
        try:
            pk = int(value)
        except (TypeError, ValueError):
            return str(value)
        if pk not in self.loan_numbers:
            self._load_loans({pk})
        return self.loan_numbers.get(pk, f"#{pk}")

    # -- labels ------------------------------------------------------------------------------------

    def field_label(self, subject_type: str, key: str) -> str:
        if key in FIELD_LABELS:
            return str(FIELD_LABELS[key])
        model = _model(subject_type)
        if model is not None:
            try:
                return str(model._meta.get_field(key).verbose_name).capitalize()
            except FieldDoesNotExist:
                pass
        return key.replace("_", " ").capitalize()

    def choices(self, event_type: str, subject_type: str, key: str) -> dict[str, str] | None:
        cache_key = (event_type, subject_type, key)
        if cache_key not in self._choices:
            loader = EVENT_KEY_CHOICES.get((event_type, key)) or KEY_CHOICES.get(key)
            found = loader() if loader else None
            if found is None:
                model = _model(subject_type)
                try:
                    field = model._meta.get_field(key) if model is not None else None
                except FieldDoesNotExist:
                    field = None
                if field is not None and field.choices:
                    found = {str(k): str(v) for k, v in field.flatchoices}
            self._choices[cache_key] = found
        return self._choices[cache_key]

    def value(self, event_type: str, subject_type: str, key: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if key in USER_KEYS:
            return ", ".join(self._user(v) for v in value) if isinstance(value, list) else self._user(value)
        if key in LOAN_KEYS:
            return self._loan(value)
        if key == "shares" and isinstance(value, dict):
            return ", ".join(f"{self._user(officer)} {share}%" for officer, share in value.items())
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        choices = self.choices(event_type, subject_type, key)
        if choices and str(value) in choices:
            return choices[str(value)]
        if isinstance(value, list):
            return ", ".join(self.value(event_type, subject_type, key, v) for v in value) or "—"
        if isinstance(value, dict):
            return "; ".join(
                f"{self.field_label(subject_type, k)}: {self.value(event_type, subject_type, k, v)}"
                for k, v in value.items()
            )
        return str(value)

    def changes(self, event: Mapping[str, Any]) -> list[Change]:
        """The event's fields, old and new side by side, in the order the event wrote them."""
        old, new = event.get("old_values") or {}, event.get("new_values") or {}
        event_type, subject_type = event["event_type"], event["subject_type"]
        keys = list(dict.fromkeys([*new, *old]))
        return [
            Change(
                field=self.field_label(subject_type, key),
                old=self.value(event_type, subject_type, key, old[key]) if key in old else "",
                new=self.value(event_type, subject_type, key, new[key]) if key in new else "",
            )
            for key in keys
        ]

    def changes_text(self, event: Mapping[str, Any]) -> str:
        """One line for a spreadsheet cell: "Measure: 2 Collaborative -> 3 Legal; Amount: 100.00"."""
        parts = []
        for change in self.changes(event):
            if change.old and change.new:
                parts.append(f"{change.field}: {change.old} → {change.new}")
            else:
                parts.append(f"{change.field}: {change.new or change.old}")
        return "; ".join(parts)


def _ids(value: Any) -> set[int]:
    values = value if isinstance(value, list) else [value]
    out = set()
    for v in values:
        try:
            out.add(int(v))
        except (TypeError, ValueError):
            continue
    return out


def event_dict(event: Any) -> dict[str, Any]:
    """The fields the Describer reads, from an AuditEvent."""
    return {
        "event_type": event.event_type,
        "subject_type": event.subject_type,
        "old_values": event.old_values,
        "new_values": event.new_values,
    }
