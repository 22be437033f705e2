"""Demo cases for `make run`: every non-performing loan gets its case, and the officer's first few
cases get a believable history. Idempotent: a second run adds nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from collections_app import services
from collections_app.models import CollectionCase, Contact
from loans.models import Borrower, Guarantee, Guarantor, User

DEMO_HISTORY_DAYS = 60


def seed_demo(*, as_of: date) -> str:
    opened = services.cases_open_for_non_performing(as_of=as_of)
    # The demo's cases have a history: opened two months ago, so the stories' records and payments
    # (dated in those weeks) are not before the case's opening (issue 11 refuses those). The
    # reclassification may have opened them already (on commit), hence every case opened today.
    CollectionCase.objects.filter(opened_on=as_of, opened_by__isnull=True).update(
        opened_on=as_of - timedelta(days=DEMO_HISTORY_DAYS)
    )
    officer = User.objects.filter(username="officer").first()
    manager = User.objects.filter(username="manager").first()
    stories = 0
    if officer and manager and not Contact.objects.filter(case__officer=officer).exists():
        stories = _stories(officer=officer, manager=manager, as_of=as_of)
    total = CollectionCase.objects.filter(is_open=True).count()
    return f"Collection cases: {opened} opened, {total} open; {stories} demo histories written."


@transaction.atomic
def _stories(*, officer: User, manager: User, as_of: date) -> int:
    cases = list(
        CollectionCase.objects.filter(officer=officer, branch=officer.branch, is_open=True, measure="responsibility")
        .select_related("loan", "loan__borrower")
        .order_by("loan__loan_no")[:8]
    )
    if len(cases) < 5:
        return 0
    day = lambda n: as_of - timedelta(days=n)  # noqa: E731
    a, b, c, d, e = cases[:5]

    # A: talks, a signed notice and a promise due soon.
    services.contact_record(
        case=a, actor=officer, kind="call", contacted_on=day(20), summary="Borrower says sales are slow."
    )
    services.contact_record(
        case=a,
        actor=officer,
        kind="visit",
        contacted_on=day(12),
        person=a.loan.borrower.name,
        summary="Visited the shop; agreed to a repayment plan.",
        debt_acknowledged=True,
    )
    services.notice_serve(
        case=a, actor=officer, served_on=day(10), served_to=a.loan.borrower.name, signed_acknowledgement=True
    )
    services.promise_record(
        case=a, actor=officer, promised_on=day(10), amount=Decimal("5000.00"), due_on=as_of + timedelta(days=5)
    )

    # B: notice served, legal requested: waits in the manager's approvals.
    services.notice_serve(
        case=b,
        actor=officer,
        served_on=day(30),
        served_to=b.loan.borrower.name,
        method="registered_mail",
        tracking_number="XA120045678CN",
    )
    services.case_request_create(
        case=b, target="legal", actor=officer, as_of=day(2), reason="Can pay (new car, shop open) and refuses to."
    )

    # C: pressure on the guarantor, part paid.
    if not Guarantee.objects.filter(loan=c.loan).exists():
        guarantor, _ = Guarantor.objects.get_or_create(id_no=f"DEMO-G-{c.loan.loan_no}", defaults={"name": "Zhou Ping"})
        Guarantee.objects.create(guarantor=guarantor, loan=c.loan, amount=c.loan.principal)
    services.case_move(case=c, target="pressure", actor=officer, as_of=day(25), reason="Borrower unreachable")
    services.guarantor_demand_record(
        case=c,
        actor=officer,
        guarantee=c.loan.guarantees.first(),
        demanded_on=day(24),
        amount=min(c.loan.total_owed, Decimal("20000.00")),
        response="Guarantor will pay in two parts.",
    )
    services.recovery_record(
        case=c,
        actor=officer,
        received_on=day(8),
        amount=min(c.loan.total_owed, Decimal("8000.00")),
        paid_by="guarantor",
        as_of=as_of,
        note="First part from the guarantor",
    )

    # D: sued and judged: ready to ask for disposal.
    services.notice_serve(case=d, actor=officer, served_on=day(120), served_to=d.loan.borrower.name)
    legal = services.case_request_create(case=d, target="legal", actor=officer, as_of=day(100), reason="Refuses")
    services.case_request_approve(request=legal, actor=manager, as_of=day(99), reason="Sue.")
    proceeding = services.legal_proceeding_file(
        case=d,
        actor=officer,
        court="Riverside County People's Court",
        case_number="(2026) RC-1187",
        filed_on=day(95),
        cause="Loan contract dispute",
        claim_principal=d.loan.outstanding_principal,
        claim_interest=d.loan.interest_on_balance + d.loan.interest_off_balance,
        lawyer="Heng Tai Law Firm",
    )
    _legal_story(proceeding=proceeding, officer=officer, day=day, as_of=as_of)

    # E: a promise that was not kept.
    promise = services.promise_record(
        case=e, actor=officer, promised_on=day(40), amount=Decimal("3000.00"), due_on=day(9)
    )
    services.promise_mark_broken(promise=promise, actor=None, as_of=as_of)

    # A collaborative case when there is a borrower of that kind.
    for case in cases[5:]:
        if case.loan.borrower.kind in Borrower.COLLABORATIVE_KINDS or case.loan.government_directed:
            services.contact_record(
                case=case,
                actor=officer,
                kind="government_meeting",
                contacted_on=day(6),
                summary="Met the county finance bureau about a fiscal allocation.",
            )
            services.case_move(case=case, target="collaborative", actor=officer, as_of=day(6))
            break
    return 5


# The sources a past month's recoveries come from, in turn (the demo's history, loans.demo).
HISTORY_SOURCES = ("borrower", "guarantor", "court_enforcement", "borrower", "fiscal_allocation", "government_property")


def history_month_recoveries(*, month_end: date, per_month: int = 5) -> int:
    """A past month's recoveries as the demo moves through time (loans.demo): on the 15th, part
    payments on a few cases already open then, from the sources in turn. The demo stories' officer
    ("officer") is left alone: his cases get their stories later. Returns how many were recorded."""
    on = month_end.replace(day=15)
    cases = list(
        CollectionCase.objects.filter(is_open=True, opened_on__lte=on, officer__isnull=False)
        .exclude(officer__username="officer")
        .select_related("loan", "officer")
        .order_by("pk")
    )
    if not cases:
        return 0
    recorded = 0
    start = (month_end.year * 12 + month_end.month) * per_month
    for i in range(per_month):
        case = cases[(start + i * 7) % len(cases)]
        owed = case.loan.total_owed
        amount = min(owed, Decimal(2000 + ((start + i) * 3700) % 28000))
        if amount <= 0 or amount >= owed:
            continue
        source = HISTORY_SOURCES[(start + i) % len(HISTORY_SOURCES)]
        if source in ("fiscal_allocation", "government_property") and (
            case.loan.borrower.kind not in Borrower.COLLABORATIVE_KINDS
        ):
            source = "borrower"
        services.recovery_record(
            case=case, actor=case.officer, received_on=on, amount=amount, paid_by=source, as_of=on, note="Demo history"
        )
        recorded += 1
    return recorded


def _legal_story(*, proceeding, officer: User, day, as_of: date) -> None:
    """Case D's file: a hearing, the judgment, the debtor's flat registered and sealed."""
    from legal import services as legal

    legal.hearing_record(
        proceeding=proceeding, actor=officer, held_on=day(60), place="Court room 2", outcome="Debtor admits the debt."
    )
    legal.decision_record(
        proceeding=proceeding,
        actor=officer,
        decision_kind="judgment",
        decided_on=day(15),
        served_on=day(13),
        awarded_amount=proceeding.claim_total,
        performance_deadline=day(13) + timedelta(days=30),
    )
    borrower = proceeding.case.loan.borrower
    flat = legal.debtor_asset_register(
        actor=officer,
        branch=proceeding.case.branch,
        borrower=borrower,
        kind="real_estate",
        description="Flat 3-201, 18 Riverside Road",
        where_found="Land registry search",
        found_on=day(90),
        estimated_value=Decimal("450000.00"),
    )
    legal.preservation_order_record(
        proceeding=proceeding,
        actor=officer,
        kind="seal",
        asset_kind="real_estate",
        description=flat.description,
        ruling_on=day(80),
        asset=flat,
    )
