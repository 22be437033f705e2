"""Story helpers: put a case in the state a test needs, through the services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from collections_app import services
from collections_app.models import CollectionCase
from loans.models import Borrower, Loan, User
from tests.factories import CollateralFactory, GuaranteeFactory, UserFactory


def satisfy(case: CollectionCase, target: str, *, actor: User, today: date) -> None:
    """Make the entry condition of `target` true for this case."""
    loan = case.loan
    if target == "collaborative":
        Borrower.objects.filter(pk=loan.borrower_id).update(kind=Borrower.Kind.ENTERPRISE)
    elif target == "legal":
        services.notice_serve(case=case, actor=actor, served_on=today, served_to="Wang Wei")
    elif target == "special_team":
        members = [UserFactory(username=f"team{i}-{case.pk}", role="officer", branch=case.branch) for i in range(2)]
        services.case_team_set(case=case, members=members, actor=actor, reason="Big case")
    elif target == "pressure":
        GuaranteeFactory(loan=loan)
    elif target == "disposal":
        proceeding = services.legal_proceeding_file(
            case=case, actor=actor, court="County Court", case_number="2026-17", filed_on=today - timedelta(days=30)
        )
        services.legal_proceeding_update(proceeding=proceeding, actor=actor, judgment_on=today)
    elif target == "recovered":
        Loan.objects.filter(pk=loan.pk).update(
            outstanding_principal=Decimal("0"), interest_on_balance=Decimal("0"), interest_off_balance=Decimal("0")
        )
    elif target in ("written_off", "closed"):
        Loan.objects.filter(pk=loan.pk).update(five_level_class="loss")
        if target == "written_off":
            attach_write_off_dossier(case, actor=actor)


# The write-off reason the story helpers use, and what a request for `target` needs besides a reason.
WRITE_OFF_REASON = "enforcement_ended"


def request_extra(target: str) -> dict[str, str]:
    return {"write_off_reason": WRITE_OFF_REASON} if target == "written_off" else {}


def attach_write_off_dossier(case: CollectionCase, *, actor: User) -> None:
    """Every item of evidence the write-off reason requires, attached to the case (evidence app)."""
    from django.core.files.base import ContentFile

    from evidence.models import EvidenceFile
    from evidence.policy import write_off_policy
    from evidence.services import evidence_upload

    for item in write_off_policy().write_off_evidence[WRITE_OFF_REASON]:
        if not EvidenceFile.objects.filter(case=case, requirement=item, superseded_by__isnull=True).exists():
            evidence_upload(
                actor=actor,
                target=case,
                upload=ContentFile(b"%PDF-1.4\n%%EOF\n", name=f"{item}.pdf"),
                kind="judgment",
                requirement=item,
                check_scope=False,
            )


def unsatisfy(case: CollectionCase, target: str) -> None:
    """Make the entry condition of `target` false (the fixtures' default loan is already so for most)."""
    loan = case.loan
    if target == "collaborative":
        Borrower.objects.filter(pk=loan.borrower_id).update(kind=Borrower.Kind.INDIVIDUAL)
        Loan.objects.filter(pk=loan.pk).update(government_directed=False)
    elif target == "special_team":
        case.team_members.set([UserFactory(username=f"solo-{case.pk}", role="officer", branch=case.branch)])
    elif target == "revitalised":
        Loan.objects.filter(pk=loan.pk).update(
            outstanding_principal=Decimal("0"), interest_on_balance=Decimal("0"), interest_off_balance=Decimal("0")
        )
    elif target == "written_off":
        Loan.objects.filter(pk=loan.pk).update(five_level_class="doubtful")
    elif target == "disposal":
        services.legal_proceeding_file(
            case=case, actor=case.officer, court="County Court", case_number="no-judgment", filed_on=date(2026, 1, 5)
        )


def write_off(case: CollectionCase, *, requester: User, approver: User, today: date) -> CollectionCase:
    Loan.objects.filter(pk=case.loan_id).update(five_level_class="loss")
    attach_write_off_dossier(case, actor=requester)
    request = services.case_request_create(
        case=case,
        target="written_off",
        actor=requester,
        as_of=today,
        reason="Loss, nothing left to collect",
        write_off_reason=WRITE_OFF_REASON,
    )
    return services.case_request_approve(request=request, actor=approver, as_of=today, reason="Agreed")


def fresh(case: CollectionCase) -> CollectionCase:
    return CollectionCase.objects.get(pk=case.pk)


__all__ = [
    "CollateralFactory",
    "attach_write_off_dossier",
    "fresh",
    "request_extra",
    "satisfy",
    "unsatisfy",
    "write_off",
]
