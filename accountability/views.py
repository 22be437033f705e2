"""Accountability pages. Thin: the selectors read, the services write."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accountability import selectors
from accountability.causes import case_cause_record
from accountability.filters import FlagFilter, RecordFilter, WatchListFilter
from accountability.forms import (
    CauseForm,
    DecisionForm,
    DivisionForm,
    FlagReviewForm,
    ProposalForm,
    officers_for_case,
    staff_for_cause,
)
from accountability.models import LoansByLoansFlag
from accountability.policy import accountability_policy
from accountability.rules import deadline_urgency
from accountability.services import (
    RecordChanged,
    loans_by_loans_review,
    record_decide,
    record_propose,
    responsibility_assign,
)
from accountability.tables import FlagTable, RecordTable, WatchListTable
from collections_app.models import CollectionCase
from loans.access import get_for_user_or_404, visible_branch_ids
from loans.exporting import ACCOUNTABILITY_EXPORT, FORMATS, export_filters, export_response
from loans.models import Role, User
from loans.permissions import role_allows
from npl_recovery.tables import paginate_table


def _errors(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


def _require_board(user) -> None:
    if not role_allows(user, "accountability.view_board"):
        raise PermissionDenied(_("The accountability board is for managers, administrators and auditors."))


# --- the officer's page ------------------------------------------------------------------------------


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """My responsibilities: time limits, days left, amounts; my sanctions and rewards; my watch list."""
    as_of = timezone.localdate()
    page = Paginator(selectors.my_responsibilities(user=request.user), 25).get_page(request.GET.get("page"))
    policy = accountability_policy()
    for share in page.object_list:
        share.days_left = share.assignment.days_left(as_of)
        share.days_late = -share.days_left
        share.urgency = deadline_urgency(share.assignment.recovery_deadline, as_of, policy)
    watch_day = selectors.latest_watch_list_day()
    return render(
        request,
        "accountability/mine.html",
        {
            "as_of": as_of,
            "page_obj": page,
            "summary": selectors.my_summary(user=request.user, as_of=as_of),
            "records": list(selectors.my_records(user=request.user)[:10]),
            "watch_day": watch_day,
            "watched": list(
                selectors.watch_list_for_user(user=request.user, as_of=watch_day)
                .filter(officer=request.user)
                .order_by("-days_past_due")[:10]
            ),
        },
    )


# --- the manager's board -----------------------------------------------------------------------------


@login_required
def board(request: HttpRequest) -> HttpResponse:
    _require_board(request.user)
    as_of = timezone.localdate()
    filterset = RecordFilter(
        request.GET or None, queryset=selectors.records_for_user(user=request.user), user=request.user
    )
    if request.GET.get("export") in FORMATS:
        # The book's exporter (loans/exporting.py): streamed, formulas neutralised; here the board's
        # filtered records.
        return export_response(
            ACCOUNTABILITY_EXPORT,
            filterset.qs.order_by("proposed_on", "id"),
            fmt=request.GET["export"],
            as_of=as_of,
            filename=f"accountability-{as_of:%Y%m%d}",
            actor=request.user,
            filters=export_filters(request.GET),
            via="board",
        )
    table = RecordTable(filterset.qs)
    paginate_table(request, table)
    to_decide = list(selectors.records_to_decide(user=request.user)[:20])
    for record in to_decide:
        record.refusal = record.decision_refusal(request.user, in_scope=True)  # read via visible_to
    officers = selectors.records_by_officer(user=request.user, as_of=as_of)
    officer_page = Paginator(officers, 15).get_page(request.GET.get("officers"))
    export_query = request.GET.copy()
    export_query["export"] = "csv"
    xlsx_query = request.GET.copy()
    xlsx_query["export"] = "xlsx"
    return render(
        request,
        "accountability/board.html",
        {
            "as_of": as_of,
            "filter": filterset,
            "table": table,
            "to_decide": to_decide,
            "to_decide_total": selectors.records_to_decide(user=request.user).count(),
            "officer_page": officer_page,
            "export_url": f"?{export_query.urlencode()}",
            "export_xlsx_url": f"?{xlsx_query.urlencode()}",
            "runs": selectors.last_check_runs(),
        },
    )


@login_required
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = selectors.record_detail_for_user(user=request.user, pk=pk)
    return render(
        request,
        "accountability/record_detail.html",
        {
            "record": record,
            "refusal": record.decision_refusal(request.user, in_scope=True),  # read via visible_to
            "history": selectors.record_history(record=record),
            "decisions": record.decision_choices(),
        },
    )


@login_required
@require_POST
def record_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    record = selectors.record_detail_for_user(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    back = request.POST.get("next") or ""
    # A path on this site only: anything else (another host, or a word redirect() would take for a
    # view name) goes back to the record.
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=False
    ):
        back = record.get_absolute_url()
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    try:
        record = record_decide(
            record=record,
            decision=form.cleaned_data["decision"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
            seen_state=form.cleaned_data["seen_state"],
        )
    except RecordChanged as exc:
        messages.warning(request, str(exc))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request,
            _("%(type)s for %(name)s: %(state)s.")
            % {
                "type": record.get_record_type_display(),
                "name": record.officer.display_name,
                "state": str(record.state_label).lower(),
            },
        )
    return redirect(back)


def _case_number(raw: str | None) -> int | None:
    """A case number from the query, or None when it is not one ('²'.isdigit() is true, int() refuses it)."""
    try:
        return forms.IntegerField(min_value=1).clean(raw)
    except ValidationError:
        return None


@login_required
def record_new(request: HttpRequest) -> HttpResponse:
    if not role_allows(request.user, "accountability.propose_record"):
        raise PermissionDenied(_("Only a manager proposes sanctions and rewards."))
    ids = visible_branch_ids(request.user)
    officers = User.objects.filter(is_active=True, role__in=[Role.OFFICER, Role.MANAGER]).exclude(pk=request.user.pk)
    if ids is not None:
        officers = officers.filter(branch__in=ids)
    case = None
    case_id = _case_number(request.POST.get("case") or request.GET.get("case"))
    if case_id is not None:
        case = get_for_user_or_404(CollectionCase.objects.select_related("loan"), request.user, pk=case_id)
    form = ProposalForm(
        request.POST or None,
        officers=officers.order_by("last_name", "username"),
        initial={"case": case.pk if case else None, "officer": case.officer_id if case else None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = record_propose(
                officer=form.cleaned_data["officer"],
                record_type=form.cleaned_data["record_type"],
                reason=form.cleaned_data["reason"],
                amount=form.cleaned_data["amount"],
                case=case,
                actor=request.user,
                as_of=timezone.localdate(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except PermissionDenied as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, _("Proposed: another manager decides it."))
            return redirect(record)
    return render(
        request,
        "accountability/record_form.html",
        {"form": form, "case": case},
        status=400 if request.method == "POST" else 200,
    )


# --- responsibility of a case ---------------------------------------------------------------------------


@login_required
def case_responsibility(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = selectors.case_for_user(user=request.user, pk=case_pk)
    as_of = timezone.localdate()
    may_divide = (
        role_allows(request.user, "accountability.divide_responsibility")
        and case.is_open
        and case.measure != "written_off"
    )
    form = None
    if may_divide:
        current = next((d for d in selectors.case_divisions(case=case) if d.ended_on is None), None)
        initial = {"recovery_deadline": current.recovery_deadline if current else case.recovery_deadline}
        if current:
            initial["promised_reward"] = current.promised_reward
            for i, share in enumerate(current.shares.all(), start=1):
                initial[f"officer_{i}"], initial[f"share_{i}"] = str(share.officer_id), share.share
        form = DivisionForm(request.POST or None, officers=officers_for_case(case), initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                responsibility_assign(
                    case=case,
                    shares=form.cleaned_data["shares"],
                    recovery_deadline=form.cleaned_data["recovery_deadline"],
                    promised_reward=form.cleaned_data["promised_reward"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    as_of=as_of,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except PermissionDenied as exc:
                form.add_error(None, _errors(exc))
            else:
                messages.success(request, _("New division of responsibility recorded; the earlier one is kept."))
                return redirect("accountability:case_responsibility", case_pk=case.pk)
    elif request.method == "POST":
        raise PermissionDenied(_("Only a manager of the case's branches divides responsibility."))
    divisions = selectors.case_divisions(case=case)
    records = selectors.records_for_user(user=request.user).filter(case=case).order_by("-created_at")[:20]
    return render(
        request,
        "accountability/case_responsibility.html",
        {"case": case, "as_of": as_of, "divisions": divisions, "form": form, "records": records},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def case_cause(request: HttpRequest, case_pk: int) -> HttpResponse:
    """Why the case's loan went bad: everyone in scope reads it; a manager records it."""
    case = selectors.case_for_user(user=request.user, pk=case_pk)
    may_record = role_allows(request.user, "accountability.propose_record")
    if request.method == "POST" and not may_record:
        raise PermissionDenied(_("Only a manager records why a loan went bad."))
    cause = selectors.case_cause(case=case)
    form = None
    if may_record:
        initial = {}
        if cause is not None:
            initial = {"kind": cause.kind, "description": cause.description}
            for i, share in enumerate(cause.shares.all(), start=1):
                initial[f"person_{i}"], initial[f"share_{i}"] = str(share.person_id), share.share
        form = CauseForm(request.POST or None, people=staff_for_cause(request.user), initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                case_cause_record(
                    case=case,
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    description=form.cleaned_data["description"],
                    staff=form.cleaned_data["staff"],
                    as_of=timezone.localdate(),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except PermissionDenied as exc:
                form.add_error(None, _errors(exc))
            else:
                messages.success(request, _("Cause recorded."))
                return redirect("accountability:case_cause", case_pk=case.pk)
    records = selectors.records_for_user(user=request.user).filter(case=case, origin="human_cause")
    return render(
        request,
        "accountability/case_cause.html",
        {
            "case": case,
            "cause": cause,
            "form": form,
            "records": records.select_related("officer").order_by("-created_at")[:20],
            "compensation_rate": accountability_policy().compensation_rate * 100,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- prevention ---------------------------------------------------------------------------------------


@login_required
def prevention(request: HttpRequest) -> HttpResponse:
    tab = "loans_by_loans" if request.GET.get("tab") == "loans_by_loans" else "watch_list"
    context = {"tab": tab}
    if tab == "watch_list":
        day = selectors.latest_watch_list_day()
        filterset = WatchListFilter(
            request.GET or None, queryset=selectors.watch_list_for_user(user=request.user, as_of=day), user=request.user
        )
        table = WatchListTable(filterset.qs)
        context.update({"day": day})
    else:
        filterset = FlagFilter(
            request.GET or None, queryset=selectors.flags_for_user(user=request.user), user=request.user
        )
        table = FlagTable(filterset.qs)
        context["review_form"] = FlagReviewForm()
    paginate_table(request, table)
    context.update({"filter": filterset, "table": table})
    return render(request, "accountability/prevention.html", context)


@login_required
@require_POST
def flag_review(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_for_user_or_404(LoansByLoansFlag, request.user, pk=pk)
    form = FlagReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose confirm or clear, and write a note."))
    else:
        try:
            loans_by_loans_review(
                flag=flag, status=form.cleaned_data["status"], note=form.cleaned_data["note"], actor=request.user
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, _("Flag reviewed."))
    return redirect(reverse("accountability:prevention") + "?tab=loans_by_loans")
