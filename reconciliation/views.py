from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ledger.models import LedgerEntry
from loans.access import get_for_user_or_404
from loans.permissions import role_allows
from npl_recovery.tables import paginate_table
from reconciliation import selectors
from reconciliation.forms import ClassifyForm, RiseAcknowledgeForm
from reconciliation.models import ReportedFall
from reconciliation.services import may_classify, refinancing_flag_pending, reported_fall_classify, rise_acknowledge
from reconciliation.tables import FallTable, RiseTable

TABS = ("to_classify", "classified", "rises")


@login_required
def falls(request: HttpRequest) -> HttpResponse:
    """Balance changes reported by the book: the falls to classify, those classified, and (managers)
    the rises of non-performing loans."""
    if not role_allows(request.user, "reconciliation.classify_fall") and not role_allows(
        request.user, "reconciliation.view_rises"
    ):
        raise PermissionDenied(_("Only officers and managers reconcile the book's balance changes."))
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "to_classify"
    can_see_rises = role_allows(request.user, "reconciliation.view_rises")
    if tab == "rises" and not can_see_rises:
        tab = "to_classify"
    if tab == "rises":
        table = RiseTable(
            selectors.rises_for_user(user=request.user),
            may_acknowledge=role_allows(request.user, "reconciliation.acknowledge_rise"),
        )
    else:
        status = ReportedFall.Status.CLASSIFIED if tab == "classified" else ReportedFall.Status.TO_CLASSIFY
        table = FallTable(selectors.falls_for_user(user=request.user, status=status))
    paginate_table(request, table)
    return render(request, "reconciliation/falls.html", {"tab": tab, "table": table, "can_see_rises": can_see_rises})


@login_required
def classify(request: HttpRequest, pk: int) -> HttpResponse:
    fall = get_for_user_or_404(
        ReportedFall.objects.select_related("loan", "loan__borrower", "case", "entry"), request.user, pk=pk
    )
    allowed = may_classify(request.user, fall) and fall.status == ReportedFall.Status.TO_CLASSIFY
    form = ClassifyForm(request.POST or None, initial={"value_date": fall.reported_on})
    if request.method == "POST":
        if not allowed:
            raise PermissionDenied(_("The loan's officer or a manager classifies this balance change."))
        if form.is_valid():
            try:
                reported_fall_classify(
                    fall=fall,
                    outcome=form.cleaned_data["outcome"],
                    value_date=form.cleaned_data["value_date"],
                    note=form.cleaned_data["note"],
                    actor=request.user,
                    as_of=timezone.localdate(),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Balance change classified."))
                return redirect("reconciliation:falls")
    return render(
        request,
        "reconciliation/classify.html",
        {"fall": fall, "form": form, "allowed": allowed, "flag": refinancing_flag_pending(fall)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def rise_acknowledge_view(request: HttpRequest, entry_pk: int) -> HttpResponse:
    """The loan's officer or a manager acknowledges a rise, with why; it leaves the list of rises."""
    entry = get_for_user_or_404(LedgerEntry.objects.all(), request.user, pk=entry_pk)
    form = RiseAcknowledgeForm(request.POST, prefix=f"rise-{entry.pk}")
    if form.is_valid():
        try:
            rise_acknowledge(entry=entry, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Rise acknowledged."))
            return redirect(f"{reverse('reconciliation:falls')}?tab=rises")
    else:
        messages.error(request, _("Say why the rise is right (or what was done about it)."))
    return render_rises_refused(request)


def render_rises_refused(request: HttpRequest) -> HttpResponse:
    """The list of rises again, with the refusal said, answered 400."""
    table = RiseTable(
        selectors.rises_for_user(user=request.user),
        may_acknowledge=role_allows(request.user, "reconciliation.acknowledge_rise"),
    )
    paginate_table(request, table)
    can_see_rises = role_allows(request.user, "reconciliation.view_rises")
    return render(
        request,
        "reconciliation/falls.html",
        {"tab": "rises", "table": table, "can_see_rises": can_see_rises},
        status=400,
    )
