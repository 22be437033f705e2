"""The case page's hot queries run from SQL built once (npl_recovery.compiled.CompiledQuery): the
rows are the queryset's own, for each case, on PostgreSQL (where the built SQL runs) as on SQLite."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from collections_app import services
from collections_app.models import CaseCost, Contact, _facts_queryset
from collections_app.selectors import _timeline_keys, case_timeline
from collections_app.services import case_open
from npl_recovery.compiled import CompiledQuery

pytestmark = pytest.mark.django_db


def _work(case, officer, today) -> None:
    """A few records of each kind the facts and the timeline read."""
    for i in range(4):
        services.contact_record(
            case=case,
            actor=officer,
            kind=Contact.Kind.CALL,
            contacted_on=today - timedelta(days=i),
            summary=f"call {i}",
        )
    services.ability_assess(case=case, actor=officer, able_to_pay=True, refuses_to_pay=True, evidence="salary",
                            assessed_on=today - timedelta(days=2))  # fmt: skip
    services.cost_record(case=case, actor=officer, kind=CaseCost.Kind.LITIGATION, amount=Decimal("300.00"),
                         incurred_on=today)  # fmt: skip
    services.recovery_record(case=case, actor=officer, received_on=today, amount=Decimal("100.00"), as_of=today)


def test_the_facts_are_the_querysets_row(case, make_npl, officer, today) -> None:
    other = case_open(loan=make_npl(loan_no="RIV-NPL-2"), actor=officer, as_of=today, reason="Stopped paying")
    _work(case, officer, today)
    for c in (case, other):
        built = CompiledQuery(_facts_queryset, "case_id").dicts(case_id=c.pk)
        assert built == list(_facts_queryset(c.pk))
        assert len(built) == 1
    loan = case.loan
    loan.refresh_from_db()
    facts = case.entry_facts()
    assert facts.total_owed == loan.outstanding_principal + loan.interest_on_balance + loan.interest_off_balance
    assert facts.has_guarantor is False and facts.notices_served == 0


def test_the_timeline_pages_are_the_unions_rows(case, officer, today) -> None:
    _work(case, officer, today)
    keys = list(_timeline_keys(case.pk))
    assert len(keys) >= 7
    pages = []
    for page in (1, 2, 3):
        page_obj, entries = case_timeline(case=case, page=page, per_page=3)
        assert page_obj.paginator.count == len(keys)
        pages += [(e.kind, e.obj.pk) for e in entries]
    assert pages == [(k, oid) for k, oid, _d, _t in keys]
    if connection.vendor == "postgresql":
        built = CompiledQuery(_timeline_keys, "case_id")
        assert built.count(case_id=case.pk) == len(keys)
        assert built.tuples(case_id=case.pk, suffix="LIMIT %s OFFSET %s", extra=(3, 3)) == [tuple(k) for k in keys[3:6]]


def test_a_value_the_query_does_not_take_is_refused() -> None:
    with pytest.raises(ValueError, match="does not use"):
        CompiledQuery(lambda case_id: _facts_queryset(1), "case_id").sql()
