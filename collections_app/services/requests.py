"""Moves a manager approves: the request, the maker-checker decision, and what it means for the loan."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from collections_app.case_rules import Measure, approval_refusal, entry_refusal, may_work, needs_manager
from collections_app.models import CaseRequest, CollectionCase
from collections_app.services._common import _audit, _lock, _require_reason
from collections_app.services.moves import _check_seen, _perform_move
from evidence.policy import write_off_policy
from ledger.rules import EntryKind
from ledger.services import ledger_post
from loans.models import Loan, User
from loans.services import loan_classify


@transaction.atomic
def case_request_create(
    *,
    case: CollectionCase,
    target: str,
    actor: User,
    as_of: date,
    reason: str,
    seen_measure: str | None = None,
    write_off_reason: str = "",
) -> CaseRequest:
    """Ask a manager for a move that needs one (legal, special team, disposal, revitalise, write off, close).

    A write-off names why the loss is unrecoverable (`write_off_reason`, a key of NPL_RULES
    write_off_evidence); its dossier is then attached to the request (evidence app)."""
    target = Measure(target)
    if target == Measure.WRITTEN_OFF:
        reasons = write_off_policy().write_off_evidence
        if write_off_reason not in reasons:
            raise ValidationError({"write_off_reason": _("Choose why the loan cannot be recovered.")})
    else:
        write_off_reason = ""
    if not needs_manager(target):
        raise ValidationError(_("%(measure)s needs no approval: move the case directly.") % {"measure": target.label})
    _check_seen(case, seen_measure)
    refusal = may_work(case.actor_facts(actor))
    if refusal:
        raise PermissionDenied(refusal)
    reason = _require_reason(reason)
    refusal = entry_refusal(target, case.entry_facts())
    if refusal:
        raise ValidationError(refusal)
    try:
        with transaction.atomic():
            request = CaseRequest.objects.create(
                case=case,
                target=target.value,
                requested_by=actor,
                requested_on=as_of,
                reason=reason,
                write_off_reason=write_off_reason,
            )
    except IntegrityError as exc:
        raise ValidationError(_("%(measure)s is already requested for this case.") % {"measure": target.label}) from exc
    new = {"request": request.pk, "target": target.value}
    if write_off_reason:
        new["write_off_reason"] = write_off_reason
    _audit(case, actor, "case.move_requested", new=new, reason=reason)
    return request


def _lock_request(request: CaseRequest) -> tuple[CaseRequest, CollectionCase]:
    case = _lock(request.case)
    request = CaseRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    if request.status != CaseRequest.Status.REQUESTED:
        raise ValidationError(
            _("This request is already %(status)s.") % {"status": request.get_status_display().lower()}
        )
    return request, case


@transaction.atomic
def case_request_approve(*, request: CaseRequest, actor: User, as_of: date, reason: str = "") -> CollectionCase:
    """A manager of the case's branches, not the requester, approves: the case moves now."""
    request, case = _lock_request(request)
    refusal = approval_refusal(case.actor_facts(actor), request.requested_by_id)
    if refusal:
        raise PermissionDenied(refusal)
    target = Measure(request.target)
    if target == Measure.WRITTEN_OFF and not _write_off_ready(request=request, case=case, actor=actor, reason=reason):
        return case  # the first of two approvals: recorded, the case waits for the second manager
    _perform_move(
        case=case, target=target, actor=actor, as_of=as_of, reason=reason.strip() or request.reason, request=request
    )
    CaseRequest.objects.filter(pk=request.pk, status=CaseRequest.Status.REQUESTED).update(
        status=CaseRequest.Status.APPROVED, decided_by=actor, decided_at=timezone.now(), decision_reason=reason.strip()
    )
    _apply_to_loan(case=case, target=target, actor=actor, as_of=as_of)
    _audit(
        case,
        actor,
        "case.request_approved",
        old={"request": request.pk, "status": "requested"},
        new={"request": request.pk, "status": "approved", "target": target.value},
        reason=reason.strip(),
    )
    return case


def _write_off_ready(*, request: CaseRequest, case: CollectionCase, actor: User, reason: str) -> bool:
    """The write-off's own rules before it is approved: its dossier is complete, and above
    write_off_second_approval_above a second manager (neither the maker nor the first approver)
    approves. False when this approval was the first of two (recorded and audited)."""
    from evidence.selectors import write_off_dossier  # the evidence app builds on this one

    dossier = write_off_dossier(request=request)
    if not dossier.reason:
        raise ValidationError(_("This write-off names no reason: reject it and request it again with one."))
    if dossier.missing:
        raise ValidationError(
            _("The write-off dossier is incomplete. Missing: %(items)s.")
            % {"items": "; ".join(item.label for item in dossier.items if not item.present)}
        )
    if not dossier.needs_second_approval:
        return True
    if request.first_approved_by_id is None:
        CaseRequest.objects.filter(pk=request.pk).update(first_approved_by=actor, first_approved_at=timezone.now())
        _audit(
            case,
            actor,
            "case.write_off_first_approval",
            new={"request": request.pk, "amount": dossier.amount, "first_approved_by": actor.pk},
            reason=reason.strip(),
        )
        return False
    if request.first_approved_by_id == actor.pk:
        raise PermissionDenied(_("You gave the first approval: a second manager must give the other."))
    return True


def _apply_to_loan(*, case: CollectionCase, target: Measure, actor: User, as_of: date) -> None:
    """What an approved end of a case means for the loan itself."""
    if target == Measure.WRITTEN_OFF:
        loan = Loan.objects.select_for_update().get(pk=case.loan_id)
        loan.written_off_on = as_of
        loan.save(update_fields=["written_off_on", "updated_at"])
        # Issue 11: written off the balance sheet, the claim kept (账销案存): the entry records the amount
        # written off and moves no balance, so the loan still owes it and later money still counts.
        ledger_post(
            loan=loan,
            kind=EntryKind.WRITE_OFF,
            principal=0,
            interest_on=0,
            interest_off=0,
            value_date=as_of,
            actor=actor,
            as_of=as_of,
            source=f"case {case.pk} write-off",
            case=case,
            amount=loan.total_owed,
        )
        loan_classify(loan=loan, as_of=as_of, actor=actor)
    elif target == Measure.REVITALISED:
        # Restructured: a new schedule replaces the arrears; the loan enters its observation period
        # (at least substandard, classification floor) and is upgraded only after it.
        loan = Loan.objects.select_for_update().get(pk=case.loan_id)
        loan.restructured_on = as_of
        if loan.overdue_since is not None:
            loan.overdue_since = None
            loan.arrears_cleared_on = as_of
        loan.save(update_fields=["restructured_on", "overdue_since", "arrears_cleared_on", "updated_at"])
        loan_classify(loan=loan, as_of=as_of, actor=actor)


@transaction.atomic
def case_request_reject(*, request: CaseRequest, actor: User, reason: str) -> CaseRequest:
    request, case = _lock_request(request)
    refusal = approval_refusal(case.actor_facts(actor), request.requested_by_id)
    if refusal:
        raise PermissionDenied(refusal)
    reason = _require_reason(reason)
    CaseRequest.objects.filter(pk=request.pk, status=CaseRequest.Status.REQUESTED).update(
        status=CaseRequest.Status.REJECTED, decided_by=actor, decided_at=timezone.now(), decision_reason=reason
    )
    _audit(
        case,
        actor,
        "case.request_rejected",
        old={"request": request.pk, "status": "requested"},
        new={"request": request.pk, "status": "rejected", "target": request.target},
        reason=reason,
    )
    request.refresh_from_db()
    return request
