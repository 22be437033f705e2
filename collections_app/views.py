"""The officer's workspace: the work queue, the case page and its forms. Thin: services do the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from collections_app import forms as f
from collections_app import services
from collections_app.case_rules import MEASURE_LABELS, Measure, limitation_alert, may_work, move_consequence
from collections_app.filters import CaseFilter
from collections_app.graph import to_svg
from collections_app.models import CaseCost, CaseRequest
from collections_app.policy import limitation_warning_window
from collections_app.selectors import (
    case_costs,
    case_current_division,
    case_detail_for_user,
    case_money,
    case_moves,
    case_open_promises,
    case_proceedings,
    case_queue,
    case_timeline,
    inbox_rows,
    limitation_alert_cutoff,
    pending_requests_for,
)
from collections_app.submissions import SUBMISSION_FIELD, submission_claim, with_submission_key
from collections_app.tables import CaseTable
from ledger.selectors import entries_of_loan
from loans.access import get_for_user_or_404
from loans.exporting import can_export
from loans.models import Loan
from loans.permissions import role_allows
from npl_recovery.page_reads import read_once, share_choices, shared_reads
from npl_recovery.tables import paginate_table


def _errors(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


def _form_errors(form, exc: ValidationError) -> None:
    """A service's refusal on the form: each field's errors beside its field, the rest above the form."""
    if hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


@lru_cache(maxsize=64)
def _svg_in(current: str | None, language: str) -> str:
    return to_svg(current=current, language=language)


def _svg(current: str | None) -> str:
    """The picture in the page's language (its labels are translated)."""
    return _svg_in(current, get_language() or "en")


# --- the queue -------------------------------------------------------------------------------------


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    filterset = CaseFilter(request.GET, queryset=case_queue(user=request.user), user=request.user)
    table = CaseTable(filterset.qs)
    table.today = timezone.localdate()
    table.limitation_window = limitation_warning_window()
    table.limitation_cutoff = limitation_alert_cutoff(table.today)
    paginate_table(request, table)
    return render(
        request,
        "collections_app/case_list.html",
        {
            "filter": filterset,
            "table": table,
            "can_export": can_export(request.user),
            "can_decide": role_allows(request.user, "collections_app.decide_requests"),
            "to_classify": _to_classify(request.user),
        },
    )


def _to_classify(user) -> int | None:
    """The falls of balances reported by the book that wait for the user (None: not theirs to do)."""
    if not role_allows(user, "reconciliation.classify_fall"):
        return None
    from reconciliation.selectors import to_classify_count

    return to_classify_count(user=user)


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    """The approvals inbox: decide from the list; an officer sees their branch's requests waiting."""
    page = Paginator(pending_requests_for(user=request.user), 25).get_page(request.GET.get("page"))
    rows = inbox_rows(user=request.user, requests=page.object_list)
    return render(
        request,
        "collections_app/request_list.html",
        {
            "page": page,
            "rows": rows,
            "can_decide": role_allows(request.user, "collections_app.decide_requests"),
            "decidable": sum(1 for r in rows if r.refusal is None),
        },
    )


@login_required
def state_machine_svg(request: HttpRequest) -> HttpResponse:
    current = request.GET.get("current")
    return HttpResponse(_svg(current if current in Measure._value2member_map_ else None), content_type="image/svg+xml")


# --- the case page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordKind:
    title: Any
    form: type
    needs_case: bool
    save: Callable[..., Any]
    done: Any


