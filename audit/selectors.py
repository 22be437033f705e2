"""Reads of the audit trail, always scoped to the user (AuditEvent.objects.visible_to)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet

from audit.models import AuditEvent

CASE = "collections_app.collectioncase"
LOAN = "loans.loan"


def audit_events_for(*, user: Any) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.visible_to(user).select_related("actor", "branch")


def _about(subject_type: str, ids: Any) -> Q:
    """Events whose subject is of this type and one of these ids (a queryset of ids, or a list)."""
    return Q(subject_type=subject_type, subject_id__in=ids)


def _model(label: str) -> Any:
    return apps.get_model(label)


def case_history_condition(case_ids: Any) -> Q:
    """A case's whole history: the case itself, its divisions of responsibility, and the sanctions
    and rewards proposed for it. `case_ids` is a list or a queryset of case ids."""
    assignments = _model("accountability.ResponsibilityAssignment")._base_manager.filter(case__in=case_ids)
    records = _model("accountability.AccountabilityRecord")._base_manager.filter(case__in=case_ids)
    # A case opened by the checks or a classification has no event of its own: the opener's run
    # (one system event per run) names the range of case ids it opened.
    opened_by_run = _model("collections_app.CaseOpeningRun")._base_manager.filter(
        Exists(
            _model("collections_app.CollectionCase")._base_manager.filter(
                pk__in=case_ids,
                pk__gte=OuterRef("first_case_id"),
                pk__lte=OuterRef("last_case_id"),
                opened_on=OuterRef("as_of"),
            )
        )
    )
    return (
        _about(CASE, case_ids)
        | _about(opened_by_run.model._meta.label_lower, opened_by_run.values("pk"))
        | _about(assignments.model._meta.label_lower, assignments.values("pk"))
        | _about(records.model._meta.label_lower, records.values("pk"))
    )


def loan_history_condition(loan_id: int) -> Q:
    """A loan's whole history: the loan, every case it had (with their history), sanctions and
    rewards about it, and the loans-by-loans flags that name it."""
    cases = _model("collections_app.CollectionCase")._base_manager.filter(loan_id=loan_id).values("pk")
    records = _model("accountability.AccountabilityRecord")._base_manager.filter(loan_id=loan_id)
    flags = _model("accountability.LoansByLoansFlag")._base_manager.filter(
        Q(new_loan_id=loan_id) | Q(overdue_loan_id=loan_id)
    )
    return (
        _about(LOAN, [loan_id])
        | case_history_condition(cases)
        | _about(records.model._meta.label_lower, records.values("pk"))
        | _about(flags.model._meta.label_lower, flags.values("pk"))
    )
