"""The ledger's one action on a page: a manager approves or refuses a backdated entry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ledger.forms import EntryDecisionForm
from ledger.models import LedgerEntry
from ledger.services import ledger_entry_decide
from loans.access import get_for_user_or_404


@login_required
@require_POST
def entry_decide(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_for_user_or_404(LedgerEntry.objects.select_related("case", "loan"), request.user, pk=pk)
    back = redirect(entry.case) if entry.case_id else redirect(entry.loan)
    form = EntryDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return back
    approve = form.cleaned_data["decision"] == "approve"
    try:
        ledger_entry_decide(
            entry=entry,
            actor=request.user,
            approve=approve,
            as_of=timezone.localdate(),
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do this."))
    else:
        messages.success(
            request,
            _("Value date approved: the entry counts on %(date)s.") % {"date": entry.value_date.isoformat()}
            if approve
            else _("Value date refused: the entry counts from the day it was recorded."),
        )
    return back