RECORDS: dict[str, RecordKind] = {
    "contact": RecordKind(
        gettext_lazy("Log a contact or visit"),
        f.ContactForm,
        False,
        lambda case, actor, d: services.contact_record(case=case, actor=actor, **d),
        gettext_lazy("Contact logged."),
    ),
    "notice": RecordKind(
        gettext_lazy("Serve a collection notice"),
        f.NoticeForm,
        True,
        lambda case, actor, d: services.notice_serve(case=case, actor=actor, **d),
        gettext_lazy("Notice recorded."),
    ),
    "receipt": RecordKind(
        gettext_lazy("Attach a notice's signed receipt"),
        f.ReceiptForm,
        True,
        lambda case, actor, d: services.notice_receipt_attach(actor=actor, **d),
        gettext_lazy("Signed receipt kept as evidence."),
    ),
    "promise": RecordKind(
        gettext_lazy("Record a promise to pay"),
        f.PromiseForm,
        True,
        lambda case, actor, d: services.promise_record(case=case, actor=actor, **d),
        gettext_lazy("Promise recorded."),
    ),
    "demand": RecordKind(
        gettext_lazy("Demand from a guarantor"),
        f.GuarantorDemandForm,
        True,
        lambda case, actor, d: services.guarantor_demand_record(case=case, actor=actor, **d),
        gettext_lazy("Demand on the guarantor recorded."),
    ),
    "proceeding": RecordKind(
        gettext_lazy("File a legal proceeding"),
        f.ProceedingForm,
        False,
        lambda case, actor, d: services.legal_proceeding_file(case=case, actor=actor, **d),
        gettext_lazy("Legal proceeding recorded."),
    ),
    "judgment": RecordKind(
        gettext_lazy("Judgment or enforcement order"),
        f.ProceedingUpdateForm,
        True,
        lambda case, actor, d: services.legal_proceeding_update(actor=actor, **d),
        gettext_lazy("Proceeding updated."),
    ),
    "step": RecordKind(
        gettext_lazy("Court enforcement step"),
        f.LegalStepForm,
        True,
        lambda case, actor, d: services.legal_step_record(actor=actor, **d),
        gettext_lazy("Enforcement step recorded."),
    ),
    "asset": RecordKind(
        gettext_lazy("Take an asset in kind"),
        f.AssetForm,
        False,
        lambda case, actor, d: services.asset_take_in_kind(case=case, actor=actor, as_of=timezone.localdate(), **d),
        gettext_lazy("Asset taken in kind and credited to the loan."),
    ),
    "dispose": RecordKind(
        gettext_lazy("Dispose of an asset"),
        f.AssetDisposeForm,
        True,
        lambda case, actor, d: services.asset_dispose(actor=actor, **d),
        gettext_lazy("Disposal recorded."),
    ),
    "ability": RecordKind(
        gettext_lazy("Assess the ability to pay"),
        f.AbilityForm,
        False,
        lambda case, actor, d: services.ability_assess(case=case, actor=actor, **d),
        gettext_lazy("Assessment of the ability to pay recorded."),
    ),
    "dishonest": RecordKind(
        gettext_lazy("On the list of dishonest debtors"),
        f.DishonestDebtorForm,
        False,
        lambda case, actor, d: services.dishonest_debtor_record(case=case, actor=actor, **d),
        gettext_lazy("Listing as a dishonest debtor recorded."),
    ),
    "recovery": RecordKind(
        gettext_lazy("Record a recovery"),
        f.RecoveryForm,
        False,
        lambda case, actor, d: services.recovery_record(case=case, actor=actor, as_of=timezone.localdate(), **d),
        gettext_lazy("Recovery recorded."),
    ),
    "cost": RecordKind(
        gettext_lazy("Record a collection cost"),
        f.CostForm,
        False,
        lambda case, actor, d: services.cost_record(case=case, actor=actor, **d),
        gettext_lazy("Collection cost recorded."),
    ),
}


# The case page puts the daily work first: contact, promise, recovery, notice; then the rest.
RECORD_ORDER = (
    "contact",
    "promise",
    "recovery",
    "notice",
    "receipt",
    "demand",
    "proceeding",
    "judgment",
    "step",
    "asset",
    "dispose",
    "ability",
    "dishonest",
    "cost",
)


def _record_form(kind: str, case, data=None, files=None):
    spec = RECORDS[kind]
    kwargs = {"case": case} if spec.needs_case else {}
    return with_submission_key(spec.form(data, files, prefix=kind, **kwargs))


@dataclass(frozen=True)
class OfferedRecord:
    """A record form the case page offers. `form` is set only for a form that failed (to show its
    errors); the others are drawn when the officer opens them (`record_form`, issue 15)."""

    title: str
    form: Any = None


