"""Who may: the staff roles, the role predicates and every role permission (django-rules).

The one definition of role checks. `User.is_manager` and the other role properties, the views,
the services, the navigation and the templates (`{% load permissions %}{% if user|can:"..." %}`)
all ask these. Which rows a user sees (the branch scope) is loans/access.py; what holds for a
loan, a case or a record (business rules) is loans/classification.py, collections_app/case_rules.py
and accountability/rules.py.
"""

from __future__ import annotations

from typing import Any

import rules
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OFFICER = "officer", _("Loan officer")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Administrator")
    AUDITOR = "auditor", _("Auditor")


def _role(user: Any) -> str | None:
    return getattr(user, "role", None)


@rules.predicate
def is_officer(user: Any) -> bool:
    return _role(user) == Role.OFFICER


@rules.predicate
def is_manager(user: Any) -> bool:
    return _role(user) == Role.MANAGER


@rules.predicate
def is_bank_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or _role(user) == Role.ADMIN


@rules.predicate
def is_auditor(user: Any) -> bool:
    return _role(user) == Role.AUDITOR


@rules.predicate
def is_head_office_manager(user: Any) -> bool:
    """A manager of the head office (the one kind of branch without a parent, a database constraint)."""
    branch = getattr(user, "branch", None)
    return bool(is_manager(user)) and branch is not None and branch.parent_id is None


# Who sees every branch (loans/access.py scopes everyone else to their branch or subtree).
sees_whole_bank = is_bank_admin | is_auditor | is_head_office_manager

# Loans
rules.add_perm("loans.classify_loan", is_manager | is_bank_admin)
rules.add_perm("loans.import_loans", is_bank_admin)
rules.add_perm("loans.view_import_batches", is_bank_admin | is_auditor)
rules.add_perm("loans.export_loans", is_manager | is_bank_admin | is_auditor)
# Corrections of the loan book by hand (borrowers, loans, guarantees, collateral) and staff administration.
rules.add_perm("loans.correct_book", is_bank_admin)
rules.add_perm("loans.manage_staff", is_bank_admin)
# Collection cases
rules.add_perm("collections_app.open_case", is_officer | is_manager)
rules.add_perm("collections_app.decide_requests", is_manager)
# Evidence: attaching files (seeing and downloading them follows the record's scope); generating
# documents; replacing the document templates.
rules.add_perm("evidence.upload", is_officer | is_manager | is_bank_admin)
rules.add_perm("evidence.generate_document", is_officer | is_manager)
rules.add_perm("evidence.manage_templates", is_bank_admin)
# Accountability
rules.add_perm("accountability.view_board", is_manager | is_bank_admin | is_auditor)
# Who is given responsibility for cases (and so has a "My responsibilities" page).
rules.add_perm("accountability.carry_responsibility", is_officer | is_manager)
rules.add_perm("accountability.divide_responsibility", is_manager)
rules.add_perm("accountability.propose_record", is_manager)
rules.add_perm("accountability.review_flag", is_manager)
# Falls of a balance reported by the book: the loan's officer (or a manager) says what they were;
# rises of a non-performing loan's balance are listed for the loans' officers and the managers, who
# acknowledge them (issue 11); administrators and auditors read them.
rules.add_perm("reconciliation.classify_fall", is_officer | is_manager)
rules.add_perm("reconciliation.view_rises", is_officer | is_manager | is_bank_admin | is_auditor)
rules.add_perm("reconciliation.acknowledge_rise", is_officer | is_manager)
# The balance ledger: a manager approves (or refuses) a backdated entry someone else recorded.
rules.add_perm("ledger.approve_entry", is_manager)
# The audit trail: searching all of it is for auditors and administrators; a case's or a loan's
# history also for the managers who see the case or loan (audit/views.py).
rules.add_perm("audit.view_trail", is_auditor | is_bank_admin)
rules.add_perm("audit.view_history", is_auditor | is_bank_admin | is_manager)


def role_allows(user: Any, perm: str) -> bool:
    """A role permission, answered by the rules above alone: no database look-up per request
    (user.has_perm would ask ModelBackend's tables whenever the rules say no)."""
    if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return False
    return rules.has_perm(perm, user)
