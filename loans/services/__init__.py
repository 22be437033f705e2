"""Writes to the loan book, by concern. Views, admin, importer, tasks and commands all call these.

- classification: the daily run, one loan on demand, a manager's judgement;
- book: corrections by hand of loans, borrowers, guarantors, guarantees and collateral;
- staff: users and branches.
"""

from loans.services.book import (
    borrower_update,
    collateral_add,
    collateral_remove,
    collateral_update,
    guarantee_add,
    guarantee_remove,
    guarantee_update,
    guarantor_create,
    guarantor_update,
    loan_update,
)
from loans.services.classification import (
    ReclassifyResult,
    loan_classification,
    loan_classify,
    loan_classify_manually,
    loan_facts,
    loans_reclassify,
)
from loans.services.staff import (
    branch_create,
    branch_update,
    user_create,
    user_language_set,
    user_set_password,
    user_unlock,
    user_update,
)

__all__ = [
    "ReclassifyResult",
    "borrower_update",
    "branch_create",
    "branch_update",
    "collateral_add",
    "collateral_remove",
    "collateral_update",
    "guarantee_add",
    "guarantee_remove",
    "guarantee_update",
    "guarantor_create",
    "guarantor_update",
    "loan_classification",
    "loan_classify",
    "loan_classify_manually",
    "loan_facts",
    "loan_update",
    "loans_reclassify",
    "user_create",
    "user_language_set",
    "user_set_password",
    "user_unlock",
    "user_update",
]
