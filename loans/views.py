from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from loans.filters import LoanFilter
from loans.forms import ManualClassificationForm
from loans.models import FIVE_LEVEL_WORDS, FOUR_LEVEL_WORDS
from loans.permissions import is_officer, role_allows
from loans.policy import classification_policy
from loans.rule_words import class_words, five_level_reason, four_level_reason, rule_words
from loans.selectors import SEARCH_MAX_MATCHES, loan_detail_for_user, loan_history, loans_for_user
from loans.services import loan_classification, loan_classify, loan_classify_manually
from loans.tables import LoanTable
from npl_recovery.tables import paginate_table


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The landing page by role: an officer goes to today's work (his queue, most urgent first),
    a manager or auditor sees the dashboard, an administrator the dashboard with the imports."""
    if is_officer(request.user):
        return redirect(f"{reverse('collections_app:case_list')}?scope=mine&due=today")
    from dashboards.views import dashboard

    return dashboard(request)


@login_required
def loan_list(request: HttpRequest) -> HttpResponse:
    filterset = LoanFilter(request.GET or None, queryset=loans_for_user(user=request.user), user=request.user)
    table = LoanTable(filterset.qs)
    paginate_table(request, table)
    searched = filterset.is_bound and filterset.form.is_valid() and filterset.form.cleaned_data.get("q", "").strip()
    capped = bool(searched) and table.paginator.count >= SEARCH_MAX_MATCHES
    return render(
        request,
        "loans/loan_list.html",
        {"filter": filterset, "table": table, "search_capped": f"{SEARCH_MAX_MATCHES:,}" if capped else ""},
    )


def _detail_context(request: HttpRequest, loan, manual_form: ManualClassificationForm | None = None) -> dict:
    as_of = timezone.localdate()
    classification = loan_classification(loan=loan, as_of=as_of)
    history = list(loan_history(loan=loan)[:50])
    for h in history:
        h.from_label, h.to_label, h.rule_label = class_words(h.from_class), class_words(h.to_class), rule_words(h.rule)
    return {
        "loan": loan,
        "as_of": as_of,
        "classification": classification,
        "words": {
            "five": class_words(classification.five_level),
            "four": class_words(classification.four_level),
            "floor": class_words(classification.five_level_floor),
            "five_reason": five_level_reason(classification, classification_policy(), loan),
            "four_reason": four_level_reason(classification),
        },
        "history": history,
        "guarantees": loan.guarantees.select_related("guarantor"),
        "collateral": loan.collateral.all(),
        "can_classify": role_allows(request.user, "loans.classify_loan"),
        "can_view_history": role_allows(request.user, "audit.view_history"),
        "manual_form": manual_form or ManualClassificationForm(initial={"five_level_class": loan.five_level_class}),
    }


@login_required
def loan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    loan = loan_detail_for_user(user=request.user, pk=pk)
    return render(request, "loans/loan_detail.html", _detail_context(request, loan))


@login_required
@require_POST
def loan_classify_now(request: HttpRequest, pk: int) -> HttpResponse:
    loan = loan_detail_for_user(user=request.user, pk=pk)
    if not role_allows(request.user, "loans.classify_loan"):
        raise PermissionDenied(gettext("Only a manager may reclassify a loan."))
    result = loan_classify(loan=loan, as_of=timezone.localdate(), actor=request.user)
    messages.success(
        request,
        gettext("Classified: %(five)s / %(four)s.")
        % {"five": FIVE_LEVEL_WORDS[result.five_level], "four": FOUR_LEVEL_WORDS[result.four_level]},
    )
    return redirect(loan)


@login_required
@require_POST
def loan_classify_manual(request: HttpRequest, pk: int) -> HttpResponse:
    loan = loan_detail_for_user(user=request.user, pk=pk)
    form = ManualClassificationForm(request.POST)
    if form.is_valid():
        try:
            result = loan_classify_manually(
                loan=loan,
                five_level_class=form.cleaned_data["five_level_class"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                as_of=timezone.localdate(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                gettext("Loan %(no)s is now %(five)s.")
                % {"no": loan.loan_no, "five": FIVE_LEVEL_WORDS[result.five_level]},
            )
            return redirect(loan)
    return render(request, "loans/loan_detail.html", _detail_context(request, loan, form), status=400)