# The record forms whose offer depends on their own choices (the form is built to read them).
_OFFER_BY_CHOICES = {"dispose": "asset", "receipt": "notice"}


def _offered(kind: str, case, *, has_guarantees: bool, has_proceedings: bool) -> bool:
    """A record form is offered only when there is something to record it on."""
    if kind == "demand":
        return has_guarantees
    if kind in ("judgment", "step"):
        return has_proceedings
    if kind in _OFFER_BY_CHOICES:
        # The choices themselves, read once (npl_recovery.page_reads): the page may show them again.
        form = share_choices(_record_form(kind, case))
        return bool(read_once(form.fields[_OFFER_BY_CHOICES[kind]].queryset))
    return True


def _record_refusal(request: HttpRequest, case) -> str | None:
    """Why this user may not record work on this case (None: they may): as the services refuse it
    (collections_app.services._common._require_work)."""
    refusal = may_work(case.actor_facts(request.user))
    if refusal or case.is_open:
        return refusal
    return _("The case is %(measure)s: nothing more is recorded on it.") % {
        "measure": case.get_measure_display().lower()
    }


LEDGER_ROWS = 50


def _case_context(request: HttpRequest, case, bound: dict | None = None) -> dict:
    """Everything the case page shows; `bound` carries a form that failed, to show its errors."""
    bound = bound or {}
    as_of = timezone.localdate()
    # The case was read through visible_to (case_detail_for_user): in the user's scope.
    moves = case_moves(case=case, user=request.user, in_scope=True)
    timeline_page, timeline = case_timeline(case=case, page=request.GET.get("tl") or 1)
    loan = case.loan
    # Read once for the page: the forms' choices (share_choices) and the panels show them again.
    guarantees = read_once(loan.guarantees.select_related("guarantor"))
    proceedings = read_once(case_proceedings(case=case))
    record_forms = {}
    if moves.may_work and case.is_open:
        # Only the titles: each form is drawn when opened (record_form), but for one that failed.
        for kind in RECORD_ORDER:
            if kind in bound:
                record_forms[kind] = OfferedRecord(RECORDS[kind].title, share_choices(bound[kind]))
            elif _offered(kind, case, has_guarantees=bool(guarantees), has_proceedings=bool(proceedings)):
                record_forms[kind] = OfferedRecord(RECORDS[kind].title)
    days_left = case.days_to_deadline(as_of)
    money = case_money(case=case)
    costs = list(case_costs(case=case)[:20])
    # Correct or reverse a cost (issue 11): who may record a cost, on the costs still standing. The
    # form is drawn when opened (cost_correct_form), but for one that failed.
    cost_forms: dict[int, Any] = {}
    if moves.may_work and case.is_open:
        fix = bound.get("cost_fix")
        for c in costs:
            if services.cost_correction_refusal(c) is None:
                cost_forms[c.pk] = fix if fix is not None and fix.cost_pk == c.pk else True
    window = limitation_warning_window()
    return {
        "case": case,
        "loan": loan,
        "as_of": as_of,
        "days_left": days_left,
        "days_late": max(0, -days_left),
        "limitation_window": window,
        "limitation_alert": limitation_alert(case.limitation_expires_on, as_of, window),
        "division": case_current_division(case=case),
        "moves": moves,
        "write_off_reasons": f.write_off_reason_choices()[1:],
        "timeline_page": timeline_page,
        "timeline": timeline,
        "guarantees": guarantees,
        "collateral": read_once(loan.collateral.all()),
        "proceedings": proceedings,
        "promises": list(case_open_promises(case=case)[:20]),
        "assets": list(case.assets.select_related("recovery").order_by("-taken_on", "-id")[:20]),
        "totals": money.recoveries,
        "money": money,
        "costs": [(c, cost_forms.get(c.pk)) for c in costs],
        "cost_forms": cost_forms,
        "team": list(case.team_members.order_by("last_name", "username")),
        "assessment": case.ability_assessments.select_related("recorded_by").first(),
        "able_but_unwilling": moves.facts.able_but_unwilling,
        "able_but_unwilling_why": moves.facts.able_but_unwilling_why,
        "dishonest_listings": list(case.dishonest_listings.all()[:5]),
        "record_forms": record_forms,
        "open_form": next(iter(bound), None),
        "may_name_team": moves.may_work and case.is_open,
        "team_form": bound.get("team"),
        "request_forms": bound.get("request_forms", {}),
        "state_machine": mark_safe(_svg(case.measure)),  # noqa: S308 (generated by our own code)
        "measure_labels": MEASURE_LABELS,
        "can_view_history": role_allows(request.user, "audit.view_history"),
        # Issue 11: the loan's ledger, newest first.
        "ledger_entries": list(entries_of_loan(loan, request.user)[:LEDGER_ROWS]),
        "may_approve_entries": role_allows(request.user, "ledger.approve_entry"),
    }


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_detail_for_user(user=request.user, pk=pk)
    with shared_reads():  # a GET: nothing is written while the page reads and renders
        context = _case_context(request, case)
        if request.htmx and request.htmx.target == "timeline":
            return render(request, "collections_app/_timeline.html", context)
        return render(request, "collections_app/case_detail.html", context)


