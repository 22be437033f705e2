"""Writes to the loan book, by concern. Views, admin, importer, tasks and commands all call these.

- classification: the daily run, one loan on demand, a manager's judgement;
"""

from loans.services.classification import (
    ReclassifyResult,
    loan_classification,
    loan_classify,
    loan_classify_manually,
    loan_facts,
    loans_reclassify,
)

__all__ = [
    "ReclassifyResult",
    "loan_classification",
    "loan_classify",
    "loan_classify_manually",
    "loan_facts",
    "loans_reclassify",
]
