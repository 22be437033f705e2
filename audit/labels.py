"""The audit trail in words: each event code and each recorded field has one label, in both
languages (the codes themselves stay stable in the database and in exports for machines)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.services import SYSTEM_EVENT_PREFIX

EVENT_LABELS = {
    # accountability
    "accountability.proposed": _("Sanction or reward proposed"),
    "accountability.imposed": _("Sanction imposed or reward granted"),
    "accountability.waived": _("Proposal waived"),
    "accountability.lifted": _("Sanction lifted"),
    "accountability.honoured": _("Reward honoured"),
    "accountability.to_be_lifted": _("Sanction to be lifted (recovered in time)"),
    "responsibility.assigned": _("Responsibility divided"),
    "responsibility.first_divisions": _("First divisions of responsibility given"),
    "loans_by_loans.reviewed": _("Loans-by-loans flag reviewed"),
    "daily_check_run.requeued": _("Daily check sent again"),
    "daily_check_run.failed": _("Daily check failed"),
    # collection cases
    "case.opened": _("Case opened"),
    "cases_opened": _("Cases opened"),
    "case.moved": _("Case moved to another measure"),
    "case.escalated": _("Case escalated"),
    "case.move_requested": _("Move requested"),
    "case.request_approved": _("Request approved"),
    "case.request_rejected": _("Request rejected"),
    "case.contact_recorded": _("Contact recorded"),
    "case.notice_served": _("Collection notice served"),
    "case.promise_recorded": _("Promise to pay recorded"),
    "case.promise_kept": _("Promise to pay kept"),
    "case.promise_broken": _("Promise to pay broken"),
    "case.recovery_recorded": _("Recovery recorded"),
    "case.asset_taken": _("Asset taken in kind"),
    "case.asset_disposed": _("Asset taken in kind disposed of"),
    "case.guarantor_demanded": _("Guarantor demand recorded"),
    "case.legal_filed": _("Legal proceeding filed"),
    "case.legal_updated": _("Legal proceeding updated"),
    "case.legal_step": _("Legal step recorded"),
    "case.responsibility_set": _("Responsible officer and time limit set"),
    "case.team_set": _("Special team set"),
    # the loan book and staff
    "loan.updated": _("Loan corrected"),
    "loan.classified_manually": _("Loan classified manually"),
    "loans.reclassified": _("Loans reclassified"),
    "loans.imported": _("Loans imported"),
    "import_batch.failed": _("Import failed"),
    "import_batch.requeued": _("Import sent again"),
    "borrower.updated": _("Borrower corrected"),
    "guarantor.created": _("Guarantor added"),
    "guarantor.updated": _("Guarantor corrected"),
    "guarantee.added": _("Guarantee added"),
    "guarantee.updated": _("Guarantee corrected"),
    "guarantee.removed": _("Guarantee removed"),
    "collateral.added": _("Collateral added"),
    "collateral.updated": _("Collateral corrected"),
    "collateral.removed": _("Collateral removed"),
    "branch.created": _("Branch created"),
    "branch.updated": _("Branch corrected"),
    "user.created": _("Staff member added"),
    "user.updated": _("Staff member changed"),
    "user.password_set": _("Password set"),
    "user.unlocked": _("Login unlocked"),
    "user.language_set": _("Interface language chosen"),
}

# Fields named in the old and new values of the events.
FIELD_LABELS = {
    "state": _("State"),
    "officer": _("Officer"),
    "type": _("Type"),
    "origin": _("Why"),
    "amount": _("Amount"),
    "case": _("Case"),
    "status": _("Status"),
    "shares": _("Shares"),
    "assignment": _("Division of responsibility"),
    "assignments": _("Divisions of responsibility"),
    "recovery_deadline": _("Recovery time limit"),
    "measure": _("Measure"),
    "as_of": _("As of"),
}


def event_label(code: str) -> str:
    """The event in words; a system run's event reads like the person's ("by the system" is the actor)."""
    key = code.removeprefix(SYSTEM_EVENT_PREFIX)
    label = EVENT_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").replace(".", ": ")


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name.replace("_", " ")
