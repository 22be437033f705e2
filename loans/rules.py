"""Role predicates and object permissions (django-rules). Scope (which branch) is loans/access.py."""

import rules


@rules.predicate
def is_officer(user) -> bool:
    return getattr(user, "role", None) == "officer"


@rules.predicate
def is_manager(user) -> bool:
    return getattr(user, "role", None) == "manager"


@rules.predicate
def is_bank_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or getattr(user, "role", None) == "admin"


@rules.predicate
def is_auditor(user) -> bool:
    return getattr(user, "role", None) == "auditor"


rules.add_perm("loans.classify_loan", is_manager | is_bank_admin)
rules.add_perm("loans.import_loans", is_bank_admin)
rules.add_perm("loans.export_loans", is_manager | is_bank_admin | is_auditor)
# The audit trail: searching all of it is for auditors and administrators; a case's or a loan's
# history also for the managers who see the case or loan (audit/views.py).
rules.add_perm("audit.view_trail", is_auditor | is_bank_admin)
rules.add_perm("audit.view_history", is_auditor | is_bank_admin | is_manager)


def role_allows(user, perm: str) -> bool:
    """A role permission, answered by the rules above alone: no database look-up per request
    (user.has_perm would ask ModelBackend's tables whenever the rules say no)."""
    if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return False
    return rules.has_perm(perm, user)
