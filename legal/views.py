"""The proceeding page (the case file) and the debtor's asset register. Thin: legal/services.py decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from collections_app.case_rules import limitation_alert, may_work
from collections_app.models import CaseCost, LegalProceeding
from collections_app.policy import limitation_warning_window
from legal import forms as f
from legal import services
from legal.models import DebtorAsset, PreservationOrder
from legal.policy import legal_policy
from legal.rules import reminder_threshold
from legal.tables import AssetTable
from loans.access import get_for_user_or_404
from loans.models import Borrower, Guarantor, Loan
from npl_recovery.tables import paginate_table

Status = LegalProceeding.Status


@dataclass(frozen=True)
class Action:
    title: Any
    form: type
    save: Callable[..., Any]
    done: Any
    offered: Callable[[LegalProceeding], bool]


ACTIONS: dict[str, Action] = {
    "hearing": Action(
        gettext_lazy("Record a hearing"),
        f.HearingForm,
        lambda p, actor, d, assets: services.hearing_record(proceeding=p, actor=actor, **d),
        gettext_lazy("Hearing recorded."),
        lambda p: p.status in (Status.FILED, Status.DECIDED),
    ),
    "decision": Action(
        gettext_lazy("Judgment, ruling or mediation"),
        f.DecisionForm,
        lambda p, actor, d, assets: services.decision_record(proceeding=p, actor=actor, **d),
        gettext_lazy("Decision recorded."),
        lambda p: p.status in (Status.FILED, Status.DECIDED, Status.EFFECTIVE),
    ),
    "apply": Action(
        gettext_lazy("Apply for enforcement"),
        f.EnforcementApplyForm,
        lambda p, actor, d, assets: services.enforcement_apply(proceeding=p, actor=actor, **d),
        gettext_lazy("Application for enforcement recorded."),
        lambda p: bool(p.decision_kind) and p.status in (Status.DECIDED, Status.EFFECTIVE),
    ),
    "deduction": Action(
        gettext_lazy("Amount deducted by the court"),
        f.DeductionForm,
        lambda p, actor, d, assets: services.court_deduction_record(proceeding=p, actor=actor, **d),
        gettext_lazy("Court deduction recorded as a recovery."),
        lambda p: p.status == Status.ENFORCEMENT,
    ),
    "terminate": Action(
        gettext_lazy("Enforcement ended for lack of executable assets"),
        f.EnforcementTerminateForm,
        lambda p, actor, d, assets: services.enforcement_terminate(proceeding=p, actor=actor, **d),
        gettext_lazy("The ruling ending enforcement is recorded (write-off evidence)."),
        lambda p: p.status == Status.ENFORCEMENT,
    ),
    "resume": Action(
        gettext_lazy("Resume enforcement"),
        f.EnforcementResumeForm,
        lambda p, actor, d, assets: services.enforcement_resume(proceeding=p, actor=actor, **d),
        gettext_lazy("Enforcement resumed."),
        lambda p: p.status == Status.ENFORCEMENT_ENDED,
    ),
    "order": Action(
        gettext_lazy("Freeze, seal or seizure order"),
        f.PreservationOrderForm,
        lambda p, actor, d, assets: services.preservation_order_record(proceeding=p, actor=actor, **d),
        gettext_lazy("Preservation order recorded."),
        lambda p: p.status != Status.CLOSED,
    ),
    "fee": Action(
        gettext_lazy("Court or lawyer's fee"),
        f.FeeForm,
        lambda p, actor, d, assets: services.proceeding_fee_record(proceeding=p, actor=actor, **d),
        gettext_lazy("Fee recorded in the case's costs."),
        lambda p: True,
    ),
    "file": Action(
        gettext_lazy("Correct the case file"),
        f.CaseFileForm,
        lambda p, actor, d, assets: services.proceeding_update_file(proceeding=p, actor=actor, **d),
        gettext_lazy("Case file saved."),
        lambda p: True,
    ),
}


def _case_assets(user, proceeding: LegalProceeding):
    loan = proceeding.case.loan
    return (
        DebtorAsset.objects.visible_to(user)
        .filter(Q(borrower_id=loan.borrower_id) | Q(guarantor__guarantees__loan=loan), sold_on__isnull=True)
        .distinct()
        .order_by("-found_on", "-id")
    )


def _form(action: str, proceeding: LegalProceeding, user, data=None):
    spec = ACTIONS[action]
    kwargs: dict = {"prefix": action}
    if action == "order":
        kwargs["assets"] = _case_assets(user, proceeding)
    if action == "file" and data is None:
        kwargs["initial"] = {
            name: getattr(proceeding, name)
            for name in ("forum", "court", "cause", "claim_principal", "claim_interest", "claim_costs", "lawyer")
        }
    return spec.form(data, **kwargs)


def _proceeding(request: HttpRequest, pk: int) -> LegalProceeding:
    return get_for_user_or_404(
        LegalProceeding.objects.select_related("case", "case__loan", "case__loan__borrower", "case__branch"),
        request.user,
        pk=pk,
    )


def _context(request: HttpRequest, proceeding: LegalProceeding, bound: dict | None = None) -> dict:
    bound = bound or {}
    case = proceeding.case
    as_of = timezone.localdate()
    policy = legal_policy()
    works = case.is_open and may_work(case.actor_facts(request.user)) is None
    forms = {}
    if works:
        for action, spec in ACTIONS.items():
            if spec.offered(proceeding):
                forms[action] = (spec.title, bound.get(action) or _form(action, proceeding, request.user))
    orders = list(proceeding.preservation_orders.select_related("asset", "collateral").order_by("expires_on", "id"))
    for order in orders:
        order.lapsed = order.released_on is None and order.expires_on < as_of
        order.due_soon = order.released_on is None and (
            reminder_threshold(order.expires_on, as_of, policy.preservation_reminder_days) is not None
        )
        order.renew_open = f"renew-{order.pk}" in bound
        order.release_open = f"release-{order.pk}" in bound
        order.renew_form = bound.get(f"renew-{order.pk}") or f.RenewForm(prefix=f"renew-{order.pk}")
        order.release_form = bound.get(f"release-{order.pk}") or f.ReleaseForm(prefix=f"release-{order.pk}")
    enforcement_due = (
        proceeding.enforcement_deadline is not None
        and proceeding.enforcement_applied_on is None
        and (
            proceeding.enforcement_deadline < as_of
            or reminder_threshold(proceeding.enforcement_deadline, as_of, policy.enforcement_warning_days) is not None
        )
    )
    hearings = list(proceeding.hearings.order_by("held_on", "id"))
    for hearing in hearings:
        hearing.soon = reminder_threshold(hearing.held_on, as_of, policy.hearing_reminder_days) is not None
    fees = list(
        CaseCost.objects.filter(case=case, source_document=proceeding.case_number[:200]).order_by("incurred_on", "id")
    )
    return {
        "proceeding": proceeding,
        "fees": fees,
        "notices": list(case.notices.order_by("-served_on", "-id")[:10]),
        "case": case,
        "loan": case.loan,
        "as_of": as_of,
        "limitation_window": limitation_warning_window(),
        "limitation_alert": limitation_alert(case.limitation_expires_on, as_of, limitation_warning_window()),
        "hearings": hearings,
        "orders": orders,
        "enforcement_due": enforcement_due,
        "enforcement_missed": enforcement_due and proceeding.enforcement_deadline < as_of,
        "works": works,
        "forms": forms,
        "open_form": next(iter(bound), None),
    }


@login_required
def proceeding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proceeding = _proceeding(request, pk)
    return render(request, "legal/proceeding_detail.html", _context(request, proceeding))


def _apply_errors(form, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc) or _("You may not do this."))
    elif hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_POST
def proceeding_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    proceeding = _proceeding(request, pk)
    spec = ACTIONS[action]
    form = _form(action, proceeding, request.user, request.POST)
    if form.is_valid():
        try:
            spec.save(proceeding, request.user, dict(form.cleaned_data), None)
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, spec.done)
            return redirect(proceeding)
    proceeding.refresh_from_db()
    return render(
        request, "legal/proceeding_detail.html", _context(request, proceeding, bound={action: form}), status=400
    )


@login_required
@require_POST
def order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ("renew", "release"):
        raise Http404("No such action.")
    order = get_for_user_or_404(PreservationOrder.objects.select_related("proceeding__case"), request.user, pk=pk)
    prefix = f"{action}-{order.pk}"
    form = (f.RenewForm if action == "renew" else f.ReleaseForm)(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            if action == "renew":
                services.preservation_order_renew(order=order, actor=request.user, **form.cleaned_data)
            else:
                services.preservation_order_release(
                    order=order,
                    actor=request.user,
                    released_on=form.cleaned_data["released_on"],
                    reason=form.cleaned_data["reason"],
                )
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Order renewed.") if action == "renew" else _("Order released."))
            return redirect(order.proceeding)
    proceeding = _proceeding(request, order.proceeding_id)
    return render(
        request, "legal/proceeding_detail.html", _context(request, proceeding, bound={prefix: form}), status=400
    )


# --- the asset register ---------------------------------------------------------------------------------


def _owners(borrower: Borrower) -> list[tuple[str, str]]:
    guarantors = Guarantor.objects.filter(guarantees__loan__borrower=borrower).distinct().order_by("name")
    return [(f"b:{borrower.pk}", borrower.name)] + [
        (f"g:{g.pk}", _("%(name)s (guarantor)") % {"name": g.name}) for g in guarantors
    ]


@login_required
def borrower_assets(request: HttpRequest, pk: int) -> HttpResponse:
    borrower = get_for_user_or_404(Borrower, request.user, pk=pk)
    loans = Loan.objects.visible_to(request.user).filter(borrower=borrower).select_related("branch").order_by("pk")
    may_record = getattr(request.user, "role", "") in ("officer", "manager")
    owners = _owners(borrower)
    form = f.AssetForm(request.POST or None, owners=owners) if may_record else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("Only officers and managers record the debtor's assets."))
        if form.is_valid():
            data = dict(form.cleaned_data)
            kind, _sep, owner_id = data.pop("owner").partition(":")
            try:
                services.debtor_asset_register(
                    actor=request.user,
                    branch=loans[0].branch,
                    borrower=borrower if kind == "b" else None,
                    guarantor=Guarantor.objects.get(pk=owner_id) if kind == "g" else None,
                    **data,
                )
            except (ValidationError, PermissionDenied) as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Asset recorded."))
                return redirect("legal:borrower_assets", pk=borrower.pk)
        status = 400
    assets = (
        DebtorAsset.objects.visible_to(request.user)
        .filter(Q(borrower=borrower) | Q(guarantor__guarantees__loan__borrower=borrower))
        .distinct()
        .select_related("borrower", "guarantor")
        .prefetch_related("preservation_orders")
    )
    table = AssetTable(assets)
    paginate_table(request, table)
    return render(
        request,
        "legal/borrower_assets.html",
        {"borrower": borrower, "loans": loans, "table": table, "form": form},
        status=status,
    )
