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
    # cases, loans, accounts
    "user.password_changed": _("Password changed"),
    "user.two_factor_enrolled": _("Two-factor device enrolled"),
    "user.two_factor_reset": _("Two-factor device reset"),
    "user.directory_synced": _("Role or branch taken from the directory"),
    "loans.exported": _("Data exported"),
}

# Fields named in the old and new values of the events.
FIELD_LABELS = {
    "measure": _("Measure"),
    "target": _("Requested measure"),
    "request": _("Request no."),
    "status": _("Status"),
    "officer": _("Officer"),
    "loan": _("Loan"),
    "case": _("Case no."),
    "recovery_deadline": _("Recovery time limit"),
    "team": _("Special team"),
    "contact": _("Contact no."),
    "kind": _("Kind"),
    "on": _("Date"),
    "debt_acknowledged": _("Debt acknowledged in writing"),
    "notice": _("Notice no."),
    "signed_acknowledgement": _("Signed by the debtor"),
    "promise": _("Promise no."),
    "amount": _("Amount"),
    "due_on": _("To be paid by"),
    "amount_paid": _("Amount paid"),
    "demand": _("Demand no."),
    "guarantee": _("Guarantee no."),
    "proceeding": _("Proceeding no."),
    "court": _("Court"),
    "case_number": _("Court case number"),
    "filed_on": _("Filed on"),
    "judgment_on": _("Judgment on"),
    "enforcement_order_on": _("Enforcement order on"),
    "step": _("Enforcement step no."),
    "collateral": _("Collateral no."),
    "recovery": _("Recovery no."),
    "form": _("Form"),
    "paid_by": _("Paid by"),
    "principal": _("To principal"),
    "interest_on_balance": _("Interest on balance sheet"),
    "interest_off_balance": _("Interest off balance sheet"),
    "outstanding_principal": _("Outstanding principal"),
    "interest_on_balance_left": _("Interest on balance sheet left"),
    "interest_off_balance_left": _("Interest off balance sheet left"),
    "overdue_since": _("Overdue since"),
    "asset": _("Asset no."),
    "appraised_value": _("Appraised value"),
    "credited_amount": _("Credited against the debt"),
    "disposed_on": _("Disposed of on"),
    "disposal_proceeds": _("Disposal proceeds"),
    "assignment": _("Division no."),
    "shares": _("Shares of responsibility"),
    "state": _("State"),
    "type": _("Type"),
    "five_level_class": _("Five-level class"),
    "four_level_class": _("Four-level class"),
    "manual_five_level_class": _("Five-level class by hand"),
    "file_name": _("File"),
    "as_of": _("As of"),
    "created": _("Created"),
    "updated": _("Updated"),
    "unchanged": _("Unchanged"),
    "role": _("Role"),
    "branch": _("Branch"),
    "filters": _("Filters"),
    "rows": _("Rows"),
    "devices": _("Devices"),
    "is_staff": _("Django admin access"),
    "format": _("Format"),
    "origin": _("Why"),
    "assignments": _("Divisions of responsibility"),
}


def event_label(code: str) -> str:
    """The event in words; a system run's event reads like the person's ("by the system" is the actor)."""
    key = code.removeprefix(SYSTEM_EVENT_PREFIX)
    label = EVENT_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").replace(".", ": ")


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name.replace("_", " ")