def _done(request: HttpRequest, case, message: str, warning: str | None = None) -> HttpResponse:
    messages.success(request, message)
    if warning:
        messages.warning(request, warning)
    if request.htmx:
        return HttpResponseClientRedirect(case.get_absolute_url())
    return redirect(case)


def _form_to_show(request: HttpRequest, case, kind: str):
    """(title, a new form) of one record form of the case page, for this user and case: a 404 for
    an unknown kind or one not offered, a 403 for someone who may not record work on the case."""
    if kind not in RECORDS and kind != "team":
        raise Http404("No such record.")
    refusal = _record_refusal(request, case)
    if refusal:
        raise PermissionDenied(refusal)
    if kind == "team":
        return _("Name the special team"), with_submission_key(f.TeamForm(case=case, prefix="team"))
    offered = _offered(
        kind,
        case,
        has_guarantees=kind == "demand" and case.loan.guarantees.exists(),
        has_proceedings=kind in ("judgment", "step") and case.proceedings.exists(),
    )
    if not offered:
        raise Http404("Nothing to record this on.")
    return RECORDS[kind].title, _record_form(kind, case)


@login_required
@require_GET
def record_form(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """One record form of the case page, drawn when the officer opens it (issue 15: the page no
    longer renders every form's widgets). htmx asks for the form alone; without JavaScript the
    case page links here and the form comes on a page of its own. It posts to record_create."""
    case = case_detail_for_user(user=request.user, pk=pk)
    title, form = _form_to_show(request, case, kind)
    context = {"case": case, "loan": case.loan, "kind": kind, "form": form, "title": title}
    if request.htmx:
        return render(request, "collections_app/_record_form.html", context)
    return render(request, "collections_app/record_form.html", context)


@login_required
@require_POST
def record_create(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in RECORDS and kind != "team":
        raise Http404("No such record.")
    case = case_detail_for_user(user=request.user, pk=pk)
    if kind == "team":
        form = with_submission_key(f.TeamForm(request.POST, case=case, prefix="team"))
        save = lambda d: services.case_team_set(  # noqa: E731
            case=case, actor=request.user, members=d["members"], reason=d["reason"]
        )
        done = _("Special team saved.")
    else:
        spec = RECORDS[kind]
        form = _record_form(kind, case, request.POST, request.FILES)
        save = lambda d: spec.save(case, request.user, d)  # noqa: E731
        done = spec.done
    if form.is_valid():
        data = dict(form.cleaned_data)
        submission_key = data.pop(SUBMISSION_FIELD, None)
        if kind in ("judgment", "step") and data.get("proceeding") is None:
            form.add_error("proceeding", _("Choose the proceeding."))
        else:
            if kind in ("judgment", "step") and data["proceeding"].case_id != case.pk:
                raise Http404("No such proceeding.")
            if kind == "dispose" and data["asset"].case_id != case.pk:
                raise Http404("No such asset.")
            if kind == "receipt" and data["notice"].case_id != case.pk:
                raise Http404("No such notice.")
            try:
                with transaction.atomic():
                    if not submission_claim(key=submission_key, case=case, kind=kind, actor=request.user):
                        return _done(request, case, _("Already recorded: this form had been sent before."))
                    save(data)
            except services.CaseChanged as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                _form_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, _errors(exc))
            else:
                # A promise due after the time limit is allowed, and said (case_rules).
                return _done(request, case, done, getattr(form, "warning", None))
    if request.htmx:
        return render(
            request,
            "collections_app/_record_form.html",
            {"case": case, "kind": kind, "form": form, "title": RECORDS[kind].title if kind in RECORDS else ""},
        )
    context = _case_context(request, case, bound={kind: form})
    return render(request, "collections_app/case_detail.html", context, status=400)


@login_required
@require_GET
def cost_correct_form(request: HttpRequest, pk: int, cost_pk: int) -> HttpResponse:
    """A cost's correction form, drawn when the officer opens it (issue 15, as the record forms):
    a 404 for another case's or a reversed cost, a 403 for someone who may not record work on the case."""
    case = case_detail_for_user(user=request.user, pk=pk)
    cost = get_object_or_404(CaseCost.objects.select_related("reversal"), pk=cost_pk, case=case)
    refusal = _record_refusal(request, case)
    if refusal:
        raise PermissionDenied(refusal)
    if services.cost_correction_refusal(cost):
        raise Http404("No such cost to correct.")
    template = "collections_app/_cost_fix_form.html"
    context = {"case": case, "loan": case.loan, "cost": cost, "form": f.CostCorrectionForm(cost=cost)}
    if request.htmx:
        return render(request, template, context)
    title = _("Correct or reverse")
    return render(request, "collections_app/record_form.html", {**context, "title": title, "form_template": template,
                                                                 "kind": f"cost-fix-{cost.pk}"})  # fmt: skip


@login_required
@require_POST
def cost_correct_view(request: HttpRequest, pk: int, cost_pk: int) -> HttpResponse:
    """Correct or reverse a recorded cost (issue 11): a correcting entry, never an edit in place."""
    case = case_detail_for_user(user=request.user, pk=pk)
    cost = get_object_or_404(CaseCost, pk=cost_pk, case=case)
    form = f.CostCorrectionForm(request.POST, cost=cost)
    form.cost_pk = cost.pk
    if form.is_valid():
        data = dict(form.cleaned_data)
        action, reason = data.pop("action"), data.pop("reason")
        try:
            if action == "reverse":
                services.cost_reverse(case=case, cost=cost, actor=request.user, reason=reason)
                done = _("Collection cost reversed.")
            else:
                services.cost_correct(case=case, cost=cost, actor=request.user, reason=reason, **data)
                done = _("Collection cost corrected.")
        except ValidationError as exc:
            _form_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, _errors(exc))
        else:
            return _done(request, case, done)
    if not form.non_field_errors() and not form.errors:
        form.add_error(None, _("The correction was not saved."))
    context = _case_context(request, case, bound={"cost_fix": form})
    if cost.pk not in context["cost_forms"]:
        # The form is not on the page (a role that does not work the case, a reversed cost): say why.
        messages.error(request, " ".join(form.non_field_errors()) or _("The correction was not saved."))
    return render(request, "collections_app/case_detail.html", context, status=400)


