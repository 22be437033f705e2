from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from loans.filters import LoanFilter
from loans.forms import ManualClassificationForm
from loans.permissions import role_allows
from loans.selectors import book_summary, loan_detail_for_user, loan_history, loans_for_user
from loans.services import loan_classification, loan_classify, loan_classify_manually
from loans.tables import LoanTable
from npl_recovery.tables import paginate_table


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "loans/home.html", {"summary": book_summary(user=request.user)})


@login_required
def loan_list(request: HttpRequest) -> HttpResponse:
    filterset = LoanFilter(request.GET or None, queryset=loans_for_user(user=request.user), user=request.user)
    table = LoanTable(filterset.qs)
    paginate_table(request, table)
    return render(request, "loans/loan_list.html", {"filter": filterset, "table": table})


def _detail_context(request: HttpRequest, loan, manual_form: ManualClassificationForm | None = None) -> dict:
    as_of = timezone.localdate()
    return {
        "loan": loan,
        "as_of": as_of,
        "classification": loan_classification(loan=loan, as_of=as_of),
        "history": loan_history(loan=loan)[:50],
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
        raise PermissionDenied("Only a manager may reclassify a loan.")
    result = loan_classify(loan=loan, as_of=timezone.localdate(), actor=request.user)
    messages.success(request, f"Classified: {result.five_level.label} / {result.four_level.label}.")
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
            messages.success(request, f"Loan {loan.loan_no} is now {result.five_level.label}.")
            return redirect(loan)
    return render(request, "loans/loan_detail.html", _detail_context(request, loan, form), status=400)
