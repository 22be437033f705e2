"""Every write to a collection case. Views, the admin, tasks and commands call these and nothing else.

Each service takes keyword arguments and the acting user (`actor`), runs in one transaction,
locks the case row, checks the rules in collections_app/case_rules.py, writes, and records an
audit event in the same transaction. Side effects (the loan's reclassification signal) go out on
commit.

One module per concern; this package re-exports their public functions, so callers import
`from collections_app.services import case_open` without knowing which module holds it.
"""

from collections_app.services._common import CaseChanged
from collections_app.services.costs import cost_correct, cost_correction_refusal, cost_record, cost_reverse
from collections_app.services.dates import cases_refresh_dates
from collections_app.services.debtor import ability_assess, dishonest_debtor_record
from collections_app.services.emphasis import cases_refresh_emphasis
from collections_app.services.money import (
    asset_dispose,
    asset_take_in_kind,
    case_settle,
    entry_kind_of,
    recovery_record,
    refinancing_record,
)
from collections_app.services.moves import case_move
from collections_app.services.opening import case_open, cases_open_for_non_performing
from collections_app.services.records import (
    contact_record,
    guarantor_demand_record,
    legal_proceeding_file,
    legal_proceeding_update,
    legal_step_record,
    notice_receipt_attach,
    notice_serve,
    promise_mark_broken,
    promise_record,
    promises_mark_broken,
)
from collections_app.services.requests import case_request_approve, case_request_create, case_request_reject
from collections_app.services.responsibility import case_set_responsibility, case_team_set

__all__ = [
    "CaseChanged",
    "ability_assess",
    "asset_dispose",
    "asset_take_in_kind",
    "case_move",
    "case_open",
    "case_request_approve",
    "case_request_create",
    "case_request_reject",
    "case_settle",
    "case_set_responsibility",
    "case_team_set",
    "cases_open_for_non_performing",
    "cases_refresh_dates",
    "cases_refresh_emphasis",
    "contact_record",
    "dishonest_debtor_record",
    "cost_correct",
    "cost_correction_refusal",
    "cost_record",
    "cost_reverse",
    "guarantor_demand_record",
    "legal_proceeding_file",
    "legal_proceeding_update",
    "legal_step_record",
    "notice_receipt_attach",
    "notice_serve",
    "promise_mark_broken",
    "promise_record",
    "promises_mark_broken",
    "recovery_record",
    "refinancing_record",
    "entry_kind_of",
]