def _confirm(request: HttpRequest, case, *, title: str, consequence: str, action: str, fields: dict, button: str):
    """The confirmation step of an irreversible action: says what will happen; works without JavaScript."""
    return render(
        request,
        "collections_app/confirm.html",
        {
            "case": case,
            "loan": case.loan,
            "title": title,
            "consequence": consequence,
            "action": action,
            "fields": {k: v for k, v in fields.items() if v is not None},
            "button": button,
            "back": request.POST.get("back") or case.get_absolute_url(),
        },
    )


def _case_step(
    request: HttpRequest,
    pk: int,
    form_class: type,
    *,
    invalid: str,
    service: Callable[..., object],
    done: Callable[[Measure], str],
    mode: str,
) -> HttpResponse:
    """A move or a request from the case page: read the form, ask to confirm, call the service, say what happened."""
    case = case_detail_for_user(user=request.user, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, invalid)
        return redirect(case)
    target = Measure(form.cleaned_data["target"])
    if not form.cleaned_data["confirmed"]:
        if mode == "move":
            title = _("Move the case to %(measure)s?") % {"measure": target.label}
            button = _("Yes, move the case")
        else:
            title = _("Ask a manager to approve: %(measure)s?") % {"measure": target.label}
            button = _("Yes, send the request")
        return _confirm(
            request,
            case,
            title=title,
            consequence=move_consequence(target)
            if mode == "move"
            else _("Once a manager approves it: %(consequence)s") % {"consequence": move_consequence(target)},
            action=request.path,
            fields={
                "target": target.value,
                "seen_measure": form.cleaned_data["seen_measure"],
                "reason": form.cleaned_data["reason"],
                **({"write_off_reason": form.cleaned_data.get("write_off_reason", "")} if mode == "request" else {}),
            },
            button=button,
        )
    extra = {"write_off_reason": form.cleaned_data.get("write_off_reason", "")} if mode == "request" else {}
    try:
        service(
            case=case,
            target=target.value,
            actor=request.user,
            as_of=timezone.localdate(),
            reason=form.cleaned_data["reason"],
            seen_measure=form.cleaned_data["seen_measure"],
            **extra,
        )
    except services.CaseChanged as exc:
        messages.error(request, str(exc))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, done(target))
    return redirect(case)


@login_required
@require_POST
def case_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_step(
        request,
        pk,
        f.MoveForm,
        invalid=_("That move could not be read; reload the page."),
        service=services.case_move,
        done=lambda target: _("The case moved to %(measure)s.") % {"measure": target.label.lower()},
        mode="move",
    )


@login_required
@require_POST
def case_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_step(
        request,
        pk,
        f.RequestForm,
        invalid=_("Give a reason for the request."),
        service=services.case_request_create,
        done=lambda target: _("%(measure)s requested: a manager will decide.") % {"measure": target.label},
        mode="request",
    )


@login_required
@require_POST
def request_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    case_request = get_for_user_or_404(
        CaseRequest.objects.select_related("case", "case__loan"), request.user, pk=request_id
    )
    case = case_request.case
    form = f.DecisionForm(request.POST)
    to_inbox = request.POST.get("next") == "inbox"
    back = redirect("collections_app:request_list") if to_inbox else redirect(case)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return back
    decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
    target = case_request.target_enum
    if decision == "approve" and not form.cleaned_data["confirmed"]:
        return _confirm(
            request,
            case,
            title=_("Approve: %(measure)s?") % {"measure": target.label},
            consequence=move_consequence(target),
            action=request.path,
            fields={"decision": "approve", "reason": reason, "next": form.cleaned_data["next"]},
            button=_("Yes, approve"),
        )
    try:
        if decision == "approve":
            services.case_request_approve(
                request=case_request, actor=request.user, as_of=timezone.localdate(), reason=reason
            )
            case_request.refresh_from_db()
            if case_request.status == CaseRequest.Status.REQUESTED:
                messages.success(request, _("First approval recorded: a second manager must approve the write-off."))
            else:
                messages.success(
                    request, _("Approved: the case moved to %(measure)s.") % {"measure": target.label.lower()}
                )
        else:
            services.case_request_reject(request=case_request, actor=request.user, reason=reason)
            messages.success(request, _("Request rejected."))
    except services.CaseChanged as exc:
        messages.error(request, str(exc))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _errors(exc))
    return back


@login_required
@require_POST
def case_open_view(request: HttpRequest, loan_id: int) -> HttpResponse:
    loan = get_for_user_or_404(Loan, request.user, pk=loan_id)
    form = f.OpenCaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for opening a case."))
        return redirect(loan)
    try:
        case = services.case_open(
            loan=loan, actor=request.user, as_of=timezone.localdate(), reason=form.cleaned_data["reason"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _errors(exc))
        return redirect(loan)
    messages.success(request, _("Case opened for loan %(loan)s.") % {"loan": loan.loan_no})
    return redirect(case)
